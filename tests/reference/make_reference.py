"""PyTorch reference values for nnsolve, written as JSON fixtures beside this script.

torch is not a dependency of nnsolve, and CI does not install it: the values torch computes
are stored here once, and ``tests/test_reference.py`` (plus the torch comparisons in
test_mlp.py, test_rnn.py and test_lstm_gru.py) check nnsolve against them on every run.

Run it by hand, in a separate environment with torch (never the project's venv)::

    python3 -m venv /work/torchvenv
    /work/torchvenv/bin/pip install torch==2.13.0 numpy pyyaml
    /work/torchvenv/bin/python tests/reference/make_reference.py

Its output, the ``*.json`` files in tests/reference/, is committed. The script is
deterministic (fixed inputs, seeded random draws), so running it again rewrites the same
files; rerun it and commit the result when a case is added or changed.

Everything is computed in float64 with autograd; nothing here imports nnsolve. A fixture is
``{"about", "torch", "cases": [{"id", "problem", "expected"}]}``: ``problem`` is the dict of
the YAML problem file nnsolve reads, ``expected`` the results, named as in the result
contract (shared/spec/problem-format.md). activations.json is the exception: its cases are
``{"id", "activation", "params", "points", "expected": {"value", "derivative"}}``, checked
against the records of ``nnsolve.nn.activation``.

Fixtures:
  activations.json   value and derivative of each activation at fixed points (0, ±1e-3, …, ±25)
  mlp.json           one backprop step of a 2-3-2 network, each activation hidden and output
  bptt.json          Elman RNN + BPTT, each hidden activation, many-to-one and many-to-many
  mlp_autograd.json  random networks (test_mlp.py::test_gradients_match_torch_autograd)
  rnn_autograd.json  random RNNs (test_rnn.py::test_against_torch_autograd)
  lstm.json          random torch.nn.LSTMCell runs (test_lstm_gru.py::test_lstm_matches_torch)
  gru.json           random torch.nn.GRU runs, convention: pytorch
                     (test_lstm_gru.py::test_gru_pytorch_convention_matches_torch)
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
    """A float64 tensor (a leaf that records gradients with ``grad``)."""
    return torch.tensor(np.asarray(x, dtype=float), dtype=DT, requires_grad=grad)


def out(x):
    """A tensor as plain nested lists of Python floats (JSON keeps float64 exactly)."""
    return x.detach().numpy().tolist()


# -- activations, as torch defines them -----------------------------------------------------

def act(name, negative_slope=0.01, slope=1.0):
    """f(v) for an mlp layer / rnn hidden or output activation, as torch computes it."""
    return {
        "sigmoid": lambda v: torch.sigmoid(slope * v) if slope != 1 else torch.sigmoid(v),
        "tanh": torch.tanh,
        "relu": torch.relu,
        "leaky_relu": lambda v: F.leaky_relu(v, negative_slope),
        "elu": F.elu,                    # alpha 1
        "softplus": F.softplus,          # beta 1, threshold 20: v itself for v > 20
        "silu": F.silu,
        "gelu": F.gelu,                  # approximate='none': v Φ(v), the erf form
        "linear": lambda v: v,
        "softmax": lambda v: torch.softmax(v, dim=-1),
    }[name]


POINTS = [0.0, 1e-3, -1e-3, 0.5, -0.5, 2.0, -2.0, 5.0, -5.0, 20.0, -20.0, 25.0, -25.0]

ACTIVATION_CASES = [
    ("sigmoid", {}), ("tanh", {}), ("relu", {}),
    ("leaky_relu", {"negative_slope": 0.01}), ("leaky_relu", {"negative_slope": 0.2}),
    ("elu", {}), ("softplus", {}), ("silu", {}), ("gelu", {}),
]


def activations_fixture():
    cases = []
    for name, params in ACTIVATION_CASES:
        v = t(POINTS, grad=True)
        y = act(name, **params)(v)
        (dy,) = torch.autograd.grad(y.sum(), v)  # elementwise: d f(v_i) / d v_i
        label = name + "".join(f"({k}={p:g})" for k, p in params.items())
        cases.append({"id": label, "activation": name, "params": params, "points": POINTS,
                      "expected": {"value": out(y), "derivative": out(dy)}})
    return cases


# -- losses ---------------------------------------------------------------------------------

def loss_fn(name, y, d):
    """E(y, d) for one output vector y; d a target vector (one-hot for a class index)."""
    if name == "half_sse":
        return 0.5 * F.mse_loss(y, d, reduction="sum")
    if name == "mse":
        return F.mse_loss(y, d, reduction="mean")
    if name == "bce":
        return F.binary_cross_entropy(y, d, reduction="sum")
    if name == "cross_entropy":  # y is already a probability vector (softmax output)
        return -(d * torch.log(y)).sum()
    raise KeyError(name)


# -- mlp: one backpropagation step ----------------------------------------------------------

def mlp_expected(problem):
    """output, loss, local_gradients, grad_weights, grad_bias, weights, bias, loss_after."""
    layers = problem["layers"]
    slope = problem.get("slope", 1.0)
    fs = [act(L["activation"], L.get("negative_slope", 0.01), slope) for L in layers]
    x, d = t(problem["input"]), t(problem["target"])
    Ws = [t(L["weights"], grad=True) for L in layers]
    bs = [t(L.get("bias", np.zeros(len(L["weights"]))), grad=True) for L in layers]

    def forward(Ws, bs):
        y, vs = x, []
        for W, b, f in zip(Ws, bs, fs):
            v = W @ y + b  # W is (outputs × inputs)
            if v.requires_grad:
                v.retain_grad()
            vs.append(v)
            y = f(v)
        return y, vs

    y, vs = forward(Ws, bs)
    E = loss_fn(problem["loss"], y, d)
    E.backward()
    eta = problem["learning_rate"]
    with torch.no_grad():
        new_W = [W - eta * W.grad for W in Ws]
        new_b = [b - eta * b.grad for b in bs] if problem.get("update_bias", True) else [b.clone() for b in bs]
        E_after = loss_fn(problem["loss"], forward(new_W, new_b)[0], d)
    return {
        "output": out(y),
        "loss": E.item(),
        "local_gradients": [out(-v.grad) for v in vs],  # Haykin's δ = −∂E/∂v
        "grad_weights": [out(W.grad) for W in Ws],
        "grad_bias": [out(b.grad) for b in bs],
        "weights": [out(W) for W in new_W],
        "bias": [out(b) for b in new_b],
        "loss_after": E_after.item(),
    }


NEW = ["leaky_relu", "elu", "softplus", "silu", "gelu"]
CURRENT = ["sigmoid", "tanh", "relu"]

# 2-3-2: hidden pre-activations v1 = [0.72, −0.46, −0.35] (both sides of every kink);
# output pre-activations (linear hidden) [0.727, −0.485].
X = [0.6, -0.4]
W1, B1 = [[0.7, -0.5], [-0.9, 0.3], [0.4, 1.1]], [0.1, 0.2, -0.15]
W2, B2 = [[0.8, -0.6, 0.5], [-0.3, 0.9, -0.7]], [0.05, -0.1]
# the same shape with one hidden unit exactly at the kink: v1 = [0, 0.45, −0.475], all exact
# in binary (0.5·0.5 + 1·(−0.25) = 0), so torch's derivative at 0 is what counts.
X_KINK = [0.5, -0.25]
W1_KINK, B1_KINK = [[0.5, 1.0], [0.8, -0.6], [-1.2, 0.7]], [0.0, -0.1, 0.3]


def mlp_problem(hidden, output, loss, target, x=X, w1=W1, b1=B1, hidden_slope=None, output_slope=None):
    h = {"weights": w1, "bias": b1, "activation": hidden}
    o = {"weights": W2, "bias": B2, "activation": output}
    if hidden_slope is not None:
        h["negative_slope"] = hidden_slope
    if output_slope is not None:
        o["negative_slope"] = output_slope
    return {"kind": "mlp", "title": None, "input": x, "target": target, "layers": [h, o],
            "loss": loss, "learning_rate": 0.5}


def mlp_fixture():
    specs = []  # (id, problem)
    for f in CURRENT + NEW:
        specs.append((f"hidden={f}", mlp_problem(f, "sigmoid", "half_sse", [0.9, 0.1])))
    specs.append(("hidden=leaky_relu(negative_slope=0.2)",
                  mlp_problem("leaky_relu", "sigmoid", "half_sse", [0.9, 0.1], hidden_slope=0.2)))
    for f, kw in (("relu", {}), ("leaky_relu", {}), ("leaky_relu", {"hidden_slope": 0.2}), ("elu", {})):
        label = f + ("(negative_slope=0.2)" if kw else "")
        specs.append((f"hidden={label},kink", mlp_problem(f, "sigmoid", "half_sse", [0.9, 0.1], x=X_KINK,
                                                           w1=W1_KINK, b1=B1_KINK, **kw)))
    for f in ["tanh", "relu"] + NEW:
        specs.append((f"output={f},mse", mlp_problem("linear", f, "mse", [0.3, -0.2])))
    specs.append(("output=leaky_relu(negative_slope=0.2),mse",
                  mlp_problem("linear", "leaky_relu", "mse", [0.3, -0.2], output_slope=0.2)))
    cases = []
    for label, p in specs:
        p["title"] = f"torch reference: mlp {label}"
        cases.append({"id": label, "problem": p, "expected": mlp_expected(p)})
    return cases


# -- rnn / bptt -----------------------------------------------------------------------------

def bptt_expected(problem):
    """h, y_hat, loss, grad_U … grad_c, dL_dh (total ∂L/∂h_t), grad_W_by_step and, with
    learning_rate, the updated U, W, b, V, c."""
    w = problem["weights"]
    U, W, V = t(w["U"], True), t(w["W"], True), t(w["V"], True)
    b = t(w.get("b", np.zeros(len(w["W"]))), True)
    c = t(w.get("c", np.zeros(len(w["V"]))), True)
    f = act(problem.get("hidden_activation", "tanh"), problem.get("negative_slope", 0.01))
    g = act(problem["output_activation"])
    k = len(w["V"])
    X = problem["inputs"]
    T = len(X)
    every = problem["output"] == "every"
    targets = problem["target"] if every else [problem["target"]]

    def target_vector(y):
        if problem["output_activation"] == "softmax" and isinstance(y, int):
            return F.one_hot(torch.tensor(y), k).to(DT)  # a class index, counted from 0
        return t(np.reshape(y, (k,)))

    h = t(problem.get("initial", {}).get("h", np.zeros(len(w["W"]))))
    hs, yhats, W_parts = [], [], []
    L = torch.zeros((), dtype=DT)
    for step in range(T):
        # W_t = W + Δ_t with Δ_t = 0: ∂L/∂Δ_t is the part of ∂L/∂W used at step t
        part = torch.zeros_like(W, requires_grad=True)
        W_parts.append(part)
        h = f(U @ t(X[step]) + (W + part) @ h + b)
        h.retain_grad()
        hs.append(h)
        if every or step == T - 1:
            y_hat = g(V @ h + c)
            yhats.append(y_hat)
            L = L + loss_fn(problem["loss"], y_hat, target_vector(targets[len(yhats) - 1]))
    L.backward()
    r = {
        "h": [out(h) for h in hs],
        "y_hat": [out(y) for y in yhats] if every else out(yhats[-1]),
        "loss": L.item(),
        "grad_U": out(U.grad), "grad_W": out(W.grad), "grad_b": out(b.grad),
        "grad_V": out(V.grad), "grad_c": out(c.grad),
        "dL_dh": [out(h.grad) for h in hs],
        "grad_W_by_step": [out(p.grad) for p in W_parts],
    }
    if "learning_rate" in problem:
        eta = problem["learning_rate"]
        for name, p in (("U", U), ("W", W), ("b", b), ("V", V), ("c", c)):
            r[name] = out(p - eta * p.grad)
    return r


RNN_X = [[1.0, -0.5], [0.3, 0.8], [-0.7, 0.2]]
RNN_W = {"U": [[0.6, -0.4], [-0.5, 0.7]], "W": [[0.3, -0.6], [0.5, 0.2]], "b": [0.05, -0.1]}
RNN_H0 = [0.1, -0.2]


def bptt_problem(hidden, output, negative_slope=None):
    if output == "last":   # many-to-one: k = 1, sigmoid, bce, target 1
        head = {"V": [[0.8, -0.6]], "c": [0.1]}
        rest = {"output_activation": "sigmoid", "output": "last", "target": 1, "loss": "bce"}
    elif output == "every":  # many-to-many: k = 2, softmax, cross_entropy, class indices from 0
        head = {"V": [[0.7, -0.4], [-0.5, 0.6]], "c": [0.05, -0.05]}
        rest = {"output_activation": "softmax", "output": "every", "target": [1, 0, 1],
                "loss": "cross_entropy"}
    else:  # "every, vector targets": soft targets, one probability vector per step
        head = {"V": [[0.7, -0.4], [-0.5, 0.6]], "c": [0.05, -0.05]}
        rest = {"output_activation": "softmax", "output": "every",
                "target": [[0.75, 0.25], [0.1, 0.9], [0.5, 0.5]], "loss": "cross_entropy"}
    p = {"kind": "bptt", "title": None, "inputs": RNN_X, "hidden_activation": hidden,
         "weights": {**RNN_W, **head}, "initial": {"h": RNN_H0}, **rest, "learning_rate": 0.1}
    if negative_slope is not None:
        p["negative_slope"] = negative_slope
    return p


def hidden_preactivations(problem):
    """a_1 … a_T of the forward pass (to see that both sides of a kink are used)."""
    w = problem["weights"]
    f = act(problem["hidden_activation"], problem.get("negative_slope", 0.01))
    h, a_all = t(problem["initial"]["h"]), []
    for x in problem["inputs"]:
        a = t(w["U"]) @ t(x) + t(w["W"]) @ h + t(w["b"])
        a_all.append(a)
        h = f(a)
    return torch.stack(a_all)


def check_with_torch_rnn(problem, expected):
    """For tanh and relu, torch.nn.RNN itself must give the same h_t as the loop above."""
    w = problem["weights"]
    rnn = torch.nn.RNN(len(w["U"][0]), len(w["U"]), nonlinearity=problem["hidden_activation"])
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(t(w["U"]))
        rnn.weight_hh_l0.copy_(t(w["W"]))
        rnn.bias_ih_l0.copy_(t(w["b"]))
        rnn.bias_hh_l0.zero_()
        hs, _ = rnn(t(problem["inputs"])[:, None, :], t(problem["initial"]["h"])[None, None, :])
    assert np.allclose(hs[:, 0, :].numpy(), expected["h"], rtol=1e-14, atol=1e-15)


def bptt_fixture():
    specs = []
    for f in CURRENT + NEW:
        specs.append((f"last,hidden={f}", bptt_problem(f, "last")))
    specs.append(("last,hidden=leaky_relu(negative_slope=0.2)", bptt_problem("leaky_relu", "last", 0.2)))
    for f in CURRENT + NEW:
        specs.append((f"every,hidden={f}", bptt_problem(f, "every")))
    specs.append(("every,hidden=leaky_relu(negative_slope=0.2)", bptt_problem("leaky_relu", "every", 0.2)))
    for f in ("tanh", "gelu"):
        specs.append((f"every,vector-targets,hidden={f}", bptt_problem(f, "every-vector")))
    cases = []
    for label, p in specs:
        a = hidden_preactivations(p)
        assert (a > 0).any() and (a < 0).any(), (label, a)
        p["title"] = f"torch reference: bptt {label}"
        e = bptt_expected(p)
        if p["hidden_activation"] in ("tanh", "relu"):
            check_with_torch_rnn(p, e)
        cases.append({"id": label, "problem": p, "expected": e})
    return cases


# -- random cases for the torch comparisons of test_mlp.py / test_rnn.py / test_lstm_gru.py --
# The same distributions as those tests' hypothesis strategies, drawn once with a fixed seed.

def random_mlp_problem(rng):
    """As test_mlp.networks(): 1–3 layers of 1–4 units, any loss, its usual output layer."""
    depth = int(rng.integers(1, 4))
    sizes = [int(rng.integers(1, 5)) for _ in range(depth + 1)]
    loss = str(rng.choice(["half_sse", "mse", "bce", "cross_entropy"]))
    acts = [str(rng.choice(["sigmoid", "tanh", "relu", "linear"])) for _ in range(depth - 1)]
    last = {"cross_entropy": "softmax", "bce": "sigmoid"}.get(loss) or str(
        rng.choice(["sigmoid", "tanh", "linear", "softmax"]))
    if last == "softmax" and sizes[-1] == 1:
        sizes[-1] = 2
    acts.append(last)
    val = lambda *shape: np.round(rng.uniform(-1.5, 1.5, shape), 3).tolist()
    layers = [{"weights": val(sizes[l + 1], sizes[l]), "bias": val(sizes[l + 1]), "activation": acts[l]}
              for l in range(depth)]
    if loss == "cross_entropy":
        d = np.eye(sizes[-1])[rng.integers(sizes[-1])].tolist()
    elif last == "sigmoid":
        d = rng.choice([0.0, 0.2, 0.9, 1.0], sizes[-1]).tolist()
    else:
        d = val(sizes[-1])
    return {"kind": "mlp", "input": val(sizes[0]), "target": d, "layers": layers, "loss": loss,
            "learning_rate": float(rng.choice([0.1, 0.5, 1.0])),
            "slope": float(rng.choice([1.0, 1.0, 0.5, 2.0]))}


def away_from_relu_kinks_mlp(problem):
    """ReLU's derivative at 0 is a convention: keep the random cases away from it."""
    y = np.asarray(problem["input"])
    for L in problem["layers"]:
        v = np.asarray(L["weights"]) @ y + np.asarray(L["bias"])
        if L["activation"] == "relu" and np.min(np.abs(v)) < 1e-9:
            return False
        y = np.maximum(v, 0) if L["activation"] == "relu" else v  # only relu layers matter here
    return True


