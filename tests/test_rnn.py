"""kind: rnn / bptt — Elman RNN forward pass and backpropagation through time.

Expected values never come from nnsolve itself: an independent NumPy forward pass written
here and central finite differences of its loss, hand-derived tiny cases, PyTorch autograd
(when installed), and identities (the per-step parts sum to the total)."""
from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from nnsolve.cli import cli
from nnsolve.core import solve_file, solve_text
from nnsolve.render.json import render as render_json

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = ["h", "y_hat", "loss", "grad_U", "grad_W", "grad_b", "grad_V", "grad_c", "dL_dh", "grad_W_by_step"]


# -- an independent reference: forward pass and loss in plain NumPy ------------------------

def _act(name, v):
    if name == "tanh":
        return np.tanh(v)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-v))
    if name == "relu":
        return np.where(v > 0, v, 0.0)
    if name == "softmax":
        e = np.exp(v - v.max())
        return e / e.sum()
    return v


def _step_loss(loss, yhat, y):
    if loss == "bce":
        return -np.sum(y * np.log(yhat) + (1 - y) * np.log(1 - yhat))
    if loss == "cross_entropy":
        return -np.sum(y * np.log(yhat))
    if loss == "half_sse":
        return 0.5 * np.sum((y - yhat) ** 2)
    return np.mean((y - yhat) ** 2)


def ref_forward(P, params, frozen=None, window_start=1):
    """Returns (hs, yhats, loss).  With ``frozen`` (the parameters of the first
    window_start − 1 steps, held fixed), the steps before the window use them and their
    loss terms are left out: the function whose gradient truncated BPTT computes."""
    U, W, b, V, c = (params[k] for k in ("U", "W", "b", "V", "c"))
    h = np.array(P["h0"], dtype=float)
    T = len(P["X"])
    hs, yhats, loss = [], [], 0.0
    for t in range(1, T + 1):
        q = frozen if (frozen is not None and t < window_start) else params
        a = q["U"] @ P["X"][t - 1] + q["W"] @ h + q["b"]
        h = _act(P["f"], a)
        hs.append(h)
        if P["output"] == "every" or t == T:
            yhat = _act(P["g"], q["V"] @ h + q["c"])
            yhats.append(yhat)
            if frozen is None or t >= window_start:
                y = P["targets"][t - 1] if P["output"] == "every" else P["targets"][0]
                loss += _step_loss(P["loss"], yhat, y)
    return np.array(hs), yhats, loss


def central_diff(fn, params, name, eps=1e-4):
    """Five-point central differences: error O(eps⁴) from the step, O(1e-16 · L / eps) from
    rounding; the plain two-point form with eps = 1e-6 was off by 4e-6 on a saturated
    sigmoid output (a failure hypothesis found)."""
    g = np.zeros_like(params[name])

    def at(idx, step):
        q = {k: v.copy() for k, v in params.items()}
        q[name][idx] += step
        return fn(q)
    for idx in np.ndindex(*params[name].shape):
        g[idx] = (-at(idx, 2 * eps) + 8 * at(idx, eps) - 8 * at(idx, -eps) + at(idx, -2 * eps)) / (12 * eps)
    return g


def to_yaml(P, kind="bptt", **extra) -> str:
    doc = {"kind": kind, "inputs": P["X"].tolist(), "hidden_activation": P["f"],
           "output_activation": P["g"], "output": P["output"],
           "weights": {k: np.asarray(P[k]).tolist() for k in ("U", "W", "b", "V", "c")},
           "initial": {"h": np.asarray(P["h0"]).tolist()}, "loss": P["loss"]}
    if "target_yaml" in P:
        doc["target"] = P["target_yaml"]
    doc.update(extra)
    return yaml.safe_dump(doc)


@st.composite
def problems(draw):
    m = draw(st.integers(1, 4))
    n = draw(st.integers(1, 4))
    T = draw(st.integers(1, 5))
    f = draw(st.sampled_from(["tanh", "relu", "sigmoid", "linear"]))
    g = draw(st.sampled_from(["sigmoid", "softmax", "linear", "tanh"]))
    k = draw(st.integers(2, 3)) if g == "softmax" else draw(st.integers(1, 3))
    loss = draw(st.sampled_from(["bce", "cross_entropy", "half_sse", "mse"] if g in ("sigmoid", "softmax")
                                else ["half_sse", "mse"]))
    output = draw(st.sampled_from(["last", "every"]))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    rng = np.random.default_rng(seed)
    P = {"m": m, "n": n, "k": k, "T": T, "f": f, "g": g, "loss": loss, "output": output,
         "X": rng.normal(size=(T, n)), "U": rng.uniform(-1, 1, (m, n)), "W": rng.uniform(-1, 1, (m, m)),
         "b": rng.uniform(-0.5, 0.5, m), "V": rng.uniform(-1, 1, (k, m)), "c": rng.uniform(-0.5, 0.5, k),
         "h0": rng.uniform(-0.5, 0.5, m)}
    targets, yaml_targets = [], []
    for _ in range(T if output == "every" else 1):
        if g == "softmax" and loss == "cross_entropy":
            if rng.random() < 0.5:
                cls = int(rng.integers(0, k))
                y = np.eye(k)[cls]
                yaml_targets.append(cls)
            else:
                y = rng.dirichlet(np.ones(k))
                yaml_targets.append(y.tolist())
        elif loss in ("bce", "cross_entropy"):
            y = rng.uniform(0, 1, k)
            yaml_targets.append(y.tolist())
        else:
            y = rng.normal(size=k)
            yaml_targets.append(y.tolist())
        targets.append(y)
    P["targets"] = targets
    P["target_yaml"] = yaml_targets if output == "every" else yaml_targets[0]
    return P


