"""PyTorch reference values for mlp training over several samples and epochs (classical.md,
"mlp: training over several samples and epochs"), written as tests/reference/mlp_training.json.

Run it by hand in the separate torch environment (never the project's venv); its output is
committed and the tests need no torch::

    /work/torchvenv/bin/python tests/reference/make_mlp_training.py

Everything is float64; nothing here imports nnsolve. Each case is ``{"id", "problem",
"expected", "expected_history"}``: ``problem`` the dict of the YAML file nnsolve reads,
``expected`` epoch_loss, final_weights and final_bias (tests/test_reference.py compares
them), ``expected_history`` the per-update entries {epoch, batch, loss, weights, bias}
(tests/test_mlp_training.py compares them).

How torch computes them: nn.Linear-like parameters (W: outputs × inputs, b) as leaf tensors;
the forward pass y = φ(W y + b) layer by layer; each sample's loss (half_sse: ½ Σ (d − y)²,
mse: mean over outputs of (d − y)², bce: F.binary_cross_entropy_with_logits summed over the
outputs, cross_entropy: −Σ d log_softmax(v)); a batch's loss is the sum or the mean of its
samples' losses (``reduction``), backpropagated by autograd; the step is torch.optim.SGD
(lr = η, momentum = α, dampening 0). torch keeps the buffer v(t) = α v(t−1) + g and steps
w ← w − η v(t); the notes' ΔW(t) = α ΔW(t−1) + η g is η v(t), so the weights are the same
for a fixed η (only the buffer differs by the factor η). update_bias false: the biases are
not given to the optimizer (requires_grad False). epoch_loss: the mean over the epoch's
samples of each sample's loss, computed with the weights it was presented to (the losses
of the batch before its update).
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
OUT = Path(__file__).resolve().parent / "mlp_training.json"

ACT = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "linear": lambda v: v,
       "softmax": lambda v: torch.softmax(v, dim=-1)}


def sample_loss(name, v, y, d):
    if name == "half_sse":
        return 0.5 * ((d - y) ** 2).sum()
    if name == "mse":
        return ((d - y) ** 2).mean()
    if name == "bce":
        return F.binary_cross_entropy_with_logits(v, d, reduction="sum")
    if name == "cross_entropy":
        return -(d * torch.log_softmax(v, dim=-1)).sum()
    raise KeyError(name)


def train(problem):
    layers = problem["layers"]
    update_bias = problem.get("update_bias", True)
    Ws = [torch.tensor(L["weights"], requires_grad=True) for L in layers]
    bs = [torch.tensor(L.get("bias", [0.0] * len(L["weights"])), requires_grad=update_bias) for L in layers]
    acts = [L.get("activation", "sigmoid") for L in layers]
    params = Ws + (bs if update_bias else [])
    opt = torch.optim.SGD(params, lr=problem.get("learning_rate", 1.0), momentum=problem.get("momentum") or 0.0)
    X = [torch.tensor(s["x"], dtype=torch.float64) for s in problem["samples"]]
    D = [torch.tensor(s["d"], dtype=torch.float64) for s in problem["samples"]]
    N = len(X)
    mode = problem.get("mode", "online")
    size = {"online": 1, "batch": N}.get(mode, problem.get("batch_size"))
    batches = [list(range(s, min(s + size, N))) for s in range(0, N, size)]
    history, epoch_loss = [], []
    for epoch in range(1, problem.get("epochs", 1) + 1):
        losses = []
        for b, ks in enumerate(batches, start=1):
            opt.zero_grad()
            per = []
            for k in ks:
                y = X[k]
                for W, bias, act in zip(Ws, bs, acts):
                    v = W @ y + bias
                    y = ACT[act](v)
                per.append(sample_loss(problem.get("loss", "half_sse"), v, y, D[k]))
            total = torch.stack(per).sum()
            loss = total / len(ks) if problem.get("reduction", "sum") == "mean" else total
            loss.backward()
            opt.step()
            losses += [float(e) for e in per]
            history.append({"epoch": epoch, "batch": b, "loss": float(loss),
                            "weights": [W.detach().tolist() for W in Ws],
                            "bias": [bias.detach().tolist() for bias in bs]})
        epoch_loss.append(sum(losses) / N)
    return {"epoch_loss": epoch_loss, "final_weights": [W.detach().tolist() for W in Ws],
            "final_bias": [b.detach().tolist() for b in bs]}, history


XOR = [{"x": [0, 0], "d": [0]}, {"x": [0, 1], "d": [1]}, {"x": [1, 0], "d": [1]}, {"x": [1, 1], "d": [0]}]
NET = [{"weights": [[0.5, -0.4], [0.3, 0.8]], "bias": [0.1, -0.2], "activation": "sigmoid"},
       {"weights": [[0.7, -0.6]], "bias": [0.05], "activation": "sigmoid"}]

CASES = [
    ("online_half_sse", {"kind": "mlp", "layers": NET, "loss": "half_sse", "learning_rate": 0.5,
                         "samples": XOR, "epochs": 2, "mode": "online"}),
    ("batch_mean_mse_tanh", {"kind": "mlp", "layers": [
        {"weights": [[0.2, -0.1, 0.4], [-0.3, 0.5, 0.1]], "bias": [0.0, 0.1], "activation": "tanh"},
        {"weights": [[0.6, -0.2], [0.1, 0.3]], "bias": [0.05, -0.05], "activation": "linear"}],
        "loss": "mse", "learning_rate": 0.1, "epochs": 3, "mode": "batch", "reduction": "mean",
        "samples": [{"x": [1, 0, -1], "d": [0.5, -0.5]}, {"x": [0.5, 1, 0], "d": [1, 0]},
                    {"x": [-1, 2, 1], "d": [0, 1]}]}),
    ("minibatch_sum_momentum", {"kind": "mlp", "layers": NET, "loss": "half_sse", "learning_rate": 0.5,
                                "samples": XOR, "epochs": 3, "mode": "minibatch", "batch_size": 2,
                                "reduction": "sum", "momentum": 0.9}),
    ("minibatch_short_mean_softmax_ce_momentum", {"kind": "mlp", "layers": [
        {"weights": [[0.1, 0.2], [-0.3, 0.4], [0.5, -0.1]], "bias": [0.0, 0.1, -0.1], "activation": "relu"},
        {"weights": [[0.3, -0.2, 0.1], [0.2, 0.4, -0.5]], "bias": [0.0, 0.0], "activation": "softmax"}],
        "loss": "cross_entropy", "learning_rate": 0.3, "epochs": 4, "mode": "minibatch", "batch_size": 2,
        "reduction": "mean", "momentum": 0.5,
        "samples": [{"x": [1, 2], "d": [1, 0]}, {"x": [2, -1], "d": [0, 1]}, {"x": [-1, 1], "d": [1, 0]},
                    {"x": [0.5, 0.5], "d": [0, 1]}, {"x": [1.5, -0.5], "d": [0, 1]}]}),
    ("online_bce_fixed_bias", {"kind": "mlp", "layers": [
        {"weights": [[0.4, -0.7]], "bias": [0.2], "activation": "sigmoid"}],
        "loss": "bce", "learning_rate": 1.0, "epochs": 3, "mode": "online", "update_bias": False,
        "samples": [{"x": [1, 1], "d": [1]}, {"x": [1, -1], "d": [0]}, {"x": [-1, 1], "d": [0]}]}),
    ("batch_sum_momentum_two_outputs", {"kind": "mlp", "layers": [
        {"weights": [[0.15, 0.20], [0.25, 0.30]], "bias": [0.35, 0.35], "activation": "sigmoid"},
        {"weights": [[0.40, 0.45], [0.50, 0.55]], "bias": [0.60, 0.60], "activation": "sigmoid"}],
        "loss": "half_sse", "learning_rate": 0.5, "epochs": 5, "mode": "batch", "momentum": 0.8,
        "samples": [{"x": [0.05, 0.10], "d": [0.01, 0.99]}, {"x": [0.9, 0.2], "d": [0.7, 0.2]}]}),
]


def main():
    cases = []
    for cid, problem in CASES:
        expected, history = train(problem)
        cases.append({"id": cid, "problem": problem, "expected": expected, "expected_history": history})
    OUT.write_text(json.dumps({"cases": cases}, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({len(cases)} cases)")


if __name__ == "__main__":
    main()