def mlp_autograd_fixture(n=40, seed=2013):
    rng = np.random.default_rng(seed)
    cases = []
    while len(cases) < n:
        p = random_mlp_problem(rng)
        if not away_from_relu_kinks_mlp(p):
            continue
        shape = "-".join(str(size) for size in [len(p["input"])] + [len(L["weights"]) for L in p["layers"]])
        label = f"{len(cases):02d}:{shape}:{','.join(L['activation'] for L in p['layers'])}:{p['loss']}"
        cases.append({"id": label, "problem": p, "expected": mlp_expected(p)})
    return cases


def random_rnn_problem(rng):
    """As test_rnn.problems(): m, n 1–4, T 1–5, any output activation and loss it allows."""
    m, n = (int(rng.integers(1, 5)) for _ in range(2))
    T = int(rng.integers(1, 6))
    f = str(rng.choice(["tanh", "relu", "sigmoid", "linear"]))
    g = str(rng.choice(["sigmoid", "softmax", "linear", "tanh"]))
    k = int(rng.integers(2, 4)) if g == "softmax" else int(rng.integers(1, 4))
    loss = str(rng.choice(["bce", "cross_entropy", "half_sse", "mse"] if g in ("sigmoid", "softmax")
                          else ["half_sse", "mse"]))
    output = str(rng.choice(["last", "every"]))
    weights = {"U": rng.uniform(-1, 1, (m, n)).tolist(), "W": rng.uniform(-1, 1, (m, m)).tolist(),
               "b": rng.uniform(-0.5, 0.5, m).tolist(), "V": rng.uniform(-1, 1, (k, m)).tolist(),
               "c": rng.uniform(-0.5, 0.5, k).tolist()}
    targets = []
    for _ in range(T if output == "every" else 1):
        if g == "softmax" and loss == "cross_entropy":
            targets.append(int(rng.integers(0, k)) if rng.random() < 0.5 else rng.dirichlet(np.ones(k)).tolist())
        elif loss in ("bce", "cross_entropy"):
            targets.append(rng.uniform(0, 1, k).tolist())
        else:
            targets.append(rng.normal(size=k).tolist())
    return {"kind": "bptt", "inputs": rng.normal(size=(T, n)).tolist(), "hidden_activation": f,
            "output_activation": g, "output": output, "weights": weights,
            "initial": {"h": rng.uniform(-0.5, 0.5, m).tolist()}, "loss": loss,
            "target": targets if output == "every" else targets[0]}


