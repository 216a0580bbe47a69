"""PyTorch reference values for kind: softmax and kind: attention (building-blocks.md),
written as tests/reference/softmax_attention.json.

Like make_reference.py, run it by hand in the separate torch environment (never the
project's venv); its output is committed and the tests need no torch::

    /work/torchvenv/bin/python tests/reference/make_softmax_attention.py

Everything is float64; nothing here imports nnsolve. Each case is ``{"id", "problem",
"expected"}``: ``problem`` the dict of the YAML file nnsolve reads, ``expected`` the results
as the contract names them.

- softmax, multiclass: ``torch.softmax(z / T)``, ``F.cross_entropy(z / T, target,
  reduction="none")`` (a class index, or probabilities as the target), ∂L/∂z by autograd
  (of the summed per-sample losses: the samples are independent), ``torch.argmax`` of the
  probabilities (the first of a tie).
- softmax, multilabel: ``torch.sigmoid(z / T)``, ``F.binary_cross_entropy_with_logits(z / T,
  y, reduction="none")`` summed over the classes of each sample, ∂L/∂z by autograd, and
  ``sigmoid >= 0.5``.
- attention: the scores written with torch operations (``torch.tanh(W s + U h_j) @ v``,
  ``s @ h_j``, ``/ √d``, ``s @ W @ h_j``), ``torch.softmax`` over the keys, and the context
  ``α @ V``; scaled_dot's context also from ``F.scaled_dot_product_attention`` (which must
  agree, and is the one stored).
"""
from __future__ import annotations

import json
import math
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


# -- softmax ----------------------------------------------------------------------------------

def one_hot_or_vector(target, k):
    if isinstance(target, list):
        return [float(v) for v in target]
    y = [0.0] * k
    y[int(target)] = 1.0
    return y


def softmax_expected(problem):
    z_raw = problem["logits"]
    batch = isinstance(z_raw[0], list)
    Z = z_raw if batch else [z_raw]
    targets = problem["target"] if batch else [problem["target"]]
    T = float(problem.get("temperature", 1.0))
    mode = problem.get("mode", "multiclass")
    z = t(Z, grad=True)
    u = z / T
    k = z.shape[1]
    if mode == "multiclass":
        probs = torch.softmax(u, dim=1)
        if all(not isinstance(y, list) for y in targets):
            target = torch.tensor([int(y) for y in targets])
        else:
            target = t([one_hot_or_vector(y, k) for y in targets])
        losses = F.cross_entropy(u, target, reduction="none")
        preds = [int(v) for v in torch.argmax(probs, dim=1)]
    else:
        y = t([one_hot_or_vector(v, k) for v in targets])
        probs = torch.sigmoid(u)
        losses = F.binary_cross_entropy_with_logits(u, y, reduction="none").sum(dim=1)
        preds = [[int(v) for v in row] for row in (probs >= 0.5)]
    (grad,) = torch.autograd.grad(losses.sum(), z)
    assert torch.all(torch.isfinite(losses)), problem
    if batch:
        return {"probabilities": out(probs), "loss": out(losses), "grad_logits": out(grad),
                "prediction": preds, "mean_loss": float(losses.detach().mean())}
    return {"probabilities": out(probs[0]), "loss": float(losses.detach()[0]), "grad_logits": out(grad[0]),
            "prediction": preds[0]}


def softmax_cases():
    rng = np.random.default_rng(20240512)
    cases = [
        ("textbook", {"logits": [2.0, 1.0, 0.1], "target": 0}),
        ("one-hot, T = 2", {"logits": [2.0, 1.0, 0.1], "target": [0, 1, 0], "temperature": 2.0}),
        ("soft target", {"logits": [0.5, -1.2, 3.0, 0.0], "target": [0.1, 0.6, 0.2, 0.1]}),
        ("large logits, right class", {"logits": [1000.0, 999.0, 0.0], "target": 0}),
        ("large logits, underflowing class", {"logits": [1000.0, 999.0, 0.0], "target": 2}),
        ("large negative logits", {"logits": [-1000.0, -1001.0, -1005.0], "target": 1}),
        ("shift always", {"logits": [3.0, 1.0, -2.0], "target": 1, "shift": "always"}),
        ("batch, T = 0.5", {"logits": [[1.0, 2.0, 3.0], [0.3, -0.3, 0.0], [5.0, 5.0, -5.0]],
                            "target": [2, 0, 1], "temperature": 0.5}),
        ("batch, mixed targets", {"logits": [[0.2, 0.4], [1.5, -1.5]], "target": [1, [0.25, 0.75]]}),
        ("batch of one", {"logits": [[1.0, -1.0, 0.5]], "target": [2]}),
        ("multilabel cat dog horse", {"mode": "multilabel", "logits": [2.0, -1.0, 0.5], "target": [1, 0, 1]}),
        ("multilabel soft, T = 1.5", {"mode": "multilabel", "logits": [[0.3, -2.0, 4.0], [1.0, 1.0, -0.5]],
                                      "target": [[0.2, 0.9, 0.5], [1, 1, 0]], "temperature": 1.5}),
        ("multilabel large logits", {"mode": "multilabel", "logits": [1000.0, -1000.0, 0.0], "target": [1, 0, 1]}),
        ("multilabel large logits, wrong labels", {"mode": "multilabel", "logits": [800.0, -800.0, 40.0],
                                                   "target": [0, 1, 0]}),
        ("multilabel one logit", {"mode": "multilabel", "logits": [0.3], "target": [1]}),
        ("multilabel class index", {"mode": "multilabel", "logits": [0.3, -0.7, 1.1], "target": 2}),
    ]
    for n in range(6):
        N, k = int(rng.integers(1, 5)), int(rng.integers(2, 7))
        mode = "multiclass" if n % 2 == 0 else "multilabel"
        Z = np.round(rng.normal(0, 3, (N, k)), 6).tolist()
        if mode == "multiclass":
            targets = [int(rng.integers(0, k)) for _ in range(N)]
        else:
            targets = np.round(rng.uniform(0, 1, (N, k)), 4).tolist()
        T = float(np.round(rng.uniform(0.3, 3.0), 3))
        cases.append((f"random {mode} {n}", {"mode": mode, "logits": Z, "target": targets, "temperature": T}))
    out_cases = []
    for name, problem in cases:
        problem = {"kind": "softmax", **problem}
        out_cases.append({"id": f"softmax: {name}", "problem": problem, "expected": softmax_expected(problem)})
    return out_cases