def params_of(P):
    return {k: np.array(P[k], dtype=float) for k in ("U", "W", "b", "V", "c")}


def away_from_relu_kinks(P):
    """ReLU has no derivative at 0: finite differences there say nothing."""
    if P["f"] != "relu":
        return True
    h = np.array(P["h0"], dtype=float)
    for x in P["X"]:
        a = P["U"] @ x + P["W"] @ h + P["b"]
        if np.min(np.abs(a)) < 1e-3:
            return False
        h = np.maximum(a, 0)
    return True


# -- properties ------------------------------------------------------------------------------

@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_gradients_match_finite_differences(P):
    assume(away_from_relu_kinks(P))
    w = solve_text(to_yaml(P))
    r = w.results
    params = params_of(P)
    hs, yhats, loss = ref_forward(P, params)
    # 1e-9: the reference takes ln(1 − ŷ) of a rounded ŷ, nnsolve from the logits (exact); with
    # ŷ ≈ 1 − 2e-6 (softmax + bce) they differ by 1e-12 relative, the reference's rounding
    assert r["loss"] == pytest.approx(loss, rel=1e-9, abs=1e-12)
    np.testing.assert_allclose(r["h"], hs, rtol=1e-12, atol=1e-12)
    if P["output"] == "every":
        np.testing.assert_allclose(r["y_hat"], np.array(yhats), rtol=1e-12, atol=1e-12)
    else:
        np.testing.assert_allclose(r["y_hat"], yhats[-1], rtol=1e-12, atol=1e-12)
    fn = lambda q: ref_forward(P, q)[2]
    for name in ("U", "W", "b", "V", "c"):
        fd = central_diff(fn, params, name)
        got = np.asarray(r["grad_" + name])
        assert got.shape == fd.shape, name
        np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-6, err_msg=f"grad_{name}")
    # ∂L/∂h_t: perturb h_t itself (a bump added after step t) in the reference
    dldh = np.asarray(r["dL_dh"])
    assert dldh.shape == (P["T"], P["m"])
    # the per-step parts of ∂L/∂W sum to ∂L/∂W
    by_step = np.asarray(r["grad_W_by_step"])
    assert by_step.shape == (P["T"], P["m"], P["m"])
    np.testing.assert_allclose(by_step.sum(axis=0), r["grad_W"], rtol=1e-12, atol=1e-12)
    # every result is a list of the documented shape in JSON, even for one element
    out = json.loads(render_json(w))["results"]
    assert np.shape(out["grad_b"]) == (P["m"],) and np.shape(out["grad_c"]) == (P["k"],)
    assert np.shape(out["grad_U"]) == (P["m"], P["n"]) and np.shape(out["grad_V"]) == (P["k"], P["m"])
    assert np.shape(out["h"]) == (P["T"], P["m"])
    assert np.shape(out["y_hat"]) == ((P["T"], P["k"]) if P["output"] == "every" else (P["k"],))


def _dl_dh_by_differences(P, params, t, eps=1e-6):
    """∂L/∂h_t of the reference: the loss as a function of h_t, the later steps recomputed."""
    T = P["T"]
    hs, _, _ = ref_forward(P, params)
    g = np.zeros(P["m"])
    for j in range(P["m"]):
        total = []
        for s in (eps, -eps):
            h = hs[t - 1].copy()
            h[j] += s
            loss = 0.0
            if P["output"] == "every" or t == T:
                y = P["targets"][t - 1] if P["output"] == "every" else P["targets"][0]
                loss += _step_loss(P["loss"], _act(P["g"], params["V"] @ h + params["c"]), y)
            for u in range(t + 1, T + 1):
                h = _act(P["f"], params["U"] @ P["X"][u - 1] + params["W"] @ h + params["b"])
                if P["output"] == "every" or u == T:
                    y = P["targets"][u - 1] if P["output"] == "every" else P["targets"][0]
                    loss += _step_loss(P["loss"], _act(P["g"], params["V"] @ h + params["c"]), y)
            total.append(loss)
        g[j] = (total[0] - total[1]) / (2 * eps)
    return g