def rnn_autograd_fixture(n=20, seed=2014):
    rng = np.random.default_rng(seed)
    cases = []
    while len(cases) < n:
        p = random_rnn_problem(rng)
        if p["hidden_activation"] == "relu" and torch.min(hidden_preactivations(p).abs()) < 1e-9:
            continue
        w = p["weights"]
        label = (f"{len(cases):02d}:T={len(p['inputs'])},n={len(w['U'][0])},m={len(w['U'])},k={len(w['V'])}:"
                 f"{p['hidden_activation']},{p['output_activation']},{p['output']}:{p['loss']}")
        cases.append({"id": label, "problem": p, "expected": bptt_expected(p)})
    return cases


def random_cell(rng, gates):
    """As test_lstm_gru.cell(): m 1–6, n 1–4, T 1–6, every value in [−3, 3]."""
    m, n, T = int(rng.integers(1, 7)), int(rng.integers(1, 5)), int(rng.integers(1, 7))
    u = lambda *shape: rng.uniform(-3, 3, shape)
    return u(T, n), u(gates * m, n), u(gates * m, m), u(gates * m), u(gates * m), u(m)


def lstm_fixture(n=20, seed=2015):
    """torch.nn.LSTMCell, its gates stacked as rows [i; f; g; o]; nnsolve's W_c is torch's g."""
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(n):
        X, w_ih, w_hh, b_ih, b_hh, h0 = random_cell(rng, 4)
        c0 = rng.uniform(-3, 3, len(h0))
        m, nin = len(h0), X.shape[1]
        cell = torch.nn.LSTMCell(nin, m)
        with torch.no_grad():
            for name, v in (("weight_ih", w_ih), ("weight_hh", w_hh), ("bias_ih", b_ih), ("bias_hh", b_hh)):
                getattr(cell, name).copy_(t(v))
            h, c, hs, cs = t(h0)[None], t(c0)[None], [], []
            for x in X:
                h, c = cell(t(x)[None], (h, c))
                hs.append(out(h[0]))
                cs.append(out(c[0]))
        rows = lambda a, j: a[j * m:(j + 1) * m].tolist()
        weights = {}
        for j, gate in enumerate("ifco"):
            weights[f"W_{gate}"] = rows(w_ih, j)
            weights[f"U_{gate}"] = rows(w_hh, j)
            weights[f"b_{gate}"] = rows(b_ih + b_hh, j)
        p = {"kind": "lstm", "inputs": X.tolist(), "weights": weights,
             "initial": {"h": h0.tolist(), "c": c0.tolist()}}
        cases.append({"id": f"{i:02d}:T={len(X)},n={nin},m={m}", "problem": p, "expected": {"h": hs, "c": cs}})
    return cases