# -- attention --------------------------------------------------------------------------------

def attention_expected(problem):
    typ = problem["type"]
    many = "queries" in problem
    S = t(problem["queries"] if many else [problem["query"]])
    H = t(problem["keys"])
    V = t(problem["values"]) if "values" in problem else H
    if typ == "additive":
        W, U, v = t(problem["W"]), t(problem["U"]), t(problem["v"])
        scores = torch.tanh((S @ W.T)[:, None, :] + (H @ U.T)[None, :, :]) @ v
    elif typ == "general":
        scores = S @ t(problem["W"]) @ H.T
    else:
        scores = S @ H.T
        if typ == "scaled_dot":
            scores = scores / math.sqrt(H.shape[1])
    weights = torch.softmax(scores, dim=1)
    context = weights @ V
    if typ == "scaled_dot":
        sdpa = F.scaled_dot_product_attention(S[None], H[None], V[None])[0]
        assert torch.allclose(sdpa, context, rtol=1e-12, atol=1e-12)
        context = sdpa
    if many:
        return {"scores": out(scores), "weights": out(weights), "context": out(context)}
    return {"scores": out(scores[0]), "weights": out(weights[0]), "context": out(context[0])}


def attention_cases():
    rng = np.random.default_rng(4004)
    spec = {"type": "additive", "query": [0.5, -0.2], "keys": [[1, 0], [0, 1], [1, 1]],
            "W": [[0.1, 0.2], [0.3, -0.1]], "U": [[0.4, 0.0], [-0.2, 0.5]], "v": [1.0, -1.0]}
    cases = [
        ("additive, the spec's example", spec),
        ("additive, two queries, values, a = 3",
         {"type": "additive", "queries": [[0.2, -0.4], [1.0, 0.5]], "keys": [[0.1, 0.9, -0.3], [0.5, -0.5, 0.2]],
          "values": [[1.0], [-2.0]], "W": [[0.3, -0.6], [0.8, 0.1], [-0.2, 0.4]],
          "U": [[0.5, 0.2, -0.1], [0.0, -0.7, 0.3], [0.6, 0.1, 0.9]], "v": [0.7, -1.2, 0.4]}),
        ("dot", {"type": "dot", "query": [1.0, 2.0, -1.0], "keys": [[0.5, 0.1, 0.0], [-1.0, 0.3, 2.0],
                                                                      [0.2, 0.2, 0.2], [1.0, 1.0, 1.0]]}),
        ("scaled_dot, queries, values",
         {"type": "scaled_dot", "queries": [[1, 0, 1, 0], [0, 2, 0, 1]],
          "keys": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [1, 1, 1, 1], [1, -1, 1, -1], [2, 0, 0, 0]],
          "values": [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12], [13, 14]]}),
        ("general", {"type": "general", "query": [0.3, -0.8], "keys": [[1.0, 0.0, 0.5], [0.2, -0.4, 1.0]],
                     "W": [[0.5, -0.1, 0.3], [0.2, 0.6, -0.4]]}),
        ("one key", {"type": "dot", "query": [0.3, 0.4], "keys": [[2.0, -1.0]], "values": [[5.0, 6.0, 7.0]]}),
        ("large scores", {"type": "general", "query": [1, 2], "keys": [[300, 0, 1], [0, 1, 0]],
                          "W": [[1, 0, 0], [0, 1, 0]]}),
        ("large scores, additive", {"type": "additive", "query": [1.0], "keys": [[1.0], [-1.0], [0.0]],
                                    "W": [[2.0]], "U": [[1.0]], "v": [900.0]}),
    ]
    for n, typ in enumerate(("additive", "dot", "scaled_dot", "general") * 2):
        k, ds = int(rng.integers(1, 8)), int(rng.integers(1, 5))
        dh = ds if typ in ("dot", "scaled_dot") else int(rng.integers(1, 5))
        nq = int(rng.integers(1, 4))
        r = lambda *shape: np.round(rng.normal(0, 1, shape), 6).tolist()
        problem = {"type": typ, "keys": r(k, dh)}
        if n < 4:
            problem["queries"] = r(nq, ds)
        else:
            problem["query"] = r(ds)
        if rng.uniform() < 0.5:
            problem["values"] = r(k, int(rng.integers(1, 4)))
        if typ == "additive":
            a = int(rng.integers(1, 5))
            problem.update(W=r(a, ds), U=r(a, dh), v=r(a))
        elif typ == "general":
            problem["W"] = r(ds, dh)
        cases.append((f"random {typ} {n}", problem))
    return [{"id": f"attention: {name}", "problem": {"kind": "attention", **problem},
             "expected": attention_expected(problem)} for name, problem in cases]


def main():
    data = {"about": "PyTorch float64 reference values for kind: softmax and kind: attention "
                     "(tests/reference/make_softmax_attention.py)",
            "torch": torch.__version__,
            "cases": softmax_cases() + attention_cases()}
    path = HERE / "softmax_attention.json"
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path} ({len(data['cases'])} cases)")


if __name__ == "__main__":
    main()