@settings(max_examples=30, deadline=None)
@given(problems())
def test_dl_dh_matches_finite_differences(P):
    assume(away_from_relu_kinks(P))
    r = solve_text(to_yaml(P)).results
    params = params_of(P)
    for t in range(1, P["T"] + 1):
        np.testing.assert_allclose(r["dL_dh"][t - 1], _dl_dh_by_differences(P, params, t),
                                   rtol=1e-6, atol=1e-6, err_msg=f"dL/dh_{t}")


@settings(max_examples=30, deadline=None)
@given(problems(), st.integers(1, 5))
def test_truncated_bptt_is_the_gradient_of_the_window(P, k):
    """truncate: k = the gradient of the loss of steps T−k+1 … T, with the steps before
    computed by the (fixed) original weights: checked by finite differences of that."""
    assume(away_from_relu_kinks(P))
    k = min(k, P["T"])
    r = solve_text(to_yaml(P, truncate=k)).results
    params = params_of(P)
    start = P["T"] - k + 1
    assert r["truncate_start"] == start
    frozen = {name: v.copy() for name, v in params.items()}
    fn = lambda q: ref_forward(P, q, frozen=frozen, window_start=start)[2]
    for name in ("U", "W", "b", "V", "c"):
        np.testing.assert_allclose(r["grad_" + name], central_diff(fn, params, name), rtol=1e-6, atol=1e-6,
                                   err_msg=f"grad_{name}, truncate {k}")
    np.testing.assert_allclose(np.sum(r["grad_W_by_step"], axis=0), r["grad_W"], rtol=1e-12, atol=1e-12)
    assert np.all(np.asarray(r["grad_W_by_step"])[:start - 1] == 0)
    assert r["loss"] == pytest.approx(ref_forward(P, params)[2], rel=1e-12, abs=1e-12)  # the whole loss


@settings(max_examples=25, deadline=None)
@given(problems())
def test_truncate_T_is_full_bptt(P):
    full = solve_text(to_yaml(P)).results
    trunc = solve_text(to_yaml(P, truncate=P["T"])).results
    for name in ("grad_U", "grad_W", "grad_b", "grad_V", "grad_c", "dL_dh", "grad_W_by_step"):
        np.testing.assert_array_equal(trunc[name], full[name])


@settings(max_examples=25, deadline=None)
@given(problems(), st.floats(0.01, 5.0))
def test_clip(P, clip):
    r = solve_text(to_yaml(P, clip=clip, learning_rate=0.1)).results
    grads = [np.asarray(r[f"grad_{n}"]) for n in ("U", "W", "b", "V", "c")]
    before = math.sqrt(sum(float(np.sum(g ** 2)) for g in grads))
    assert r["grad_norm"] == pytest.approx(before, rel=1e-12)
    clipped = [np.asarray(r[f"grad_{n}_clipped"]) for n in ("U", "W", "b", "V", "c")]
    after = math.sqrt(sum(float(np.sum(g ** 2)) for g in clipped))
    assert r["grad_norm_clipped"] == pytest.approx(after, rel=1e-12)
    if before > clip:
        assert r["clipped"] is True
        assert after == pytest.approx(clip, rel=1e-12)
        for g, gc in zip(grads, clipped):  # same direction, scaled by clip / norm
            np.testing.assert_allclose(gc, g * (clip / before), rtol=1e-12, atol=1e-15)
    else:
        assert r["clipped"] is False
        for g, gc in zip(grads, clipped):
            np.testing.assert_array_equal(gc, g)
    for n, gc in zip(("U", "W", "b", "V", "c"), clipped):  # the update uses the clipped gradients
        np.testing.assert_allclose(r[n], np.asarray(P[n]) - 0.1 * gc, rtol=1e-12, atol=1e-15)


@settings(max_examples=25, deadline=None)
@given(problems())
def test_jacobian_norms_against_direct_products(P):
    """‖∂h_T/∂h_t‖₂ from the running product equals the product written out per t."""
    r = solve_text(to_yaml(P)).results
    T, m = P["T"], P["m"]
    hs, _, _ = ref_forward(P, params_of(P))
    h_prev = np.vstack([np.asarray(P["h0"])[None, :], hs])
    for t in range(1, T + 1):
        J = np.eye(m)
        for s in range(t + 1, T + 1):
            a = P["U"] @ P["X"][s - 1] + P["W"] @ h_prev[s - 1] + P["b"]
            d = {"tanh": 1 - np.tanh(a) ** 2, "sigmoid": _act("sigmoid", a) * (1 - _act("sigmoid", a)),
                 "relu": (a > 0).astype(float), "linear": np.ones(m)}[P["f"]]
            J = (d[:, None] * P["W"]) @ J
        assert r["jacobian_norms"][t - 1] == pytest.approx(np.linalg.norm(J, 2), rel=1e-9, abs=1e-300)


