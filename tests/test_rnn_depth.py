"""rnn / bptt additions of recurrent.md: the gradient arriving from above (upstream),
∂L/∂x_t and ∂L/∂h_0, the loss and every gradient per time step, stacked layers.

Expected values never come from nnsolve: PyTorch autograd fixtures (tests/reference/
make_rnn_depth.py, stacked cases checked there against torch.nn.RNN(num_layers=L)), central
finite differences of a NumPy forward pass written here, and identities."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnsolve.core import solve_file, solve_text

ROOT = Path(__file__).resolve().parent.parent
_CASES = json.loads((ROOT / "tests" / "reference" / "rnn_depth.json").read_text(encoding="utf-8"))["cases"]


def _compare(got, want, where):
    if isinstance(want, dict):
        assert isinstance(got, dict), where
        for key, value in want.items():
            assert key in got, f"{where}.{key} missing"
            _compare(got[key], value, f"{where}.{key}")
    elif isinstance(want, list) and want and isinstance(want[0], dict):
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want), start=1):
            _compare(g, w, f"{where}[{i}]")
    else:
        np.testing.assert_allclose(np.asarray(got, dtype=float), np.asarray(want, dtype=float),
                                   rtol=1e-9, atol=1e-12, err_msg=where)


@pytest.mark.parametrize("case", _CASES, ids=[c["id"] for c in _CASES])
def test_against_torch_autograd(case):
    """Every result of the fixture (h, dL_dh, grad_*, grad_x, grad_h0, the per-step parts,
    loss_by_step, and per layer for a stack) equals torch's at 1e-9."""
    r = solve_text(yaml.safe_dump(case["problem"])).results
    _compare(r, case["expected"], "results")
    if "expected_layers" in case:
        _compare(r, {"layers": case["expected_layers"]}, "results")
        assert len(r["layers"]) == len(case["expected_layers"])


# -- an independent NumPy forward pass, and central differences ---------------------------

def _act(name, v):
    if name == "tanh":
        return np.tanh(v)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-v))
    if name == "softmax":
        e = np.exp(v - v.max())
        return e / e.sum()
    return v  # linear


def _stack_forward(P, q):
    """h_t of every layer (lists over t), the plain forward pass."""
    out, seq = [], q["X"]
    for lay in q["layers"]:
        h, hs = lay["h0"], []
        for x in seq:
            h = _act(P["f"], lay["U"] @ x + lay["W"] @ h + lay["b"])
            hs.append(h)
        out.append(hs)
        seq = hs
    return out


def ref_loss(P, q, frozen=None, start=1):
    """The function BPTT differentiates: a stack of Elman layers (q["layers"][l] = {U, W, b,
    h0}; the input sequence q["X"]), then either the loss of the output layer q["V"], q["c"]
    or Σ_t ⟨upstream_t, h_t⟩ (the gradient arriving from above is upstream_t). With
    ``frozen`` (a copy of q held fixed), every layer's h_{start−1} comes from it (a constant)
    and only the steps t ≥ start, with their loss terms, depend on q: the function
    truncated BPTT differentiates."""
    if frozen is None:
        seq = _stack_forward(P, q)[-1]
        start = 1
    else:
        fixed = _stack_forward(P, frozen)
        T = len(q["X"])
        below = [q["X"][t - 1] for t in range(1, T + 1)]
        for l, lay in enumerate(q["layers"]):
            h = lay["h0"] if start == 1 else fixed[l][start - 2]
            hs = [None] * (start - 1)
            for t in range(start, T + 1):
                h = _act(P["f"], lay["U"] @ below[t - 1] + lay["W"] @ h + lay["b"])
                hs.append(h)
            below = hs
        seq = below
    if P["upstream"] is not None:
        return float(sum(np.dot(u, h) for t, (u, h) in enumerate(zip(P["upstream"], seq), start=1) if t >= start))
    total = 0.0
    T = len(seq)
    for t in range(start, T + 1):
        if P["output"] == "every" or t == T:
            y = P["targets"][t - 1 if P["output"] == "every" else 0]
            yh = _act(P["g"], q["V"] @ seq[t - 1] + q["c"])
            total += 0.5 * np.sum((y - yh) ** 2) if P["g"] == "linear" else -np.sum(y * np.log(yh))
    return total


