"""PyTorch reference values for the kinds batchnorm, param_count and iou, written as the JSON
fixture batchnorm_count_iou.json beside this script.

Run it by hand with the torch venv (never the project's venv; CI does not install torch)::

    /work/torchvenv/bin/python tests/reference/make_batchnorm_count_iou.py

The fixture has the layout of make_reference.py's (``{"about", "torch", "cases": [{"id",
"problem", "expected"}]}``, ``problem`` the dict of a YAML problem file, ``expected`` the results
named as in shared/spec/building-blocks.md), so tests/test_reference.py runs it too;
tests/test_batchnorm_count_iou.py checks it in more detail. Nothing here imports nnsolve. The
script is deterministic (fixed inputs, seeded draws): running it again rewrites the same file.

- batchnorm: torch.nn.functional.batch_norm in training mode, float64, forward (x̂ with weight
  and bias None, y with them) and backward by autograd (y.backward(∂L/∂y)); mean and variance as
  the batch statistics batch_norm normalises with: x.mean(0) and x.var(0, unbiased=False).
  batch_norm refuses eps = 0 in training mode (torch 2.13): for ε = 0 (the notes' first form)
  the expected values are autograd through (x − x.mean(0)) / sqrt(x.var(0, unbiased=False)) γ + β.
- param_count: sum(p.numel()) of nn.RNN / nn.GRU / nn.LSTM / nn.Linear / nn.Conv2d. PyTorch's
  convention is that sum; the notes' (one bias vector per gate) is the same sum without the
  recurrent layers' bias_hh_* tensors.
- iou: torchvision.ops.box_iou, only if torchvision is importable (it is not in the reference
  venv: then no iou cases are written, and the iou tests use hand-derived cases).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

HERE = Path(__file__).resolve().parent
DT = torch.float64
torch.set_default_dtype(DT)

try:  # only if importable; never installed for this
    import torchvision  # noqa: F401
    from torchvision.ops import box_convert, box_iou
except ImportError:
    torchvision = None


def out(x):
    return x.detach().numpy().tolist()


# -- batchnorm ------------------------------------------------------------------------------------

def batchnorm_case(cid, X, gamma=None, beta=None, eps=1e-5, G=None):
    X = np.asarray(X, dtype=float)
    N, d = X.shape
    x = torch.tensor(X, dtype=DT, requires_grad=True)
    w = torch.tensor(np.ones(d) if gamma is None else gamma, dtype=DT, requires_grad=True)
    b = torch.tensor(np.zeros(d) if beta is None else beta, dtype=DT, requires_grad=True)
    if eps > 0:
        y = F.batch_norm(x, None, None, weight=w, bias=b, training=True, eps=eps)
        xhat = F.batch_norm(x.detach(), None, None, training=True, eps=eps)
    else:  # torch refuses eps = 0 in training mode: autograd through the formula written out
        def norm(v):
            return (v - v.mean(0)) / torch.sqrt(v.var(0, unbiased=False))
        y = norm(x) * w + b
        xhat = norm(x.detach())
    problem = {"kind": "batchnorm", "inputs": X.tolist()}
    if gamma is not None:
        problem["gamma"] = list(map(float, gamma))
    if beta is not None:
        problem["beta"] = list(map(float, beta))
    problem["epsilon"] = float(eps)
    expected = {"mean": out(x.detach().mean(0)), "variance": out(x.detach().var(0, unbiased=False)),
                "x_hat": out(xhat), "y": out(y)}
    if G is not None:
        G = np.asarray(G, dtype=float)
        problem["grad_output"] = G.tolist()
        y.backward(torch.tensor(G, dtype=DT))
        expected.update(grad_input=out(x.grad), grad_gamma=out(w.grad), grad_beta=out(b.grad))
    return {"id": cid, "problem": problem, "expected": expected}


def batchnorm_cases():
    cases = [
        batchnorm_case("bn-spec", [[1, 2], [3, 6], [5, 4]], [1, 1], [0, 0], 1e-5,
                       [[0.1, -0.2], [0.3, 0.0], [-0.1, 0.5]]),
        batchnorm_case("bn-seed003-eps0", [[1, -0.5], [2, 0.5], [4, 1.5], [5, -1.5]], [2, 0.5], [0.1, -0.2], 0.0,
                       [[0.2, -0.1], [-0.4, 0.3], [0.1, 0.0], [0.3, 0.2]]),
        batchnorm_case("bn-constant-feature", [[1, 2], [3, 2], [8, 2]], [1.5, 0.7], [0.2, -0.3], 1e-5,
                       [[0.5, -1.0], [0.25, 0.5], [-0.1, 2.0]]),
        batchnorm_case("bn-offset", [[1000.1, 1], [1000.3, 2], [999.9, 4], [1000.0, 8]], None, None, 1e-5,
                       [[1, 0], [0, 1], [-1, 0], [0, -1]]),
        batchnorm_case("bn-two-samples", [[0.0, 1.0, -3.0], [2.0, -1.0, 5.0]], [1, 2, 3], [0, 0, 1], 1e-3,
                       [[1.0, 0.5, -0.5], [0.0, 0.5, 2.0]]),
        batchnorm_case("bn-forward-only", [[0.3, -1.2], [2.5, 0.4], [-0.7, 0.9], [1.1, 3.3], [0.0, -0.5]],
                       [0.5, -2.0], [1.0, 0.25], 0.01),
    ]
    rng = np.random.default_rng(2024)
    for k, (N, d, eps, backward) in enumerate([(2, 1, 1e-5, True), (3, 2, 1e-5, True), (5, 3, 1e-3, True),
                                               (8, 4, 0.1, True), (6, 2, 1e-5, False), (7, 5, 0.0, True)]):
        X = rng.normal(size=(N, d)) * rng.uniform(0.5, 3.0, size=d) + rng.normal(size=d) * 2
        gamma = rng.normal(size=d)
        beta = rng.normal(size=d)
        G = rng.normal(size=(N, d)) if backward else None
        cases.append(batchnorm_case(f"bn-random-{k + 1}", np.round(X, 6), np.round(gamma, 6), np.round(beta, 6),
                                    eps, None if G is None else np.round(G, 6)))
    return cases


# -- param_count ----------------------------------------------------------------------------------

def module_of(layer):
    t = layer["type"]
    bias = layer.get("bias", True)
    if t in ("rnn", "gru", "lstm"):
        cls = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[t]
        return cls(layer["input_size"], layer["hidden_size"], num_layers=layer.get("num_layers", 1),
                   bias=bias, bidirectional=layer.get("bidirectional", False))
    if t == "dense":
        return nn.Linear(layer["inputs"], layer["outputs"], bias=bias)
    k = layer["kernel_size"]
    return nn.Conv2d(layer["in_channels"], layer["out_channels"], tuple(k) if isinstance(k, list) else k, bias=bias)


def counts(layer):
    """(PyTorch's count, the notes' count) of one layer entry."""
    m = module_of(layer)
    torch_count = sum(p.numel() for p in m.parameters())
    notes = sum(p.numel() for name, p in m.named_parameters() if not name.startswith("bias_hh"))
    return torch_count, notes


NETWORKS = {
    "spec": [{"type": "lstm", "input_size": 10, "hidden_size": 20, "num_layers": 2, "bidirectional": False,
              "bias": True},
             {"type": "dense", "inputs": 20, "outputs": 5, "bias": True},
             {"type": "conv2d", "in_channels": 3, "out_channels": 16, "kernel_size": 3, "bias": True}],
    "seed004-sentiment": [{"type": "lstm", "input_size": 10000, "hidden_size": 6},
                          {"type": "dense", "inputs": 6, "outputs": 1}],
    "gru-stack": [{"type": "gru", "input_size": 8, "hidden_size": 16, "num_layers": 3, "bidirectional": True},
                  {"type": "rnn", "input_size": 32, "hidden_size": 4, "bias": False},
                  {"type": "conv2d", "in_channels": 3, "out_channels": 16, "kernel_size": [3, 5], "bias": False},
                  {"type": "dense", "inputs": 4, "outputs": 2}],
    "each-recurrent": [{"type": "rnn", "input_size": 5, "hidden_size": 3},
                       {"type": "gru", "input_size": 5, "hidden_size": 3},
                       {"type": "lstm", "input_size": 5, "hidden_size": 3}],
    "bidirectional-no-bias": [{"type": "lstm", "input_size": 7, "hidden_size": 5, "num_layers": 3,
                               "bidirectional": True, "bias": False},
                              {"type": "rnn", "input_size": 1, "hidden_size": 1, "num_layers": 4,
                               "bidirectional": True}],
    "convs": [{"type": "conv2d", "in_channels": 1, "out_channels": 8, "kernel_size": [3, 5]},
              {"type": "conv2d", "in_channels": 64, "out_channels": 128, "kernel_size": 1},
              {"type": "conv2d", "in_channels": 3, "out_channels": 64, "kernel_size": 7, "bias": False},
              {"type": "dense", "inputs": 512, "outputs": 10},
              {"type": "dense", "inputs": 3, "outputs": 1, "bias": False}],
}


def param_count_cases():
    cases = []
    for name, layers in NETWORKS.items():
        both = [counts(layer) for layer in layers]
        for convention, pick in (("pytorch", 0), ("notes", 1)):
            per_layer = [c[pick] for c in both]
            cases.append({"id": f"count-{name}-{convention}",
                          "problem": {"kind": "param_count", "convention": convention, "layers": layers},
                          "expected": {"per_layer": per_layer, "total": sum(per_layer)}})
    return cases


# -- iou ------------------------------------------------------------------------------------------

def iou_cases():
    if torchvision is None:
        return []
    cases = []
    sets = [("corners", [[0, 0, 2, 2], [1, 1, 4, 3]], [[1, 1, 3, 3]]),
            ("corners", [[0, 0, 1, 1], [0.5, 0.5, 1.5, 1.5], [3, 3, 4, 5]], [[0, 0, 1, 1], [0.25, 0, 2, 1]]),
            ("center", [[50, 50, 40, 40], [195, 205, 30, 30]], [[55, 45, 40, 50], [200, 200, 20, 20]])]
    for k, (fmt, P, T) in enumerate(sets, start=1):
        p, t = torch.tensor(P, dtype=DT), torch.tensor(T, dtype=DT)
        if fmt == "center":
            p, t = box_convert(p, "cxcywh", "xyxy"), box_convert(t, "cxcywh", "xyxy")
        iou = box_iou(p, t)
        area = lambda b: (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
        lt = torch.max(p[:, None, :2], t[:, :2])
        rb = torch.min(p[:, None, 2:], t[:, 2:])
        wh = (rb - lt).clamp(min=0)
        inter = wh[..., 0] * wh[..., 1]
        union = area(p)[:, None] + area(t) - inter
        cases.append({"id": f"iou-{k}", "problem": {"kind": "iou", "format": fmt, "predicted": P, "truth": T},
                      "expected": {"intersection": out(inter), "union": out(union), "iou": out(iou)}})
    return cases


def main():
    cases = batchnorm_cases() + param_count_cases() + iou_cases()
    data = {"about": "batchnorm: F.batch_norm (training mode) forward and autograd backward (eps = 0: "
                     "autograd through the formula, as batch_norm refuses it); param_count: "
                     "sum(p.numel()) of torch.nn modules (notes: without bias_hh_*); iou: "
                     + ("torchvision.ops.box_iou" if torchvision is not None else
                        "none (torchvision is not importable; hand-derived cases in the tests)")
                     + ". Written by tests/reference/make_batchnorm_count_iou.py.",
            "torch": torch.__version__,
            "torchvision": None if torchvision is None else torchvision.__version__,
            "cases": cases}
    path = HERE / "batchnorm_count_iou.json"
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"{path.name}: {len(cases)} cases")


if __name__ == "__main__":
    main()
