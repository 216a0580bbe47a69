"""PyTorch reference values for the single-neuron kinds of classical.md (neuron, activation,
delta_rule, hebbian), written as tests/reference/classical_units.json.

Like make_reference.py, run it by hand in the separate torch environment (never the
project's venv); its output is committed and the tests need no torch::

    /work/torchvenv/bin/python tests/reference/make_classical_units.py

Everything is float64; nothing here imports nnsolve. The file has two lists:

- ``cases``: ``{"id", "problem", "expected", "expected_history"?}`` — ``problem`` the dict
  of the YAML file nnsolve reads, ``expected`` the results named as the contract names
  them whose values are numbers or lists (tests/test_reference.py compares these for every
  fixture in this folder), ``expected_history`` the list of per-presentation entries
  (tests/test_classical_units.py compares it).
- ``activation_cases``: ``{"id", "problem", "values", "derivatives"}`` for kind: activation,
  whose results are objects {function: list over the points} (compared by
  tests/test_classical_units.py).

How torch computes them:

- activations: the torch functions (torch.sigmoid(a v), torch.tanh, torch.relu,
  F.leaky_relu, F.elu, F.softplus, F.silu, F.gelu (erf form), the identity,
  torch.sigmoid(v / T) for the stochastic unit's P(v), torch.clamp(v + ½, 0, 1) for the
  piecewise-linear unit, torch.heaviside for step, torch.where for sign); derivatives by
  autograd (of f(v).sum(), so each point's own derivative). The threshold units' derivative
  is, by the spec, null at a kink (step and sign at 0, piecewise_linear at ±½); elsewhere it
  is autograd's (0 for step and sign, whose torch forms have no gradient: written 0).
- neuron: v = w·x + b (or w·x − θ), y = f(v) with the functions above; the stochastic
  unit's P(v) = torch.sigmoid(v / T) and y = +1 where numpy's default_rng(seed).random()
  (one draw per row, in order) is below P(v), else −1 (the rule of the spec).
- delta_rule: E = ½ (d − φ(w·x + b))², ∂E/∂w and ∂E/∂b by autograd, Δw = −η ∂E/∂w,
  Δb = −η ∂E/∂b; online: applied after each sample; batch: summed over the epoch (each
  sample with the epoch's starting weights) and applied at its end.
- hebbian: the rules written with torch tensor operations (no gradients involved):
  supervised Δw = η d x, plain Δw = η y x, Oja Δw = η y (x − y w).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
DT = torch.float64
torch.set_default_dtype(DT)


def t(x, grad=False):
    return torch.tensor(np.asarray(x, dtype=float), dtype=DT, requires_grad=grad)


def out(x):
    return x.detach().numpy().tolist()


def fl(x):
    return float(x.detach()) if torch.is_tensor(x) else float(x)


# -- activations ------------------------------------------------------------------------------

def torch_act(name, *, a=1.0, T=1.0, negative_slope=0.01, strict=False):
    if name == "sigmoid":
        return lambda v: torch.sigmoid(a * v)
    if name == "tanh":
        return torch.tanh
    if name == "relu":
        return torch.relu
    if name == "linear":
        return lambda v: v * 1.0
    if name == "leaky_relu":
        return lambda v: F.leaky_relu(v, negative_slope)
    if name == "elu":
        return F.elu
    if name == "softplus":
        return F.softplus
    if name == "silu":
        return F.silu
    if name == "gelu":
        return F.gelu
    if name == "stochastic":
        return lambda v: torch.sigmoid(v / T)
    if name == "piecewise_linear":
        return lambda v: torch.clamp(v + 0.5, 0.0, 1.0)
    if name == "step":
        if strict:
            return lambda v: (v > 0).to(DT)
        return lambda v: torch.heaviside(v.detach(), torch.tensor(1.0))
    if name == "sign":
        if strict:
            return lambda v: torch.where(v.detach() > 0, 1.0, -1.0)
        return lambda v: torch.where(v.detach() >= 0, 1.0, -1.0)
    raise KeyError(name)


KINKS = {"step": (0.0,), "sign": (0.0,), "piecewise_linear": (-0.5, 0.5)}


def value_and_derivative(name, points, **params):
    f = torch_act(name, **params)
    v = t(points, grad=True)
    y = f(v)
    if y.requires_grad:
        (g,) = torch.autograd.grad(y.sum(), v)
        g = out(g)
    else:  # step and sign: no gradient in torch; 0 wherever the derivative exists
        g = [0.0] * len(points)
    kinks = KINKS.get(name, ())
    g = [None if p in kinks else d for p, d in zip(points, g)]
    return out(y), g


def activation_cases():
    cases = []
    specs = [
        ("library", ["sigmoid", "tanh", "relu", "linear", "leaky_relu", "elu", "softplus", "silu", "gelu"],
         [-3.0, -1.0, -0.25, 0.0, 0.5, 2.0], {}),
        ("slopes", ["sigmoid", "leaky_relu", "stochastic"], [-2.0, 0.0, 0.7, 4.0],
         {"slope": 2.5, "negative_slope": 0.2, "temperature": 0.25}),
        ("units", ["step", "sign", "piecewise_linear", "stochastic"], [-1.0, -0.5, -0.2, 0.0, 0.3, 0.5, 1.5], {}),
        ("units_strict", ["step", "sign"], [-1.0, 0.0, 2.0], {"strict": True}),
    ]
    for cid, names, points, keys in specs:
        params = {"a": keys.get("slope", 1.0), "T": keys.get("temperature", 1.0),
                  "negative_slope": keys.get("negative_slope", 0.01), "strict": keys.get("strict", False)}
        values, derivs = {}, {}
        for n in names:
            values[n], derivs[n] = value_and_derivative(n, points, **params)
        problem = {"kind": "activation", "functions": names, "at": points, **keys}
        cases.append({"id": cid, "problem": problem, "values": values, "derivatives": derivs})
    return cases


# -- neuron -----------------------------------------------------------------------------------

def neuron_case(cid, weights, inputs, activation, *, bias=None, threshold=None, **keys):
    params = {"a": keys.get("slope", 1.0), "T": keys.get("temperature", 1.0),
              "negative_slope": keys.get("negative_slope", 0.01), "strict": keys.get("strict", False)}
    w, X = t(weights), t(inputs)
    v = X @ w
    if bias is not None:
        v = v + bias
    if threshold is not None:
        v = v - threshold
    problem = {"kind": "neuron", "weights": weights, "activation": activation, "inputs": inputs, **keys}
    if bias is not None:
        problem["bias"] = bias
    if threshold is not None:
        problem["threshold"] = threshold
    expected = {"v": out(v)}
    if activation == "stochastic":
        p = torch.sigmoid(v / params["T"])
        draws = np.random.default_rng(keys.get("seed", 0)).random(len(inputs))
        expected["p"] = out(p)
        expected["y"] = [1.0 if draws[k] < float(p[k]) else -1.0 for k in range(len(inputs))]
    else:
        expected["y"] = out(torch_act(activation, **params)(v))
    return {"id": cid, "problem": problem, "expected": expected}


def neuron_cases():
    rng = np.random.default_rng(3003)
    cases = []
    for act in ("sigmoid", "tanh", "relu", "linear", "elu", "softplus", "silu", "gelu", "piecewise_linear"):
        X = np.round(rng.normal(size=(5, 3)), 3).tolist()
        w = np.round(rng.normal(size=3), 3).tolist()
        cases.append(neuron_case(f"neuron_{act}", w, X, act, bias=round(float(rng.normal()), 3)))
    X = np.round(rng.normal(size=(6, 2)), 3).tolist()
    cases.append(neuron_case("neuron_sigmoid_slope", [0.8, -1.3], X, "sigmoid", threshold=0.4, slope=3.0))
    cases.append(neuron_case("neuron_leaky", [0.8, -1.3], X, "leaky_relu", bias=0.1, negative_slope=0.05))
    for seed, T in ((7, 0.5), (123, 2.0)):
        X = np.round(rng.normal(size=(8, 2)), 3).tolist()
        cases.append(neuron_case(f"neuron_stochastic_{seed}", [1.2, -0.7], X, "stochastic", bias=0.2,
                                 temperature=T, seed=seed))
    cases.append(neuron_case("neuron_step_strict", [1.0, 1.0], [[0, 0], [0, 1], [1, 0], [1, 1]], "step",
                             threshold=1.0, strict=True))
    return cases


# -- delta rule -------------------------------------------------------------------------------

def delta_case(cid, weights, bias, eta, activation, mode, epochs, samples, *, slope=1.0, update_bias=True):
    f = torch_act(activation, a=slope)
    w, b = t(weights), torch.tensor(float(bias))
    history, epoch_error = [], []
    for epoch in range(1, epochs + 1):
        w0, b0 = w.clone(), b.clone()
        sum_w, sum_b, err = torch.zeros_like(w), torch.tensor(0.0), 0.0
        for k, s in enumerate(samples, start=1):
            wl = (w0 if mode == "batch" else w).clone().requires_grad_(True)
            bl = (b0 if mode == "batch" else b).clone().requires_grad_(True)
            x, d = t(s["x"]), float(s["d"])
            v = wl @ x + bl
            y = f(v)
            E = 0.5 * (d - y) ** 2
            gw, gb = torch.autograd.grad(E, (wl, bl))
            dw, db = -eta * gw, (-eta * gb if update_bias else torch.tensor(0.0))
            err += fl(E)
            if mode == "online":
                w, b = w + dw, b + db
            else:
                sum_w, sum_b = sum_w + dw, sum_b + db
                if k == len(samples):
                    w, b = w0 + sum_w, b0 + sum_b
            history.append({"epoch": epoch, "sample": k, "v": fl(v), "y": fl(y), "e": d - fl(y), "E": fl(E),
                             "delta_w": out(dw), "delta_b": fl(db), "weights": out(w), "bias": fl(b)})
        epoch_error.append(err)
    problem = {"kind": "delta_rule", "weights": weights, "bias": bias, "learning_rate": eta,
               "activation": activation, "mode": mode, "epochs": epochs, "samples": samples}
    if slope != 1.0:
        problem["slope"] = slope
    if not update_bias:
        problem["update_bias"] = False
    return {"id": cid, "problem": problem,
            "expected": {"weights": out(w), "bias": fl(b), "epoch_error": epoch_error},
            "expected_history": history}


def delta_cases():
    rng = np.random.default_rng(3100)
    cases = []
    for act in ("linear", "sigmoid", "tanh"):
        for mode in ("online", "batch"):
            n, N = 3, 5
            samples = [{"x": np.round(rng.normal(size=n), 3).tolist(),
                        "d": round(float(rng.uniform(-0.9, 0.9) if act != "sigmoid" else rng.uniform(0.05, 0.95)), 3)}
                       for _ in range(N)]
            w = np.round(rng.normal(size=n) * 0.5, 3).tolist()
            cases.append(delta_case(f"delta_{act}_{mode}", w, round(float(rng.normal()) * 0.3, 3), 0.15, act, mode, 4,
                                    samples))
    samples = [{"x": [1.0, -0.5], "d": 0.9}, {"x": [-0.3, 0.8], "d": 0.1}]
    cases.append(delta_case("delta_sigmoid_slope", [0.2, 0.4], -0.1, 0.5, "sigmoid", "online", 3, samples, slope=2.0))
    cases.append(delta_case("delta_fixed_bias", [0.2, 0.4], 0.3, 0.25, "linear", "online", 2, samples,
                            update_bias=False))
    return cases


# -- hebbian ----------------------------------------------------------------------------------

def hebb_case(cid, rule, weights, bias, eta, activation, epochs, samples, *, strict=False):
    f = torch_act(activation, strict=strict)
    w, b = t(weights), torch.tensor(float(bias))
    history = []
    for epoch in range(1, epochs + 1):
        for k, s in enumerate(samples, start=1):
            x = t(s["x"])
            v = w @ x if rule == "oja" else w @ x + b
            y = f(v)
            if rule == "supervised":
                d = float(s["d"])
                dw, db = eta * d * x, torch.tensor(eta * d)
            elif rule == "plain":
                dw, db = eta * y * x, eta * y
            else:
                dw, db = eta * y * (x - y * w), None
            w = w + dw
            entry = {"epoch": epoch, "sample": k, "v": fl(v), "y": fl(y), "delta_w": out(dw), "weights": out(w)}
            if rule != "oja":
                b = b + db
                entry.update(delta_b=fl(db), bias=fl(b))
            history.append(entry)
    X = t([s["x"] for s in samples])
    vs = X @ w if rule == "oja" else X @ w + b
    outputs = out(f(vs))
    problem = {"kind": "hebbian", "rule": rule, "weights": weights, "learning_rate": eta, "activation": activation,
               "epochs": epochs, "samples": samples}
    if rule != "oja":
        problem["bias"] = bias
    if strict:
        problem["strict"] = True
    expected = {"weights": out(w), "outputs": outputs}
    if rule != "oja":
        expected["bias"] = fl(b)
    return {"id": cid, "problem": problem, "expected": expected, "expected_history": history}


def hebb_cases():
    rng = np.random.default_rng(3200)
    cases = []
    bip = [{"x": [1, 1], "d": 1}, {"x": [1, -1], "d": 1}, {"x": [-1, 1], "d": 1}, {"x": [-1, -1], "d": -1}]
    cases.append(hebb_case("hebb_or_bipolar", "supervised", [0.0, 0.0], 0.0, 1.0, "sign", 2, bip))
    samples = [{"x": np.round(rng.normal(size=3), 3).tolist(), "d": float(rng.choice([-1.0, 1.0]))} for _ in range(6)]
    cases.append(hebb_case("hebb_supervised_random", "supervised", [0.1, -0.2, 0.3], 0.05, 0.3, "sign", 3, samples,
                           strict=True))
    cases.append(hebb_case("hebb_plain_linear", "plain", [0.1, -0.2, 0.3], 0.05, 0.1, "linear", 3,
                           [{"x": s["x"]} for s in samples]))
    cases.append(hebb_case("hebb_plain_step", "plain", [0.1, -0.2, 0.3], -0.05, 0.5, "step", 2,
                           [{"x": s["x"]} for s in samples]))
    C = np.array([[2.0, 1.2], [1.2, 1.0]])
    pts = rng.multivariate_normal([0.0, 0.0], C, size=8)
    cases.append(hebb_case("hebb_oja", "oja", [0.3, 0.9], 0.0, 0.05, "linear", 25,
                           [{"x": np.round(p, 3).tolist()} for p in pts]))
    return cases


def main():
    data = {
        "about": "PyTorch float64 reference values for neuron, activation, delta_rule and hebbian "
                 "(shared/spec/classical.md); made by tests/reference/make_classical_units.py",
        "torch": torch.__version__,
        "cases": neuron_cases() + delta_cases() + hebb_cases(),
        "activation_cases": activation_cases(),
    }
    path = HERE / "classical_units.json"
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path} ({len(data['cases'])} cases, {len(data['activation_cases'])} activation cases)")


if __name__ == "__main__":
    main()