def gru_fixture(n=20, seed=2016):
    """torch.nn.GRU, rows [r; z; n]; nnsolve's convention: pytorch, with b_hn kept apart."""
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(n):
        X, w_ih, w_hh, b_ih, b_hh, h0 = random_cell(rng, 3)
        m, nin = len(h0), X.shape[1]
        gru = torch.nn.GRU(nin, m)
        with torch.no_grad():
            for name, v in (("weight_ih_l0", w_ih), ("weight_hh_l0", w_hh), ("bias_ih_l0", b_ih),
                            ("bias_hh_l0", b_hh)):
                getattr(gru, name).copy_(t(v))
            hs, _ = gru(t(X)[:, None, :], t(h0)[None, None, :])
        rows = lambda a, j: a[j * m:(j + 1) * m].tolist()
        weights = {}
        for j, gate in enumerate("rzh"):
            weights[f"W_{gate}"] = rows(w_ih, j)
            weights[f"U_{gate}"] = rows(w_hh, j)
        weights["b_r"], weights["b_z"] = rows(b_ih + b_hh, 0), rows(b_ih + b_hh, 1)
        weights["b_h"], weights["b_hn"] = rows(b_ih, 2), rows(b_hh, 2)
        p = {"kind": "gru", "convention": "pytorch", "inputs": X.tolist(), "weights": weights,
             "initial": {"h": h0.tolist()}}
        cases.append({"id": f"{i:02d}:T={len(X)},n={nin},m={m}", "problem": p,
                      "expected": {"h": out(hs[:, 0, :])}})
    return cases