def central_diff(fn, q, path, eps=1e-5):
    """∂fn/∂(the array at path), five-point central differences."""
    def get(node):
        for part in path:
            node = node[part]
        return node
    arr = get(q)
    g = np.zeros_like(arr)
    for idx in np.ndindex(*arr.shape):
        vals = []
        for step in (2 * eps, eps, -eps, -2 * eps):
            old = arr[idx]
            arr[idx] = old + step
            vals.append(fn(q))
            arr[idx] = old
        g[idx] = (-vals[0] + 8 * vals[1] - 8 * vals[2] + vals[3]) / (12 * eps)
    return g


@st.composite
def stacks(draw):
    """1–3 layers of 1–3 units, T 1–4, n 1–3; a loss (linear + half_sse or softmax +
    cross_entropy, last or every) or an upstream gradient."""
    L = draw(st.integers(1, 3))
    n, T = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    sizes = [draw(st.integers(1, 3)) for _ in range(L)]
    f = draw(st.sampled_from(["tanh", "sigmoid", "linear"]))
    mode = draw(st.sampled_from(["upstream", "linear", "softmax"]))
    output = draw(st.sampled_from(["last", "every"]))
    stacked = L > 1 or draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    layers, n_in = [], n
    for m in sizes:
        layers.append({"U": rng.uniform(-1, 1, (m, n_in)), "W": rng.uniform(-1, 1, (m, m)),
                       "b": rng.uniform(-0.5, 0.5, m), "h0": rng.uniform(-0.5, 0.5, m)})
        n_in = m
    m = sizes[-1]
    P = {"f": f, "T": T, "n": n, "L": L, "stacked": stacked, "output": output, "upstream": None,
         "g": mode, "targets": None}
    q = {"X": rng.normal(size=(T, n)), "layers": layers}
    if mode == "upstream":
        P["upstream"] = rng.normal(size=(T, m))
    else:
        k = 1 if mode == "linear" else draw(st.integers(2, 3))
        q["V"], q["c"] = rng.uniform(-1, 1, (k, m)), rng.uniform(-0.5, 0.5, k)
        steps = T if output == "every" else 1
        P["targets"] = ([rng.normal(size=k) for _ in range(steps)] if mode == "linear"
                        else [rng.dirichlet(np.ones(k)) for _ in range(steps)])
    return P, q


def to_yaml(P, q, **extra):
    blocks = [{"U": lay["U"].tolist(), "W": lay["W"].tolist(), "b": lay["b"].tolist()} for lay in q["layers"]]
    doc = {"kind": "bptt", "inputs": q["X"].tolist(), "hidden_activation": P["f"]}
    if P["upstream"] is not None:
        doc["upstream"] = {"h": P["upstream"].tolist()}
    else:
        blocks[-1].update(V=q["V"].tolist(), c=q["c"].tolist())
        doc.update(output=P["output"], output_activation=P["g"],
                   loss="half_sse" if P["g"] == "linear" else "cross_entropy",
                   target=[y.tolist() for y in P["targets"]] if P["output"] == "every" else P["targets"][0].tolist())
    inits = [{"h": lay["h0"].tolist()} for lay in q["layers"]]
    if P["stacked"]:
        doc.update(layers=blocks, initial=inits)
    else:
        doc.update(weights=blocks[0], initial=inits[0])
    doc.update(extra)
    return yaml.safe_dump(doc)


