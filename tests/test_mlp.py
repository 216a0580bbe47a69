"""The MLP backprop step against a published worked example, a hand-derived tiny case,
an independent NumPy implementation and central finite differences."""
import json

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

from nnsolve.core import solve_text as _solve
from nnsolve.numfmt import to_json


class _R:
    def __init__(self, w):
        self.results = to_json(w.results)


def solve_text(text):
    """The results as the JSON contract carries them."""
    return _R(_solve(text))

MAZUR = """
kind: mlp
input: [0.05, 0.10]
target: [0.01, 0.99]
layers:
  - {weights: [[0.15, 0.20], [0.25, 0.30]], bias: [0.35, 0.35], activation: sigmoid}
  - {weights: [[0.40, 0.45], [0.50, 0.55]], bias: [0.60, 0.60], activation: sigmoid}
loss: half_sse
learning_rate: 0.5
update_bias: false
"""


def test_published_2_2_2_example():
    """Matt Mazur, 'A Step by Step Backpropagation Example' (2015): figures as published."""
    r = solve_text(MAZUR).results
    assert r["output"] == pytest.approx([0.75136507, 0.772928465], abs=1e-8)
    assert r["loss"] == pytest.approx(0.298371109, abs=1e-9)
    W1, W2 = r["weights"]
    assert np.ravel(W2) == pytest.approx([0.35891648, 0.408666186, 0.511301270, 0.561370121], abs=1e-8)
    assert np.ravel(W1) == pytest.approx([0.149780716, 0.19956143, 0.24975114, 0.29950229], abs=1e-8)
    assert r["bias"] == [[0.35, 0.35], [0.6, 0.6]]
    # Mazur: dE_total/dw5 = 0.082167041
    assert r["grad_weights"][1][0][0] == pytest.approx(0.082167041, abs=1e-9)


def test_hand_derived_linear_network():
    # 1-1 linear network: y = w x + b = 2*3 + 1 = 7, d = 4, E = ½(4 − 7)² = 4.5.
    # δ = e φ' = (4 − 7)·1 = −3; ∂E/∂w = −δ x = 9, ∂E/∂b = 3; η = 0.1: w = 2 − 0.9 = 1.1, b = 0.7.
    # After: y = 1.1*3 + 0.7 = 4.0 -> E = 0.
    r = solve_text("""
kind: mlp
input: [3]
target: [4]
layers: [{weights: [[2]], bias: [1], activation: linear}]
learning_rate: 0.1
""").results
    assert r["output"] == [7.0] and r["loss"] == 4.5
    assert r["local_gradients"] == [[-3.0]]
    assert r["grad_weights"] == [[[9.0]]] and r["grad_bias"] == [[3.0]]
    assert r["weights"][0][0][0] == pytest.approx(1.1, abs=1e-15)
    assert r["bias"][0][0] == pytest.approx(0.7, abs=1e-15)
    assert r["loss_after"] == pytest.approx(0.0, abs=1e-20)


def test_seed_example_numbers():
    """Seed 003's network: the forward values the notes print (0.5498, 0.7109, 0.09101, 0.5227)
    and its local gradient 0.1191."""
    r = solve_text(open("problems/mlp_seed.yaml").read()).results
    assert r["output"][0] == pytest.approx(0.5227, abs=5e-5)
    assert r["local_gradients"][1][0] == pytest.approx(0.1191, abs=5e-5)
    # η = 0.05 as stated: Δw_k1 = 0.05 · 0.1191 · 0.5498 ≈ 0.003274
    assert r["weights"][1][0][0] - 0.4 == pytest.approx(0.05 * 0.11906781576 * 0.549833997, abs=1e-9)


# ---- an independent implementation ----------------------------------------------------

