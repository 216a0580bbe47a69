"""PyTorch reference values for the rnn / bptt additions of recurrent.md: the gradient
arriving from above (upstream), ∂L/∂x_t and ∂L/∂h_0, the loss and every gradient per time
step, and stacked layers. Writes rnn_depth.json beside this script; nothing here imports
nnsolve. Run by hand with the torch venv (CI has no torch)::

    /work/torchvenv/bin/python tests/reference/make_rnn_depth.py

A stacked case keeps its per-layer results (results.layers[l]) in ``expected_layers``
beside ``expected`` (the top-level results, which tests/test_reference.py compares too).
Each weight's part at step t is the gradient of its copy used at step t (W_t = W + Δ_t
with Δ_t = 0: ∂L/∂Δ_t). With ``upstream`` the function differentiated is
Σ_t ⟨upstream_t, h_t⟩ (the gradient arriving at h_t from above is upstream_t). Stacked
cases run a loop over layers, and for tanh / relu the same weights copied into
torch.nn.RNN(num_layers=L) must give the same h_t and the same weight, input and initial
state gradients (checked here, before the fixture is written).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_reference import DT, act, loss_fn, out, t  # noqa: E402

torch.set_default_dtype(DT)


def _blocks(problem):
    if "layers" in problem:
        return problem["layers"]
    return [problem["weights"]]


def _grad(p):
    """p.grad as lists; zeros where p took no part (no output at that step)."""
    return out(p.grad if p.grad is not None else torch.zeros_like(p))


def rnn_expected(problem):
    """The results of recurrent.md for a single-layer or stacked Elman RNN, by autograd."""
    blocks = _blocks(problem)
    L = len(blocks)
    stacked = "layers" in problem
    X = t(problem["inputs"], True)
    T = X.shape[0]
    f = act(problem.get("hidden_activation", "tanh"), problem.get("negative_slope", 0.01))
    init = problem.get("initial")
    if init is None:
        init = [{} for _ in blocks]
    elif not isinstance(init, list):
        init = [init]
    Ws, Us, bs, h0s, parts = [], [], [], [], []
    for blk, ini in zip(blocks, init):
        m = len(blk["W"])
        Ws.append(t(blk["W"], True))
        Us.append(t(blk["U"], True))
        bs.append(t(blk.get("b", np.zeros(m)), True))
        h0s.append(t(ini.get("h", np.zeros(m)), True))
        parts.append({name: [torch.zeros_like(p, requires_grad=True) for _ in range(T)]
                      for name, p in (("U", Us[-1]), ("W", Ws[-1]), ("b", bs[-1]))})
    up = problem.get("upstream")
    has_loss = up is None
    if has_loss:
        top = blocks[-1]
        V = t(top["V"], True)
        k = V.shape[0]
        c = t(top.get("c", np.zeros(k)), True)
        Vp = [torch.zeros_like(V, requires_grad=True) for _ in range(T)]
        cp = [torch.zeros_like(c, requires_grad=True) for _ in range(T)]
        g = act(problem["output_activation"])
        every = problem["output"] == "every"
        targets = problem["target"] if every else [problem["target"]]

    def target_vector(y):
        if problem["output_activation"] == "softmax" and isinstance(y, int):
            return F.one_hot(torch.tensor(y), k).to(DT)
        return t(np.reshape(y, (k,)))

    seq = [X[s] for s in range(T)]
    hs_all = []
    for l in range(L):
        h = h0s[l]
        hs = []
        for s in range(T):
            P = parts[l]
            h = f((Us[l] + P["U"][s]) @ seq[s] + (Ws[l] + P["W"][s]) @ h + bs[l] + P["b"][s])
            h.retain_grad()
            hs.append(h)
        hs_all.append(hs)
        seq = hs
    total = torch.zeros((), dtype=DT)
    by_step, yhats = [], []
    if has_loss:
        for s in range(T):
            if every or s == T - 1:
                y_hat = g((V + Vp[s]) @ seq[s] + c + cp[s])
                yhats.append(y_hat)
                Ls = loss_fn(problem["loss"], y_hat, target_vector(targets[len(yhats) - 1]))
                by_step.append(Ls.item())
                total = total + Ls
            else:
                by_step.append(0.0)
    else:
        U = t(up["h"])
        U = U.reshape(T, -1)
        for s in range(T):
            total = total + (U[s] * seq[s]).sum()
    total.backward()

    def layer(l):
        r = {"h": [out(h) for h in hs_all[l]], "dL_dh": [out(h.grad) for h in hs_all[l]],
             "grad_U": out(Us[l].grad), "grad_W": out(Ws[l].grad), "grad_b": out(bs[l].grad),
             "grad_h0": out(h0s[l].grad)}
        for name in ("U", "W", "b"):
            r[f"grad_{name}_by_step"] = [out(p.grad) for p in parts[l][name]]
        return r

    if stacked:
        r = {"layers": [layer(l) for l in range(L)], "h": [out(h) for h in hs_all[-1]]}
    else:
        r = layer(0)
    r["grad_x"] = out(X.grad)
    if has_loss:
        r.update({"loss": total.item(), "loss_by_step": by_step,
                  "y_hat": [out(y) for y in yhats] if every else out(yhats[-1]),
                  "grad_V": out(V.grad), "grad_c": out(c.grad),
                  "grad_V_by_step": [_grad(p) for p in Vp], "grad_c_by_step": [_grad(p) for p in cp]})
    return r


def check_with_nn_rnn(problem, r):
    """torch.nn.RNN(num_layers=L) with the same weights: the same top h_t and gradients."""
    blocks = _blocks(problem)
    L = len(blocks)
    n = len(problem["inputs"][0])
    m = len(blocks[0]["W"])
    assert all(len(b["W"]) == m for b in blocks), "nn.RNN needs one hidden size"
    rnn = torch.nn.RNN(n, m, num_layers=L, nonlinearity=problem["hidden_activation"])
    with torch.no_grad():
        for l, blk in enumerate(blocks):
            getattr(rnn, f"weight_ih_l{l}").copy_(t(blk["U"]))
            getattr(rnn, f"weight_hh_l{l}").copy_(t(blk["W"]))
            getattr(rnn, f"bias_ih_l{l}").copy_(t(blk.get("b", np.zeros(m))))
            getattr(rnn, f"bias_hh_l{l}").zero_()
    X = t(problem["inputs"], True)
    init = problem.get("initial") or [{} for _ in blocks]
    init = init if isinstance(init, list) else [init]
    h0 = t([ini.get("h", np.zeros(m)) for ini in init], True)
    hs, _ = rnn(X[:, None, :], h0[:, None, :])
    hs = hs[:, 0, :]
    assert np.allclose(hs.detach().numpy(), r["h"], rtol=1e-13, atol=1e-14)
    T = X.shape[0]
    if "upstream" in problem:
        total = (t(problem["upstream"]["h"]).reshape(T, -1) * hs).sum()
    else:
        top = blocks[-1]
        V, c = t(top["V"]), t(top.get("c", np.zeros(len(top["V"]))))
        g = act(problem["output_activation"])
        every = problem["output"] == "every"
        targets = problem["target"] if every else [problem["target"]]
        total = torch.zeros((), dtype=DT)
        steps = range(T) if every else [T - 1]
        for i, s in enumerate(steps):
            y = targets[i]
            d = (F.one_hot(torch.tensor(y), len(top["V"])).to(DT)
                 if isinstance(y, int) and problem["output_activation"] == "softmax"
                 else t(np.reshape(y, (len(top["V"]),))))
            total = total + loss_fn(problem["loss"], g(V @ hs[s] + c), d)
    total.backward()
    for l in range(L):
        lr = r["layers"][l] if "layers" in r else r
        assert np.allclose(getattr(rnn, f"weight_ih_l{l}").grad.numpy(), lr["grad_U"], rtol=1e-12, atol=1e-14)
        assert np.allclose(getattr(rnn, f"weight_hh_l{l}").grad.numpy(), lr["grad_W"], rtol=1e-12, atol=1e-14)
        assert np.allclose(getattr(rnn, f"bias_ih_l{l}").grad.numpy(), lr["grad_b"], rtol=1e-12, atol=1e-14)
        assert np.allclose(h0.grad[l].numpy(), lr["grad_h0"], rtol=1e-12, atol=1e-14)
    assert np.allclose(X.grad.numpy(), r["grad_x"], rtol=1e-12, atol=1e-14)


X3 = [[1.0, -0.5], [0.3, 0.8], [-0.7, 0.2]]
L1 = {"U": [[0.6, -0.4], [-0.5, 0.7]], "W": [[0.3, -0.6], [0.5, 0.2]], "b": [0.05, -0.1]}
L2 = {"U": [[0.4, 0.9], [-0.8, 0.3]], "W": [[-0.2, 0.5], [0.6, 0.1]], "b": [-0.05, 0.15]}
L3 = {"U": [[0.7, -0.3], [0.2, 0.5]], "W": [[0.1, 0.4], [-0.5, 0.3]], "b": [0.0, 0.1]}
HEAD_LAST = {"V": [[0.8, -0.6]], "c": [0.1]}
HEAD_EVERY = {"V": [[0.7, -0.4], [-0.5, 0.6]], "c": [0.05, -0.05]}
UP = [[0.3, -0.2], [-0.1, 0.4], [0.5, 0.25]]


def cases():
    specs = []
    for f in ("tanh", "relu", "sigmoid", "linear"):
        specs.append((f"single,last,{f}", {
            "kind": "bptt", "inputs": X3, "hidden_activation": f, "output_activation": "sigmoid",
            "output": "last", "weights": {**L1, **HEAD_LAST}, "initial": {"h": [0.1, -0.2]},
            "target": 1, "loss": "bce"}))
        specs.append((f"single,every,{f}", {
            "kind": "bptt", "inputs": X3, "hidden_activation": f, "output_activation": "softmax",
            "output": "every", "weights": {**L1, **HEAD_EVERY}, "initial": {"h": [0.1, -0.2]},
            "target": [1, 0, 1], "loss": "cross_entropy"}))
        specs.append((f"single,upstream,{f}", {
            "kind": "rnn", "inputs": X3, "hidden_activation": f, "weights": dict(L1),
            "initial": {"h": [0.1, -0.2]}, "upstream": {"h": UP}}))
    for f in ("tanh", "relu"):
        specs.append((f"stacked2,every,{f}", {
            "kind": "bptt", "inputs": X3, "hidden_activation": f, "output_activation": "linear",
            "output": "every", "layers": [dict(L1), {**L2, "V": [[0.9, -0.7]], "c": [0.2]}],
            "initial": [{"h": [0.1, -0.2]}, {"h": [0.3, 0.05]}],
            "target": [0.5, -0.25, 1.0], "loss": "half_sse"}))
        specs.append((f"stacked2,last,{f}", {
            "kind": "rnn", "backward": True, "inputs": X3, "hidden_activation": f,
            "output_activation": "sigmoid", "output": "last",
            "layers": [dict(L1), {**L2, **HEAD_LAST}], "target": 1, "loss": "bce"}))
        specs.append((f"stacked3,upstream,{f}", {
            "kind": "bptt", "inputs": X3, "hidden_activation": f,
            "layers": [dict(L1), dict(L2), dict(L3)],
            "initial": [{"h": [0.1, -0.2]}, {"h": [0.0, 0.0]}, {"h": [-0.3, 0.2]}], "upstream": {"h": UP}}))
    out_cases = []
    for label, p in specs:
        r = rnn_expected(p)
        if p["hidden_activation"] in ("tanh", "relu"):
            check_with_nn_rnn(p, r)
        case = {"id": label, "problem": p, "expected": r}
        if "layers" in r:  # per layer: kept beside "expected", whose entries test_reference.py compares
            case["expected_layers"] = r.pop("layers")
        out_cases.append(case)
    return out_cases


def main():
    doc = {"about": "rnn / bptt additions of recurrent.md (upstream, grad_x, grad_h0, per-step parts, "
                    "stacked layers), float64 autograd; stacked tanh/relu cases checked against "
                    "torch.nn.RNN(num_layers=L)",
           "torch": torch.__version__, "cases": cases()}
    path = HERE / "rnn_depth.json"
    path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path} ({len(doc['cases'])} cases)")


if __name__ == "__main__":
    main()
