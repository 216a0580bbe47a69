"""PyTorch reference values for kind: optimizer and kind: init, written as
tests/reference/optimizer_init.json (the format of make_reference.py: {"about", "torch",
"cases": [{"id", "problem", "expected"}]}).

Run it by hand with the torch environment (never the project's venv)::

    /work/torchvenv/bin/python tests/reference/make_optimizer_init.py

Nothing here imports nnsolve. Everything is float64.

Optimisers: torch.optim.SGD (plain, momentum, nesterov), Adagrad, RMSprop and Adam take the
steps; the gradient is torch's autograd of the function written here in torch (the problem
carries the same function as text), or the given gradient put in ``p.grad``. Where PyTorch's
form differs from building-blocks.md the results are converted, not recomputed:

- momentum: PyTorch keeps b = α b + g and steps w ← w − η b; the notes' Δw = α Δw + η g is
  η b (constant η), so ``velocity`` = η × torch's momentum_buffer, and the points agree.
- nesterov: PyTorch's parameter p is the look-ahead point: after step t it is
  w^{(t)} − α Δw^{(t)}, with the gradient taken at p, its buffer b = Δw / η and the step
  p ← p − η (g + α b). So ``gradients`` are the gradients torch evaluates, ``velocity`` = η b
  and ``trajectory`` = p + α η b (and p itself at the start, where Δw = 0).
- adam: ``m``, ``v`` are torch's exp_avg, exp_avg_sq; ``m_hat``, ``v_hat`` are them divided by
  1 − β₁ᵗ, 1 − β₂ᵗ.

Initialisation: torch.nn.init.xavier_normal_, xavier_uniform_, kaiming_normal_ /
kaiming_uniform_ (nonlinearity 'relu': He) and kaiming_normal_ (nonlinearity 'linear':
LeCun) fill a (fan_out × fan_in) tensor from a seeded generator; the standard draws are taken
from a generator with the same seed (normal_(0, 1) or uniform_(−1, 1)), so the problem's
``draws`` are exactly the draws torch scaled. ``scale`` is torch's own ratio W / Z (the same
for every entry, checked here to 1e-12) and ``variance`` the variance of the distribution torch
drew from (σ², or a²/3 for U(−a, a)).
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
DT = torch.float64
torch.set_default_dtype(DT)


def out(x):
    return x.detach().clone().numpy().tolist()


# -- functions, written here in torch (the problems carry them as text) -----------------------

FUNCTIONS = {
    "bowl": ("(w1 - 3)**2 + 10*(w2 + 1)**2", ["w1", "w2"],
             lambda w: (w[0] - 3) ** 2 + 10 * (w[1] + 1) ** 2),
    "rosenbrock": ("(1 - x)^2 + 100*(y - x^2)^2", ["x", "y"],
                   lambda w: (1 - w[0]) ** 2 + 100 * (w[1] - w[0] ** 2) ** 2),
    "logistic": ("log(1 + exp(-(2*w1 - w2 + 0.5))) + 0.1*(w1^2 + w2^2)", ["w1", "w2"],
                 lambda w: torch.log(1 + torch.exp(-(2 * w[0] - w[1] + 0.5))) + 0.1 * (w[0] ** 2 + w[1] ** 2)),
    "sigma_tanh": ("(sigma(a + 2*b) - 0.8)^2 + tanh(a)^2/4 + b^2/2", ["a", "b"],
                   lambda w: (torch.sigmoid(w[0] + 2 * w[1]) - 0.8) ** 2 + torch.tanh(w[0]) ** 2 / 4
                   + w[1] ** 2 / 2),
    "trig_sqrt": ("sqrt(1 + w^2) + cos(w) - sin(w/2)", ["w"],
                  lambda w: torch.sqrt(1 + w[0] ** 2) + torch.cos(w[0]) - torch.sin(w[0] / 2)),
    "three": ("w_1^2 + 2*w_2^2 + 3*w_3^2 - w_1*w_2 + exp(w_3/2)", ["w_1", "w_2", "w_3"],
              lambda w: w[0] ** 2 + 2 * w[1] ** 2 + 3 * w[2] ** 2 - w[0] * w[1] + torch.exp(w[2] / 2)),
}

GIVEN = [[-6.0, 20.0], [-4.8, -16.0], [2.0, -10.0], [0.5, 0.25]]


def make_optimizer(method, params, o):
    lr = o["learning_rate"]
    if method == "gd":
        return torch.optim.SGD(params, lr=lr)
    if method == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=o.get("momentum", 0.9))
    if method == "nesterov":
        return torch.optim.SGD(params, lr=lr, momentum=o.get("momentum", 0.9), nesterov=True)
    if method == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, eps=o.get("epsilon", 1e-8))
    if method == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=o.get("beta", 0.9), eps=o.get("epsilon", 1e-8))
    if method == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(o.get("beta1", 0.9), o.get("beta2", 0.999)),
                                eps=o.get("epsilon", 1e-8))
    raise KeyError(method)


def run(method, start, steps, o, fn=None, given=None):
    """The expected results of building-blocks.md from torch.optim."""
    p = torch.tensor(start, dtype=DT, requires_grad=True)
    opt = make_optimizer(method, [p], o)
    alpha, lr = o.get("momentum", 0.9), o["learning_rate"]
    trajectory, gradients, states = [out(p)], [], {}

    def add(name, value):
        states.setdefault(name, []).append(out(value))
    for t in range(1, steps + 1):
        opt.zero_grad()
        if fn is not None:
            fn(p).backward()
        else:
            p.grad = torch.tensor(given[t - 1], dtype=DT)
        gradients.append(out(p.grad))
        opt.step()
        st = opt.state[p]
        with torch.no_grad():
            if method in ("momentum", "nesterov"):
                velocity = lr * st["momentum_buffer"]  # Δw = η b
                add("velocity", velocity)
                point = p + alpha * velocity if method == "nesterov" else p  # p is the look-ahead point
                trajectory.append(out(point))
            else:
                trajectory.append(out(p))
            if method == "adagrad":
                add("accumulator", st["sum"])
            if method == "rmsprop":
                add("mean_square", st["square_avg"])
            if method == "adam":
                b1, b2 = o.get("beta1", 0.9), o.get("beta2", 0.999)
                step = int(st["step"])
                assert step == t
                add("m", st["exp_avg"])
                add("v", st["exp_avg_sq"])
                add("m_hat", st["exp_avg"] / (1 - b1 ** t))
                add("v_hat", st["exp_avg_sq"] / (1 - b2 ** t))
    expected = {"trajectory": trajectory, "gradients": gradients, **states}
    if fn is not None:
        with torch.no_grad():
            expected["losses"] = [fn(torch.tensor(w, dtype=DT)).item() for w in trajectory]
    return expected


def optimizer_cases():
    specs = [  # (id, method, function key or None, start, steps, options)
        ("gd/bowl", "gd", "bowl", [0.0, 0.0], 4, {"learning_rate": 0.05}),
        ("gd/given", "gd", None, [1.0, -1.0], 4, {"learning_rate": 0.1}),
        ("momentum/bowl", "momentum", "bowl", [0.0, 0.0], 5, {"learning_rate": 0.1, "momentum": 0.9}),
        ("momentum/rosenbrock", "momentum", "rosenbrock", [-1.0, 1.0], 6,
         {"learning_rate": 0.001, "momentum": 0.8}),
        ("momentum/given", "momentum", None, [0.5, 0.5], 4, {"learning_rate": 0.1, "momentum": 0.5}),
        ("nesterov/bowl", "nesterov", "bowl", [0.0, 0.0], 5, {"learning_rate": 0.1, "momentum": 0.9}),
        ("nesterov/logistic", "nesterov", "logistic", [0.3, -0.2], 6, {"learning_rate": 0.5, "momentum": 0.7}),
        ("nesterov/three", "nesterov", "three", [1.0, -1.0, 0.5], 4, {"learning_rate": 0.1, "momentum": 0.9}),
        ("adagrad/bowl", "adagrad", "bowl", [0.0, 0.0], 5, {"learning_rate": 0.5}),
        ("adagrad/given", "adagrad", None, [1.0, 1.0], 4, {"learning_rate": 0.5, "epsilon": 1e-6}),
        ("adagrad/sigma_tanh", "adagrad", "sigma_tanh", [0.5, -0.5], 5, {"learning_rate": 0.3}),
        ("rmsprop/bowl", "rmsprop", "bowl", [0.0, 0.0], 5, {"learning_rate": 0.1, "beta": 0.9}),
        ("rmsprop/given", "rmsprop", None, [0.0, 0.0], 4, {"learning_rate": 0.01, "beta": 0.99, "epsilon": 1e-6}),
        ("rmsprop/trig_sqrt", "rmsprop", "trig_sqrt", [2.0], 6, {"learning_rate": 0.05, "beta": 0.95}),
        ("adam/bowl", "adam", "bowl", [0.0, 0.0], 5, {"learning_rate": 0.1}),
        ("adam/rosenbrock", "adam", "rosenbrock", [-1.0, 1.0], 6,
         {"learning_rate": 0.05, "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-6}),
        ("adam/given", "adam", None, [1.0, 2.0], 4, {"learning_rate": 0.01}),
        ("adam/three", "adam", "three", [1.0, -1.0, 0.5], 5, {"learning_rate": 0.2}),
    ]
    cases = []
    for label, method, fkey, start, steps, o in specs:
        if fkey is not None:
            text, names, fn = FUNCTIONS[fkey]
            given = None
        else:
            names, fn, given = [f"w{i + 1}" for i in range(len(start))], None, GIVEN[:steps]
        problem = {"kind": "optimizer", "title": f"torch reference: {label}", "method": method}
        if fn is not None:
            problem["function"] = text
        else:
            problem["gradients"] = given
        problem["start"] = dict(zip(names, start))
        problem.update(o)
        if fn is not None:
            problem["steps"] = steps
        cases.append({"id": label, "problem": problem,
                      "expected": run(method, start, steps, o, fn, given)})
    return cases


# -- initialisation ----------------------------------------------------------------------------

INITS = {  # scheme -> (torch init applied to W, normal or uniform)
    "xavier_normal": (lambda W, g: torch.nn.init.xavier_normal_(W, generator=g), "normal"),
    "xavier_uniform": (lambda W, g: torch.nn.init.xavier_uniform_(W, generator=g), "uniform"),
    "he_normal": (lambda W, g: torch.nn.init.kaiming_normal_(W, nonlinearity="relu", generator=g), "normal"),
    "he_uniform": (lambda W, g: torch.nn.init.kaiming_uniform_(W, nonlinearity="relu", generator=g), "uniform"),
    "lecun_normal": (lambda W, g: torch.nn.init.kaiming_normal_(W, nonlinearity="linear", generator=g), "normal"),
}


def init_cases():
    cases = []
    seed = 2024
    for scheme, (init, dist) in INITS.items():
        for fan_out, fan_in in ((2, 3), (4, 5), (5, 20)):
            seed += 1
            Z = torch.empty(fan_out, fan_in)
            g = torch.Generator().manual_seed(seed)
            Z.normal_(0, 1, generator=g) if dist == "normal" else Z.uniform_(-1, 1, generator=g)
            W = torch.empty(fan_out, fan_in)
            init(W, torch.Generator().manual_seed(seed))
            ratio = (W / Z).reshape(-1)
            scale = ratio[0].item()
            assert torch.allclose(ratio, torch.full_like(ratio, scale), rtol=1e-12, atol=0), (scheme, ratio)
            variance = scale ** 2 if dist == "normal" else scale ** 2 / 3
            problem = {"kind": "init", "title": f"torch reference: {scheme} {fan_out}x{fan_in}", "scheme": scheme,
                       "fan_in": fan_in, "fan_out": fan_out, "draws": out(Z)}
            cases.append({"id": f"{scheme}/{fan_out}x{fan_in}", "problem": problem,
                          "expected": {"scale": scale, "variance": variance, "weights": out(W)}})
    return cases


def main():
    cases = optimizer_cases() + init_cases()
    doc = {"about": "torch.optim SGD (plain, momentum, nesterov), Adagrad, RMSprop, Adam runs, and "
                    "torch.nn.init xavier/kaiming initialisations of the same standard draws (float64). "
                    "Generated by tests/reference/make_optimizer_init.py; do not edit by hand.",
           "torch": torch.__version__, "cases": cases}
    head = json.dumps({k: v for k, v in doc.items() if k != "cases"}, ensure_ascii=False)[:-1]
    text = head + ', "cases": [\n' + ",\n".join(json.dumps(c, ensure_ascii=False) for c in cases) + "\n]}"
    assert "NaN" not in text and "Infinity" not in text
    (HERE / "optimizer_init.json").write_text(text + "\n", encoding="utf-8")
    print(f"optimizer_init.json: {len(cases)} cases")


if __name__ == "__main__":
    main()