def act(name, v, a=1.0):
    if name == "sigmoid":
        return 1 / (1 + np.exp(-a * v))
    if name == "tanh":
        return np.tanh(v)
    if name == "relu":
        return np.where(v > 0, v, 0.0)
    if name == "linear":
        return v
    e = np.exp(v - v.max())
    return e / e.sum()


def loss_fn(name, d, y):
    return {"half_sse": lambda: 0.5 * np.sum((d - y) ** 2),
            "mse": lambda: np.mean((d - y) ** 2),
            "bce": lambda: -np.sum(d * np.log(y) + (1 - d) * np.log(1 - y)),
            "cross_entropy": lambda: -np.sum(d * np.log(y))}[name]()


def net_loss(Ws, bs, acts, x, d, loss, a=1.0):
    y = x
    vs = []
    for W, b, f in zip(Ws, bs, acts):
        v = W @ y + b
        vs.append(v)
        y = act(f, v, a)
    return loss_fn(loss, d, y), vs


@st.composite
def networks(draw):
    depth = draw(st.integers(1, 3))
    sizes = [draw(st.integers(1, 4)) for _ in range(depth + 1)]
    hidden = st.sampled_from(["sigmoid", "tanh", "relu", "linear"])
    loss = draw(st.sampled_from(["half_sse", "mse", "bce", "cross_entropy"]))
    acts = [draw(hidden) for _ in range(depth - 1)]
    if loss == "cross_entropy":
        last = "softmax"
    elif loss == "bce":
        last = "sigmoid"
    else:
        last = draw(st.sampled_from(["sigmoid", "tanh", "linear", "softmax"]))
    if last == "softmax" and sizes[-1] == 1:
        sizes[-1] = 2
    acts.append(last)
    val = st.floats(-1.5, 1.5, allow_nan=False).map(lambda v: round(v, 3))
    Ws = [np.array([[draw(val) for _ in range(sizes[l])] for _ in range(sizes[l + 1])]) for l in range(depth)]
    bs = [np.array([draw(val) for _ in range(sizes[l + 1])]) for l in range(depth)]
    x = np.array([draw(val) for _ in range(sizes[0])])
    if loss == "cross_entropy":
        d = np.zeros(sizes[-1])
        d[draw(st.integers(0, sizes[-1] - 1))] = 1.0
    elif loss == "bce" or last == "sigmoid":
        d = np.array([draw(st.sampled_from([0.0, 0.2, 0.9, 1.0])) for _ in range(sizes[-1])])
    else:
        d = np.array([draw(val) for _ in range(sizes[-1])])
    slope = draw(st.sampled_from([1.0, 1.0, 0.5, 2.0]))
    eta = draw(st.sampled_from([0.1, 0.5, 1.0]))
    return Ws, bs, acts, x, d, loss, slope, eta


def problem_text(Ws, bs, acts, x, d, loss, slope, eta):
    layers = [{"weights": W.tolist(), "bias": b.tolist(), "activation": f} for W, b, f in zip(Ws, bs, acts)]
    return json.dumps({"kind": "mlp", "input": x.tolist(), "target": d.tolist(), "layers": layers,
                       "loss": loss, "learning_rate": eta, "slope": slope})  # JSON is YAML