def _layer(r, P, l):
    return r["layers"][l] if P["stacked"] else r


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stacks())
def test_gradients_match_finite_differences(Pq):
    P, q = Pq
    r = solve_text(to_yaml(P, q)).results
    fn = lambda qq: ref_loss(P, qq)
    for l in range(P["L"]):
        lr = _layer(r, P, l)
        for name in ("U", "W", "b"):
            np.testing.assert_allclose(lr["grad_" + name], central_diff(fn, q, ("layers", l, name)),
                                       rtol=1e-6, atol=1e-7, err_msg=f"layer {l + 1} grad_{name}")
        np.testing.assert_allclose(lr["grad_h0"], central_diff(fn, q, ("layers", l, "h0")),
                                   rtol=1e-6, atol=1e-7, err_msg=f"layer {l + 1} grad_h0")
    np.testing.assert_allclose(r["grad_x"], central_diff(fn, q, ("X",)), rtol=1e-6, atol=1e-7, err_msg="grad_x")
    if P["upstream"] is None:
        for name in ("V", "c"):
            np.testing.assert_allclose(r["grad_" + name], central_diff(fn, q, (name,)), rtol=1e-6, atol=1e-7)
        assert r["loss"] == pytest.approx(fn(q), rel=1e-12, abs=1e-12)
        assert np.sum(r["loss_by_step"]) == pytest.approx(r["loss"], rel=1e-12, abs=1e-14)
        assert len(r["loss_by_step"]) == P["T"]
        if P["output"] == "last":
            assert all(v == 0 for v in r["loss_by_step"][:-1])
    else:
        assert "loss" not in r and "grad_V" not in r and "loss_by_step" not in r
    if P["stacked"]:
        np.testing.assert_array_equal(r["h"], r["layers"][-1]["h"])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stacks(), st.integers(1, 4))
def test_truncated_stacks_match_finite_differences(Pq, k):
    """truncate: k in a stack: every layer's h_{T−k} is a constant; the gradients are those
    of the loss of steps T−k+1 … T (finite differences with the first steps frozen)."""
    P, q = Pq
    k = min(k, P["T"])
    start = P["T"] - k + 1
    r = solve_text(to_yaml(P, q, truncate=k)).results
    frozen = {"X": q["X"].copy(), "layers": [{n: v.copy() for n, v in lay.items()} for lay in q["layers"]]}
    fn = lambda qq: ref_loss(P, qq, frozen, start)
    for l in range(P["L"]):
        lr = _layer(r, P, l)
        for name in ("U", "W", "b", "h0"):
            np.testing.assert_allclose(lr["grad_" + name], central_diff(fn, q, ("layers", l, name)),
                                       rtol=1e-6, atol=1e-7, err_msg=f"layer {l + 1} grad_{name}, truncate {k}")
    np.testing.assert_allclose(r["grad_x"], central_diff(fn, q, ("X",)), rtol=1e-6, atol=1e-7)
    if P["upstream"] is None:
        for name in ("V", "c"):
            np.testing.assert_allclose(r["grad_" + name], central_diff(fn, q, (name,)), rtol=1e-6, atol=1e-7)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stacks(), st.integers(1, 4))
def test_parts_by_step_sum_to_the_gradients(Pq, k):
    P, q = Pq
    """The per-step parts sum to the full gradient, with and without truncation; outside
    the truncation window they are zero, and so are ∂L/∂x_t and ∂L/∂h_0."""
    k = min(k, P["T"])
    for extra in ({}, {"truncate": k}):
        r = solve_text(to_yaml(P, q, **extra)).results
        start = P["T"] - k + 1 if extra else 1
        for l in range(P["L"]):
            lr = _layer(r, P, l)
            for name in ("U", "W", "b"):
                parts = np.asarray(lr[f"grad_{name}_by_step"])
                assert parts.shape == (P["T"],) + np.shape(lr["grad_" + name])
                np.testing.assert_allclose(parts.sum(axis=0), lr["grad_" + name], rtol=1e-12, atol=1e-14)
                assert np.all(parts[:start - 1] == 0)
            if start > 1:
                assert np.all(np.asarray(lr["grad_h0"]) == 0)
        assert np.all(np.asarray(r["grad_x"])[:start - 1] == 0)
        if P["upstream"] is None:
            for name in ("V", "c"):
                parts = np.asarray(r[f"grad_{name}_by_step"])
                np.testing.assert_allclose(parts.sum(axis=0), r["grad_" + name], rtol=1e-12, atol=1e-14)
                if P["output"] == "last":
                    assert np.all(parts[:-1] == 0)


# -- the problem files ------------------------------------------------------------------------