# -- writing --------------------------------------------------------------------------------

def _dumps(obj, indent=0):
    """JSON with one line per case field: dicts holding dicts (or lists of dicts) are spread
    out, everything else (numbers, lists of numbers, small dicts) stays on one line."""
    pad = " " * indent
    nested = lambda v: isinstance(v, dict) or (isinstance(v, list) and any(isinstance(x, dict) for x in v))
    if isinstance(obj, dict) and any(nested(v) for v in obj.values()):
        items = [f'{pad}  {json.dumps(k)}: {_dumps(v, indent + 2)}' for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list) and any(isinstance(x, dict) for x in obj):
        items = [pad + "  " + _dumps(x, indent + 2) for x in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(obj, allow_nan=False)


def write(name, about, cases):
    doc = {"about": about + " Generated by tests/reference/make_reference.py; do not edit by hand.",
           "torch": torch.__version__, "cases": cases}
    (HERE / name).write_text(_dumps(doc) + "\n", encoding="utf-8")
    print(f"{name}: {len(cases)} cases")


def main():
    write("activations.json", "Activation values and autograd derivatives at fixed points.",
          activations_fixture())
    write("mlp.json", "One backprop step of a 2-3-2 mlp, each activation hidden (sigmoid output, "
          "half_sse) and output (linear hidden, mse); η = 0.5.", mlp_fixture())
    write("bptt.json", "Elman RNN + BPTT (T = 3, n = 2, m = 2), each hidden activation; many-to-one "
          "(sigmoid, bce) and many-to-many (softmax, cross_entropy); η = 0.1.", bptt_fixture())
    write("mlp_autograd.json", "Random networks as test_mlp.networks() draws them (seed 2013).",
          mlp_autograd_fixture())
    write("rnn_autograd.json", "Random RNNs as test_rnn.problems() draws them (seed 2014).",
          rnn_autograd_fixture())
    write("lstm.json", "torch.nn.LSTMCell over random sequences (seed 2015).", lstm_fixture())
    write("gru.json", "torch.nn.GRU over random sequences, convention: pytorch (seed 2016).", gru_fixture())


if __name__ == "__main__":
    main()