# -- PyTorch autograd, stored in tests/reference/ -----------------------------------------

_TORCH_RNN = json.loads((ROOT / "tests" / "reference" / "rnn_autograd.json").read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("case", _TORCH_RNN, ids=[c["id"] for c in _TORCH_RNN])
def test_against_torch_autograd(case):
    """Random problems as problems() draws them, with torch's loss and gradients (float64
    autograd), stored by tests/reference/make_reference.py."""
    r = solve_text(yaml.safe_dump(case["problem"])).results
    want = case["expected"]
    assert r["loss"] == pytest.approx(want["loss"], rel=1e-9, abs=1e-12)
    for k in ("U", "W", "b", "V", "c"):
        np.testing.assert_allclose(r["grad_" + k], want["grad_" + k], rtol=1e-9, atol=1e-12)


# -- hand-derived tiny cases ---------------------------------------------------------------

LINEAR = """\
kind: bptt
inputs: [1, 2]
hidden_activation: linear
output_activation: linear
weights: {U: 0.5, W: 0.8, b: 0.1, V: 2, c: 0}
target: 3
loss: half_sse
learning_rate: 0.1
"""


def test_hand_derived_linear_T2():
    # a1 = 0.5·1 + 0.8·0 + 0.1 = 0.6 = h1;  a2 = 0.5·2 + 0.8·0.6 + 0.1 = 1.58 = h2
    # o2 = ŷ = 2·1.58 = 3.16;  L = ½ (3 − 3.16)² = 0.0128
    # ∂L/∂o2 = ŷ − y = 0.16;  ∂L/∂h2 = V · 0.16 = 0.32 = δ2 (f' = 1)
    # ∂L/∂h1 = W δ2 = 0.8 · 0.32 = 0.256 = δ1
    # ∂L/∂W = δ2 h1 + δ1 h0 = 0.32 · 0.6 + 0 = 0.192   (parts by step: 0, 0.192)
    # ∂L/∂U = δ2 x2 + δ1 x1 = 0.64 + 0.256 = 0.896;  ∂L/∂b = 0.32 + 0.256 = 0.576
    # ∂L/∂V = 0.16 · h2 = 0.2528;  ∂L/∂c = 0.16
    # update with η = 0.1: U 0.4104, W 0.7808, b 0.0424, V 1.97472, c −0.016
    r = solve_text(LINEAR).results
    assert r["h"] == pytest.approx(np.array([[0.6], [1.58]]), abs=1e-15)
    assert r["y_hat"] == pytest.approx([3.16], abs=1e-15)
    assert r["loss"] == pytest.approx(0.0128, abs=1e-15)
    assert np.shape(r["grad_W"]) == (1, 1) and np.shape(r["grad_b"]) == (1,)
    assert r["grad_W"][0][0] == pytest.approx(0.192, abs=1e-15)
    assert r["grad_U"][0][0] == pytest.approx(0.896, abs=1e-15)
    assert r["grad_b"][0] == pytest.approx(0.576, abs=1e-15)
    assert r["grad_V"][0][0] == pytest.approx(0.2528, abs=1e-15)
    assert r["grad_c"][0] == pytest.approx(0.16, abs=1e-15)
    assert r["dL_dh"] == pytest.approx(np.array([[0.256], [0.32]]), abs=1e-15)
    assert np.asarray(r["grad_W_by_step"]).reshape(-1) == pytest.approx([0.0, 0.192], abs=1e-15)
    assert r["U"][0][0] == pytest.approx(0.4104, abs=1e-15)
    assert r["W"][0][0] == pytest.approx(0.7808, abs=1e-15)
    assert r["b"][0] == pytest.approx(0.0424, abs=1e-15)
    assert r["V"][0][0] == pytest.approx(1.97472, abs=1e-15)
    assert r["c"][0] == pytest.approx(-0.016, abs=1e-15)
    # ∂h2/∂h1 = f'(a2) W = 0.8; ∂h2/∂h2 = 1
    assert r["jacobian_norms"] == pytest.approx([0.8, 1.0], abs=1e-15)
    # the gradient norm: √(0.896² + 0.192² + 0.576² + 0.2528² + 0.16²) = √1.26096384
    assert r["grad_norm"] == pytest.approx(math.sqrt(1.26096384), rel=1e-14)


def test_hand_derived_truncate_1():
    # truncate: 1 keeps only step 2, with h1 = 0.6 a constant:
    # ∂L/∂W = δ2 h1 = 0.192, ∂L/∂U = δ2 x2 = 0.64, ∂L/∂b = δ2 = 0.32, ∂L/∂h1 not formed (0);
    # ∂L/∂V = 0.2528 and ∂L/∂c = 0.16 as before (the output is at step 2).
    r = solve_text(LINEAR + "truncate: 1\n").results
    assert r["grad_W"][0][0] == pytest.approx(0.192, abs=1e-15)
    assert r["grad_U"][0][0] == pytest.approx(0.64, abs=1e-15)
    assert r["grad_b"][0] == pytest.approx(0.32, abs=1e-15)
    assert r["grad_V"][0][0] == pytest.approx(0.2528, abs=1e-15)
    assert r["grad_c"][0] == pytest.approx(0.16, abs=1e-15)
    assert r["dL_dh"] == pytest.approx(np.array([[0.0], [0.32]]), abs=1e-15)


def test_hand_derived_clip():
    # ‖g‖ = √1.26096384 ≈ 1.12293 > 0.5: every gradient times 0.5 / ‖g‖; W ← 0.8 − 0.1 · 0.192 · 0.5/‖g‖
    r = solve_text(LINEAR + "clip: 0.5\n").results
    scale = 0.5 / math.sqrt(1.26096384)
    assert r["clipped"] is True
    assert r["grad_norm_clipped"] == pytest.approx(0.5, rel=1e-14)
    assert r["grad_W_clipped"][0][0] == pytest.approx(0.192 * scale, rel=1e-14)
    assert r["W"][0][0] == pytest.approx(0.8 - 0.1 * 0.192 * scale, rel=1e-14)
    assert r["grad_W"][0][0] == pytest.approx(0.192, abs=1e-15)  # the contract's gradient is not clipped


def test_hand_derived_tanh_sigmoid_bce_T2():
    # f = tanh, g = σ, bce; U = 1, W = 0.5, V = 1, b = c = 0, x = [1, −1], y = 1
    # h1 = tanh(1);  h2 = tanh(−1 + 0.5 h1);  ŷ = σ(h2);  L = −ln ŷ
    # ∂L/∂o2 = ŷ − 1;  δ2 = (1 − h2²)(ŷ − 1);  δ1 = (1 − h1²) · 0.5 δ2
    # ∂L/∂W = δ2 h1;  ∂L/∂U = δ2 · (−1) + δ1 · 1;  ∂L/∂V = (ŷ − 1) h2
    h1 = math.tanh(1.0)
    h2 = math.tanh(-1.0 + 0.5 * h1)
    yh = 1 / (1 + math.exp(-h2))
    d2 = (1 - h2 ** 2) * (yh - 1)
    d1 = (1 - h1 ** 2) * 0.5 * d2
    r = solve_text("kind: bptt\ninputs: [1, -1]\nweights: {U: 1, W: 0.5, V: 1}\ntarget: 1\n").results
    assert r["loss"] == pytest.approx(-math.log(yh), rel=1e-14)
    assert r["grad_W"][0][0] == pytest.approx(d2 * h1, rel=1e-13)
    assert r["grad_U"][0][0] == pytest.approx(-d2 + d1, rel=1e-13)
    assert r["grad_b"][0] == pytest.approx(d2 + d1, rel=1e-13)
    assert r["grad_V"][0][0] == pytest.approx((yh - 1) * h2, rel=1e-13)
    assert r["grad_c"][0] == pytest.approx(yh - 1, rel=1e-13)


def test_defaults():
    # no output_activation, loss, output: k = 1 → sigmoid + bce, many-to-one; k = 2 → softmax + cross-entropy
    w = solve_text("kind: bptt\ninputs: [[1, 0]]\nweights: {U: [[1, 0]], W: 0, V: 1}\ntarget: 1\n")
    assert np.asarray(w.results["y_hat"]) == pytest.approx([1 / (1 + math.exp(-math.tanh(1)))])
    w = solve_text("kind: bptt\ninputs: [1, 2]\nweights: {U: 1, W: 0, V: [[1], [-1]]}\ntarget: 0\n")
    h2 = math.tanh(2.0)
    p0 = math.exp(h2) / (math.exp(h2) + math.exp(-h2))
    assert w.results["loss"] == pytest.approx(-math.log(p0), rel=1e-14)  # class 0, counted from 0
    # a one-hot target is the same as its class index
    w2 = solve_text("kind: bptt\ninputs: [1, 2]\nweights: {U: 1, W: 0, V: [[1], [-1]]}\ntarget: [1, 0]\n")
    assert w2.results["grad_W"] == w.results["grad_W"]


def test_forward_only_kind_rnn():
    w = solve_text("kind: rnn\ninputs: [1, 2]\nweights: {U: 0.5, W: 0.8, b: 0.1, V: 2}\n"
                   "output_activation: linear\n")
    assert set(w.results) == {"h", "y_hat"}
    w = solve_text("kind: rnn\ninputs: [1, 2]\nweights: {U: 0.5, W: 0.8, b: 0.1, V: 2}\n"
                   "hidden_activation: linear\noutput_activation: linear\ntarget: 3\nloss: half_sse\n")
    assert set(w.results) == {"h", "y_hat", "loss", "loss_by_step"}  # loss_by_step: recurrent.md
    assert w.results["loss"] == pytest.approx(0.0128, abs=1e-15)
    w = solve_text("kind: rnn\nbackward: true\ninputs: [1, 2]\nweights: {U: 0.5, W: 0.8, b: 0.1, V: 2}\n"
                   "hidden_activation: linear\noutput_activation: linear\ntarget: 3\nloss: half_sse\n")
    assert all(k in w.results for k in CONTRACT)
    assert w.results["grad_W"][0][0] == pytest.approx(0.192, abs=1e-15)


def test_tokens_one_hot_in_vocab_order():
    text = ("kind: bptt\ntokens: [rat, cat]\nvocab: [cat, mat, rat]\n"
            "weights: {U: [[0.1, 0.2, 0.3]], W: 0.5, V: 1}\ntarget: 1\n")
    via_inputs = ("kind: bptt\ninputs: [[0, 0, 1], [1, 0, 0]]\n"
                  "weights: {U: [[0.1, 0.2, 0.3]], W: 0.5, V: 1}\ntarget: 1\n")
    a, b = solve_text(text).results, solve_text(via_inputs).results
    for k in CONTRACT:
        np.testing.assert_array_equal(a[k], b[k])


def test_token_targets_for_softmax():
    base = ("kind: rnn\ntokens: [h, e]\nvocab: [h, e, l]\noutput: every\n"
            "weights: {U: [[0.1, 0.2, 0.3], [0.3, -0.1, 0.2]], W: [[0.1, 0], [0, 0.1]], "
            "V: [[1, 0], [0, 1], [0.5, 0.5]]}\n")
    a = solve_text(base + "target: [e, l]\n").results
    b = solve_text(base + "target: [1, 2]\n").results
    assert a["loss"] == b["loss"]


# -- the working -----------------------------------------------------------------------------

def test_worked_steps_show_the_values_of_the_results():
    w = solve_file(str(ROOT / "problems" / "bptt_many_to_many.yaml"))
    steps = {b.lhs: b.value for s in w.sections for b in s.blocks if hasattr(b, "lhs")}
    for t in (1, 2, 3):
        np.testing.assert_array_equal(steps[f"h_{{{t}}}"], w.results["h"][t - 1])
        np.testing.assert_array_equal(steps[r"\frac{\partial L}{\partial h_{" + str(t) + "}}"],
                                      w.results["dL_dh"][t - 1])
        np.testing.assert_array_equal(steps[r"\frac{\partial L}{\partial W}\Big|_{t=" + str(t) + "}"],
                                      w.results["grad_W_by_step"][t - 1])
    np.testing.assert_array_equal(steps[r"\frac{\partial L}{\partial W}"], w.results["grad_W"])


def _long_problem(T, m=16, n=4, output="last"):
    rng = np.random.default_rng(5)
    doc = {"kind": "bptt", "inputs": rng.normal(size=(T, n)).round(3).tolist(), "output": output,
           "weights": {"U": (rng.normal(size=(m, n)) * 0.3).round(3).tolist(),
                       "W": (rng.normal(size=(m, m)) * 0.25).round(3).tolist(),
                       "V": (rng.normal(size=(2, m)) * 0.3).round(3).tolist()},
           "target": 1 if output == "last" else [int(v) for v in rng.integers(0, 2, T)],
           "learning_rate": 0.1, "clip": 1.0}
    return yaml.safe_dump(doc)


def test_long_sequence_is_linear_and_readable(tmp_path):
    """T = 2000, m = 16: every result for every step, a bounded working, a readable terminal."""
    import time
    path = tmp_path / "long.yaml"
    path.write_text(_long_problem(2000, output="every"))
    t0 = time.perf_counter()
    result = CliRunner().invoke(cli, ["run", str(path), "--format", "json"])
    elapsed = time.perf_counter() - t0
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    r = out["results"]
    assert np.shape(r["grad_W_by_step"]) == (2000, 16, 16)
    assert np.shape(r["dL_dh"]) == (2000, 16) and np.shape(r["h"]) == (2000, 16)
    np.testing.assert_allclose(np.sum(r["grad_W_by_step"], axis=0), r["grad_W"], rtol=1e-12, atol=1e-12)
    assert elapsed < 10
    assert len(out["sections"]) < 40  # worked steps: the first and last few; all steps are in the tables
    term = CliRunner().invoke(cli, ["run", str(path)])
    assert term.exit_code == 0
    assert len(term.output.splitlines()) < 800


def test_jacobian_norms_survive_underflow():
    """A long product far below the float64 range keeps its size in log10."""
    # linear f, W = 0.1: ∂h_T/∂h_t = 0.1^(T−t), so log10 = −(T − t); 0.1^399 is below float64
    T = 400
    w = solve_text(f"kind: bptt\ninputs: {[1.0] * T}\nhidden_activation: linear\n"
                   "weights: {U: 1, W: 0.1, V: 1}\ntarget: 1\n")
    log10 = np.asarray(w.results["jacobian_log10_norms"])
    np.testing.assert_allclose(log10, -(T - np.arange(1, T + 1)), rtol=1e-12, atol=1e-12)
    norms = np.asarray(w.results["jacobian_norms"])
    assert norms[0] == 0.0 and norms[-1] == 1.0 and norms[-3] == pytest.approx(0.01, rel=1e-14)


# -- errors: one line, exit status 2 ---------------------------------------------------------

def run_file(tmp_path, text):
    path = tmp_path / "p.yaml"
    path.write_text(textwrap.dedent(text))
    result = CliRunner().invoke(cli, ["run", str(path)])
    message = getattr(result, "stderr", None) or result.output
    return result, message, str(path)


GOOD = """\
kind: bptt
inputs:
  - [1, 0, 0]
  - [0, 1, 0]
  - [0, 0, 1]
weights:
  U: [[0.5, -0.3, 0.2], [0.1, 0.4, -0.6]]
  W: [[0.3, -0.2], [0.4, 0.1]]
  V: [[0.7, -0.5]]
target: 1
"""


def test_good_file_runs(tmp_path):
    result, message, _ = run_file(tmp_path, GOOD)
    assert result.exit_code == 0, message


def test_error_input_of_wrong_length(tmp_path):
    result, message, path = run_file(tmp_path, GOOD.replace("  - [0, 0, 1]", "  - [0, 1]"))
    assert result.exit_code == 2
    assert f"{path}:5:" in message
    assert "inputs[2]" in message and "length 3" in message and "length-2" in message
    assert "Traceback" not in message


def test_error_U_shape(tmp_path):
    result, message, path = run_file(tmp_path, GOOD.replace("U: [[0.5, -0.3, 0.2], [0.1, 0.4, -0.6]]",
                                                            "U: [[0.5, -0.3], [0.1, 0.4]]"))
    assert result.exit_code == 2
    assert f"{path}:7:" in message and "weights.U" in message
    assert "2 × 3" in message and "2 × 2" in message


def test_error_W_not_square(tmp_path):
    result, message, path = run_file(tmp_path, GOOD.replace("W: [[0.3, -0.2], [0.4, 0.1]]", "W: [[0.3, -0.2, 1]]"))
    assert result.exit_code == 2
    assert f"{path}:8:" in message and "weights.W" in message and "square" in message and "1 × 3" in message


def test_error_V_columns(tmp_path):
    result, message, path = run_file(tmp_path, GOOD.replace("V: [[0.7, -0.5]]", "V: [[0.7, -0.5, 1]]"))
    assert result.exit_code == 2
    assert "weights.V" in message and "m = 2 columns" in message and "1 × 3" in message


def test_error_unknown_token(tmp_path):
    text = "kind: bptt\ntokens: [cat, dog, rat]\nvocab: [cat, mat, rat]\n" + GOOD.split("weights:")[0][0:0] + \
        "weights:\n  U: [[0.5, -0.3, 0.2], [0.1, 0.4, -0.6]]\n  W: [[0.3, -0.2], [0.4, 0.1]]\n  V: [[0.7, -0.5]]\n" \
        "target: 1\n"
    result, message, path = run_file(tmp_path, text)
    assert result.exit_code == 2
    assert f"{path}:2:" in message and "tokens[1]" in message
    assert "'dog'" in message and "cat, mat, rat" in message


def test_error_wrong_number_of_targets(tmp_path):
    result, message, path = run_file(tmp_path, GOOD.replace("target: 1", "output: every\ntarget: [1, 0]"))
    assert result.exit_code == 2
    assert f"{path}:11:" in message and "target" in message and "T = 3" in message and "got 2" in message


@pytest.mark.parametrize("change, words", [
    (("target: 1", "target: 1\nloss: bce\noutput_activation: linear"), ["loss", "sigmoid or softmax"]),
    (("target: 1", "target: 2"), ["target", "between 0 and 1"]),
    (("target: 1", "target: 1\ntruncate: 4"), ["truncate", "1 to T = 3"]),
    (("target: 1", "target: 1\nclip: -1"), ["clip", "positive"]),
    (("target: 1\n", ""), ["missing key 'target'"]),
    (("kind: bptt", "kind: rnn"), []),  # fine: forward pass with a loss
    (("target: 1", "target: 1\nlearning_rate: 0.1"), []),
    (("kind: bptt", "kind: rnn\nlearning_rate: 0.1"), ["learning_rate", "backward: true"]),
    (("kind: bptt", "kind: bptt\nbackward: false"), ["backward", "kind: rnn"]),
    (("target: 1", "target: 1\nouput: every"), ["ouput", "did you mean 'output'"]),
    (("V: [[0.7, -0.5]]", "V: [[0.7, -0.5]]\n  X: 1"), ["weights.X", "unknown key"]),
    (("V: [[0.7, -0.5]]", "V: [[0.7, -0.5], [0.1, 0.1]]\noutput_activation: sigmoid"), ["target", "length 2"]),
    (("V: [[0.7, -0.5]]", "V: [[0.7, -0.5], [0.1, 0.1]]"), []),  # k = 2: softmax, and 1 is a class index
    (("target: 1", "target: 3\noutput_activation: softmax"), ["softmax", "k ≥ 2"]),
])
def test_input_errors(tmp_path, change, words):
    result, message, path = run_file(tmp_path, GOOD.replace(*change))
    if not words:
        assert result.exit_code == 0, message
        return
    assert result.exit_code == 2, message
    assert message.startswith(f"error: {path}")
    assert "Traceback" not in message and len(message.strip().splitlines()) == 1
    for word in words:
        assert word in message


def test_error_class_index_out_of_range(tmp_path):
    text = GOOD.replace("V: [[0.7, -0.5]]", "V: [[0.7, -0.5], [0.1, 0.1]]").replace("target: 1", "target: 2")
    result, message, _ = run_file(tmp_path, text)
    assert result.exit_code == 2 and "from 0 to 1" in message


def test_error_inputs_and_tokens(tmp_path):
    result, message, _ = run_file(tmp_path, GOOD.replace("kind: bptt", "kind: bptt\ntokens: [a]\nvocab: [a]"))
    assert result.exit_code == 2 and "not both" in message


# -- problem files and templates -------------------------------------------------------------

MY_PROBLEMS = ["rnn_forward.yaml", "bptt_sentiment.yaml", "bptt_many_to_many.yaml", "bptt_clip_truncate.yaml"]


@pytest.mark.parametrize("name", MY_PROBLEMS)
def test_problem_files(name):
    path = ROOT / "problems" / name
    result = CliRunner().invoke(cli, ["run", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["sections"]
    kind = out["kind"]
    required = ["h", "y_hat", "loss"] if kind == "rnn" else CONTRACT
    for key in required:
        assert key in out["results"], key
    for fmt in ("terminal", "markdown"):
        assert CliRunner().invoke(cli, ["run", str(path), "--format", fmt]).exit_code == 0, fmt


def test_sentiment_seed_against_reference():
    """problems/bptt_sentiment.yaml: the numbers against the reference implementation."""
    w = solve_file(str(ROOT / "problems" / "bptt_sentiment.yaml"))
    P = {"X": np.eye(3), "h0": np.zeros(2), "f": "tanh", "g": "sigmoid", "output": "last", "loss": "bce",
         "targets": [np.array([1.0])], "T": 3, "m": 2}
    params = {"U": np.array([[0.5, -0.3, 0.2], [0.1, 0.4, -0.6]]), "W": np.array([[0.3, -0.2], [0.4, 0.1]]),
              "b": np.zeros(2), "V": np.array([[0.7, -0.5]]), "c": np.zeros(1)}
    _, yhats, loss = ref_forward(P, params)
    assert w.results["loss"] == pytest.approx(loss, rel=1e-14)
    fn = lambda q: ref_forward(P, q)[2]
    for name in params:
        np.testing.assert_allclose(w.results["grad_" + name], central_diff(fn, params, name), atol=1e-8)
        np.testing.assert_allclose(w.results[name], params[name] - 0.1 * np.asarray(w.results["grad_" + name]),
                                   rtol=1e-15, atol=1e-15)
    assert w.results["loss_after"] < w.results["loss"]


@pytest.mark.parametrize("kind", ["rnn", "bptt"])
def test_templates_run(tmp_path, kind):
    result = CliRunner().invoke(cli, ["new", kind])
    assert result.exit_code == 0
    path = tmp_path / "t.yaml"
    path.write_text(result.stdout)
    run = CliRunner().invoke(cli, ["run", str(path), "--format", "json"])
    assert run.exit_code == 0, run.output
    assert json.loads(run.stdout)["kind"] == kind