@settings(max_examples=60, deadline=None)
@given(networks())
def test_gradients_match_finite_differences(net):
    Ws, bs, acts, x, d, loss, slope, eta = net
    _, vs = net_loss(Ws, bs, acts, x, d, loss, slope)
    assume(all(np.all(np.abs(v) > 1e-3) for v, f in zip(vs, acts) if f == "relu"))  # no kinks
    r = solve_text(problem_text(*net)).results
    E0, _ = net_loss(Ws, bs, acts, x, d, loss, slope)
    assert r["loss"] == pytest.approx(E0, rel=1e-12, abs=1e-12)
    h = 1e-6
    for l in range(len(Ws)):
        gW = np.zeros_like(Ws[l])
        for j in range(Ws[l].shape[0]):
            for i in range(Ws[l].shape[1]):
                Wp = [W.copy() for W in Ws]
                Wm = [W.copy() for W in Ws]
                Wp[l][j, i] += h
                Wm[l][j, i] -= h
                gW[j, i] = (net_loss(Wp, bs, acts, x, d, loss, slope)[0] - net_loss(Wm, bs, acts, x, d, loss, slope)[0]) / (2 * h)
        gb = np.zeros_like(bs[l])
        for j in range(len(bs[l])):
            bp = [b.copy() for b in bs]
            bm = [b.copy() for b in bs]
            bp[l][j] += h
            bm[l][j] -= h
            gb[j] = (net_loss(Ws, bp, acts, x, d, loss, slope)[0] - net_loss(Ws, bm, acts, x, d, loss, slope)[0]) / (2 * h)
        assert np.array(r["grad_weights"][l]) == pytest.approx(gW, abs=1e-7, rel=1e-6)
        assert np.array(r["grad_bias"][l]) == pytest.approx(gb, abs=1e-7, rel=1e-6)
        # Haykin's local gradient is δ = −∂E/∂v = −∂E/∂b
        assert np.array(r["local_gradients"][l]) == pytest.approx(-gb, abs=1e-7, rel=1e-6)
        # the update is w ← w − η ∂E/∂w (exactly, from the reported gradient)
        assert np.array(r["weights"][l]) == pytest.approx(Ws[l] - eta * np.array(r["grad_weights"][l]), abs=1e-14)
        assert np.array(r["bias"][l]) == pytest.approx(bs[l] - eta * np.array(r["grad_bias"][l]), abs=1e-14)
    new_W = [np.array(W) for W in r["weights"]]
    new_b = [np.array(b) for b in r["bias"]]
    assert r["loss_after"] == pytest.approx(net_loss(new_W, new_b, acts, x, d, loss, slope)[0], rel=1e-12, abs=1e-12)


def test_update_bias_false_keeps_biases():
    r = solve_text(MAZUR).results
    assert r["bias"] == [[0.35, 0.35], [0.6, 0.6]]
    assert r["grad_bias"][1] == pytest.approx(-np.array(r["local_gradients"][1]))


def test_result_shapes_are_kept():
    r = solve_text(open("problems/mlp_seed.yaml").read()).results
    assert isinstance(r["output"], list) and len(r["output"]) == 1
    assert len(r["local_gradients"]) == 2 and len(r["local_gradients"][1]) == 1
    assert np.array(r["grad_weights"][1]).shape == (1, 2) and np.array(r["weights"][0]).shape == (2, 2)


# PyTorch autograd in float64, stored: tests/reference/mlp_autograd.json holds random networks
# drawn as networks() draws them, with torch's values (tests/reference/make_reference.py).
def _torch_cases(name):
    from pathlib import Path
    return json.loads((Path(__file__).resolve().parent / "reference" / name).read_text(encoding="utf-8"))["cases"]


_TORCH_MLP = _torch_cases("mlp_autograd.json")


@pytest.mark.parametrize("case", _TORCH_MLP, ids=[c["id"] for c in _TORCH_MLP])
def test_gradients_match_torch_autograd(case):
    """PyTorch autograd in float64 (values stored by tests/reference/make_reference.py), to 1e-9."""
    want = case["expected"]
    r = solve_text(json.dumps(case["problem"])).results
    assert r["loss"] == pytest.approx(want["loss"], rel=1e-12, abs=1e-12)
    assert r["output"] == pytest.approx(want["output"], rel=1e-12, abs=1e-12)
    for l in range(len(case["problem"]["layers"])):
        assert np.array(r["grad_weights"][l]) == pytest.approx(np.array(want["grad_weights"][l]), abs=1e-9, rel=1e-9)
        assert np.array(r["grad_bias"][l]) == pytest.approx(np.array(want["grad_bias"][l]), abs=1e-9, rel=1e-9)