def _bptt_numpy(X, layers, f, top_grad):
    """A plain BPTT written here (tanh or linear f), independent of nnsolve: layers are
    dicts {U, W, b, h0}; top_grad(t, h) gives what arrives at the top layer's h_t from
    outside the recurrence. Returns per layer {h, dL_dh, grad_U, grad_W, grad_b, grad_h0}
    and the input gradient."""
    seqs, hss = [np.asarray(X, dtype=float)], []
    for lay in layers:
        h, hs = np.asarray(lay["h0"], dtype=float), []
        for x in seqs[-1]:
            h = np.tanh(lay["U"] @ x + lay["W"] @ h + lay["b"]) if f == "tanh" else lay["U"] @ x + lay["W"] @ h + lay["b"]
            hs.append(h)
        hss.append(np.array(hs))
        seqs.append(np.array(hs))
    T = len(X)
    out = [None] * len(layers)
    above = np.array([top_grad(t, hss[-1][t - 1]) for t in range(1, T + 1)])
    for l in range(len(layers) - 1, -1, -1):
        lay, hs, xs = layers[l], hss[l], seqs[l]
        hprev = np.vstack([lay["h0"], hs[:-1]])
        r = {"h": hs, "dL_dh": np.zeros_like(hs), "grad_U": np.zeros_like(lay["U"]),
             "grad_W": np.zeros_like(lay["W"]), "grad_b": np.zeros_like(lay["b"])}
        gx = np.zeros_like(xs)
        d_next = np.zeros(len(lay["b"]))
        for t in range(T, 0, -1):
            dh = above[t - 1] + lay["W"].T @ d_next
            d = (1 - hs[t - 1] ** 2) * dh if f == "tanh" else dh
            r["dL_dh"][t - 1] = dh
            r["grad_W"] += np.outer(d, hprev[t - 1])
            r["grad_U"] += np.outer(d, xs[t - 1])
            r["grad_b"] += d
            gx[t - 1] = lay["U"].T @ d
            d_next = d
        r["grad_h0"] = lay["W"].T @ d_next
        out[l] = r
        above = gx
    return out, above


def _load(name):
    return yaml.safe_load((ROOT / "problems" / name).read_text(encoding="utf-8"))


def test_problem_rnn_upstream():
    doc = _load("rnn_upstream.yaml")
    w = doc["weights"]
    lay = {"U": np.array(w["U"]), "W": np.array(w["W"]), "b": np.array(w["b"]), "h0": np.array(doc["initial"]["h"])}
    up = np.array(doc["upstream"]["h"])
    (want,), gx = _bptt_numpy(doc["inputs"], [lay], "tanh", lambda t, h: up[t - 1])
    r = solve_file(str(ROOT / "problems" / "rnn_upstream.yaml")).results
    for key in ("h", "dL_dh", "grad_U", "grad_W", "grad_b", "grad_h0"):
        np.testing.assert_allclose(r[key], want[key], rtol=1e-12, atol=1e-14, err_msg=key)
    np.testing.assert_allclose(r["grad_x"], gx, rtol=1e-12, atol=1e-14)
    assert "loss" not in r and "grad_V" not in r
    for key in ("U", "W", "b"):  # the update: w − η ∂L/∂w
        np.testing.assert_allclose(r[key], np.asarray(w[key]) - 0.1 * want["grad_" + key], rtol=1e-14, atol=1e-15)
    # ∂L/∂h_3 is the upstream gradient alone (nothing comes from step 4)
    np.testing.assert_array_equal(r["dL_dh"][2], up[2])


def test_problem_stacked_upstream():
    doc = _load("bptt_stacked_upstream.yaml")
    layers = [{"U": np.array(b["U"]), "W": np.array(b["W"]), "b": np.array(b["b"]), "h0": np.zeros(len(b["W"]))}
              for b in doc["layers"]]
    up = np.array(doc["upstream"]["h"])
    want, gx = _bptt_numpy(doc["inputs"], layers, "tanh", lambda t, h: up[t - 1])
    r = solve_file(str(ROOT / "problems" / "bptt_stacked_upstream.yaml")).results
    assert len(r["layers"]) == 2
    for l in range(2):
        for key in ("h", "dL_dh", "grad_U", "grad_W", "grad_b", "grad_h0"):
            np.testing.assert_allclose(r["layers"][l][key], want[l][key], rtol=1e-12, atol=1e-14,
                                       err_msg=f"layer {l + 1} {key}")
    np.testing.assert_allclose(r["grad_x"], gx, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(r["h"], r["layers"][1]["h"])


def test_problem_rnn_stacked():
    """problems/rnn_stacked.yaml: linear output, ½ squared error at every step; the
    gradient arriving at layer 2's h_t from the output is Vᵀ (ŷ_t − y_t)."""
    doc = _load("rnn_stacked.yaml")
    blocks = doc["layers"]
    layers = [{"U": np.array(b["U"], dtype=float), "W": np.array(b["W"], dtype=float),
               "b": np.array(b["b"], dtype=float), "h0": np.array(i["h"], dtype=float)}
              for b, i in zip(blocks, doc["initial"])]
    V, c = np.array(blocks[1]["V"], dtype=float), np.array(blocks[1]["c"], dtype=float)
    y = np.array(doc["target"], dtype=float)
    want, gx = _bptt_numpy(doc["inputs"], layers, "tanh", lambda t, h: V.T @ (V @ h + c - y[t - 1]))
    r = solve_file(str(ROOT / "problems" / "rnn_stacked.yaml")).results
    for l in range(2):
        for key in ("h", "dL_dh", "grad_U", "grad_W", "grad_b", "grad_h0"):
            np.testing.assert_allclose(r["layers"][l][key], want[l][key], rtol=1e-12, atol=1e-14,
                                       err_msg=f"layer {l + 1} {key}")
    np.testing.assert_allclose(r["grad_x"], gx, rtol=1e-12, atol=1e-14)
    h2 = want[1]["h"]
    yhat = h2 @ V.T + c
    np.testing.assert_allclose(r["y_hat"], yhat, rtol=1e-12)
    np.testing.assert_allclose(r["loss_by_step"], 0.5 * ((yhat[:, 0] - y) ** 2), rtol=1e-12)
    np.testing.assert_allclose(r["grad_V"], ((yhat[:, 0] - y)[:, None] * h2).sum(axis=0)[None, :], rtol=1e-12)
    np.testing.assert_allclose(r["grad_c"], [np.sum(yhat[:, 0] - y)], rtol=1e-12)
    for l, name in ((0, "U"), (1, "W")):
        np.testing.assert_allclose(r["layers"][l][name], np.asarray(blocks[l][name]) - 0.1 * want[l]["grad_" + name],
                                   rtol=1e-14, atol=1e-15)
    assert r["loss_after"] < sum(r["loss_by_step"])


def test_hand_derived_linear_upstream():
    """f linear, m = n = 1, T = 2: h_1 = U x_1, h_2 = U x_2 + W h_1; ḡ = (g_1, g_2).
    ∂L/∂h_2 = g_2, δ_2 = g_2; ∂L/∂h_1 = g_1 + W g_2 = δ_1; ∂L/∂h_0 = W δ_1;
    ∂L/∂x_t = U δ_t; ∂L/∂W = δ_2 h_1 + δ_1 h_0; parts by step (δ_1 h_0, δ_2 h_1)."""
    U, W, x1, x2, h0, g1, g2 = 0.5, 0.8, 1.0, 2.0, 0.25, 0.3, -0.4
    r = solve_text(f"kind: rnn\ninputs: [{x1}, {x2}]\nhidden_activation: linear\nweights: {{U: {U}, W: {W}}}\n"
                   f"initial: {{h: [{h0}]}}\nupstream: {{h: [{g1}, {g2}]}}\n").results
    h1 = U * x1 + W * h0
    d2, d1 = g2, g1 + W * g2
    assert np.ravel(r["dL_dh"]) == pytest.approx([d1, d2], abs=1e-15)
    assert r["grad_h0"] == pytest.approx([W * d1], abs=1e-15)
    assert np.ravel(r["grad_x"]) == pytest.approx([U * d1, U * d2], abs=1e-15)
    assert np.ravel(r["grad_W_by_step"]) == pytest.approx([d1 * h0, d2 * h1], abs=1e-15)
    assert np.ravel(r["grad_W"]) == pytest.approx([d1 * h0 + d2 * h1], abs=1e-15)
    assert np.ravel(r["grad_U_by_step"]) == pytest.approx([d1 * x1, d2 * x2], abs=1e-15)
    assert np.ravel(r["grad_b_by_step"]) == pytest.approx([d1, d2], abs=1e-15)


# -- input errors: one line, exit status 2, file:line:col and the key path ------------------------

BASE = """\
kind: bptt
inputs:
  - [1, 0]
  - [0.5, -1]
  - [0, 1]
weights:
  U: [[0.4, -0.6], [0.3, 0.8]]
  W: [[0.5, -0.3], [0.2, 0.4]]
upstream:
  h: [[0.1, -0.2], [0, 0.3], [0.5, 0.4]]
"""

STACK = """\
kind: bptt
inputs: [[1, 0], [0.5, -1], [0, 1]]
layers:
  - U: [[0.4, -0.6], [0.3, 0.8]]
    W: [[0.5, -0.3], [0.2, 0.4]]
  - U: [[0.7, -0.5]]
    W: [[0.5]]
    V: [[1.5]]
initial: [{h: [0, 0]}, {h: [0]}]
target: 1
"""


@pytest.mark.parametrize("base, change, where, words", [
    (BASE, ("[0.5, 0.4]]", "[0.5]]"), "10:", ["upstream.h", "3 × 2"]),
    (BASE, ("[0, 0.3], [0.5, 0.4]]", "[0, 0.3]]"), "10:", ["upstream.h", "3 × 2", "got 2 × 2"]),
    (BASE, ("upstream:\n  h: [[0.1, -0.2], [0, 0.3], [0.5, 0.4]]\n", "target: 1\n"), "6:", ["weights", "'V'"]),
    (BASE, ("upstream:", "target: 1\nupstream:"), "9:", ["target", "upstream", "not both"]),
    (BASE, ("upstream:", "output_activation: sigmoid\nupstream:"), "9:", ["output_activation", "V"]),
    (BASE, ("upstream:", "upstream: [1, 2]\nx:"), "9:", ["upstream", "mapping"]),
    (BASE, ("  h: [[0.1", "  g: [[0.1"), "9:", ["upstream", "missing key 'h'"]),
    (BASE.replace("kind: bptt", "kind: rnn"), ("upstream:", "backward: false\nupstream:"), "9:", ["backward"]),
    (STACK, ("  - U: [[0.7, -0.5]]", "  - U: [[0.7, -0.5, 1]]"), "6:", ["layers[1].U", "m₂ × m₁", "1 × 2"]),
    (STACK, ("    W: [[0.5]]", "    W: [[0.5, 1]]"), "7:", ["layers[1].W", "square"]),
    (STACK, ("    W: [[0.5, -0.3], [0.2, 0.4]]", "    W: [[0.5, -0.3], [0.2, 0.4]]\n    V: [[1, 1]]"), "6:",
     ["layers[0].V", "last layer"]),
    (STACK, ("    V: [[1.5]]\n", ""), "6:", ["layers[1]", "'V'"]),
    (STACK, ("initial: [{h: [0, 0]}, {h: [0]}]", "initial: [{h: [0, 0]}]"), "9:", ["initial", "L = 2"]),
    (STACK, ("initial: [{h: [0, 0]}, {h: [0]}]", "initial: {h: [0]}"), "9:", ["initial", "one per layer"]),
    (STACK, ("initial: [{h: [0, 0]}, {h: [0]}]", "initial: [{h: [0, 0]}, {h: [0, 1]}]"), "9:",
     ["initial[1].h", "length m₂ = 1"]),
    (STACK, ("initial: [{h: [0, 0]}, {h: [0]}]", "initial: [{h: [0, 0]}, {hh: [0]}]"), "9:",
     ["initial[1].hh", "unknown key"]),
    (STACK, ("target: 1", "target: 1\nweights: {U: 1, W: 1, V: 1}"), "3:", ["layers", "not both"]),
    (STACK, ("layers:", "layers: []\nx:"), "3:", ["layers", "at least 1"]),
])
def test_input_errors(run_cli, write, base, change, where, words):
    text = base.replace(*change)
    assert text != base
    path = write(text)
    code, out, err = run_cli("run", path)
    assert code == 2, (out, err)
    assert err.startswith(f"error: {path}:{where}"), err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    for word in words:
        assert word in err, (word, err)


def test_good_bases_run(run_cli, write):
    for text in (BASE, STACK):
        code, out, err = run_cli("run", write(text), "--format", "json")
        assert code == 0, err


# -- the working -------------------------------------------------------------------------------

def test_short_sequences_are_worked_in_full(run_cli):
    """T ≤ 8: every time step's forward and backward working without --full (issue #14)."""
    code, out, _ = run_cli("run", str(ROOT / "problems" / "bptt_clip_truncate.yaml"))
    assert code == 0
    for t in range(1, 7):
        assert f"Forward pass, time step t = {t}" in out
    for t in (6, 5, 4):
        assert f"Backward pass, time step t = {t}" in out
    assert "--full" not in out
    assert "‖g‖ = 45.15 > θ = 1" in out
    assert "threshold θ = clip" not in out


def test_markdown_tables_are_narrow(run_cli):
    """No table of the rnn working has more than 5 columns (issue #14)."""
    for name in ("rnn_forward.yaml", "bptt_many_to_many.yaml", "bptt_clip_truncate.yaml", "rnn_stacked.yaml",
                 "bptt_stacked_upstream.yaml", "bptt_sentiment.yaml"):
        code, out, _ = run_cli("run", str(ROOT / "problems" / name), "--format", "markdown")
        assert code == 0
        for line in out.splitlines():
            if line.startswith("|"):
                assert line.count("|") - 1 <= 5, (name, line)


def test_no_yaml_names_in_the_prose(run_cli):
    for name in ("bptt_clip_truncate.yaml", "bptt_many_to_many.yaml", "rnn_stacked.yaml"):
        code, out, _ = run_cli("run", str(ROOT / "problems" / name), "--format", "markdown")
        assert code == 0
        for leak in ("half_sse", r"f = \mathrm{id}", r"g = \mathrm{id}", r"_{\mathrm{new}}", "= clip"):
            assert leak not in out, (name, leak)
        for line in out.splitlines():  # Σ_j only over quantities indexed by j
            if r"\sum_{j}" in line and "=" in line:
                rhs = line.split(r"\sum_{j}", 1)[1]
                assert ",j}" in rhs, (name, line)


def test_long_stack_is_linear():
    """T = 1000, two layers of 8: every per-step result, in a few seconds."""
    import time
    rng = np.random.default_rng(3)
    T = 1000
    doc = {"kind": "bptt", "inputs": rng.normal(size=(T, 3)).round(3).tolist(),
           "layers": [{"U": (rng.normal(size=(8, 3)) * 0.3).round(3).tolist(),
                       "W": (rng.normal(size=(8, 8)) * 0.2).round(3).tolist()},
                      {"U": (rng.normal(size=(8, 8)) * 0.3).round(3).tolist(),
                       "W": (rng.normal(size=(8, 8)) * 0.2).round(3).tolist(),
                       "V": (rng.normal(size=(1, 8)) * 0.3).round(3).tolist()}],
           "target": 1, "learning_rate": 0.1}
    t0 = time.perf_counter()
    r = solve_text(yaml.safe_dump(doc)).results
    assert time.perf_counter() - t0 < 20
    assert np.shape(r["layers"][0]["grad_W_by_step"]) == (T, 8, 8)
    assert np.shape(r["grad_x"]) == (T, 3)


def test_sums_over_j_are_of_components(run_cli, write):
    """Σ_j runs over the components ŷ_{t,j}, not over the vector ŷ_t (issue #14): the loss,
    and the softmax's weighted sum s_t of a non-canonical loss."""
    path = write("kind: bptt\ninputs: [[1, 0], [0.5, -1]]\noutput: every\noutput_activation: softmax\n"
                 "loss: half_sse\nweights: {U: [[0.4, -0.6], [0.3, 0.8]], W: [[0.5, -0.3], [0.2, 0.4]], "
                 "V: [[1, 1], [0.5, -1]]}\ntarget: [[1, 0], [0, 1]]\n")
    code, out, _ = run_cli("run", path, "--format", "markdown")
    assert code == 0
    sums = [line for line in out.splitlines() if r"\sum_{j}" in line and "&=" in line]
    assert len(sums) >= 4
    for line in sums:
        assert ",j}" in line.split(r"\sum_{j}", 1)[1], line
