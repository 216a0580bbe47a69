"""The backward pass of kinds lstm and gru (shared/spec/recurrent.md).

Expected values come from elsewhere than nnsolve: PyTorch autograd in float64
(tests/reference/gated.json, written by tests/reference/make_gated.py), Aidan Gomez's
published example, and central finite differences of a NumPy forward pass written here.
"""
import json
import time

import numpy as np
import pytest
import yaml
from hypothesis import given, settings, strategies as st

from conftest import ROOT
from nnsolve.core import solve_file, solve_text
from nnsolve.render import json as render_json

TOL = 1e-9
CASES = json.loads((ROOT / "tests" / "reference" / "gated.json").read_text(encoding="utf-8"))["cases"]


def compare(got, want, tol=TOL, path="results"):
    """Every expected result (nested: layers, updated) at tol; shapes kept exactly."""
    if isinstance(want, dict):
        assert isinstance(got, dict), path
        for k, v in want.items():
            assert k in got, f"{path}.{k} missing"
            compare(got[k], v, tol, f"{path}.{k}")
        return
    if isinstance(want, list) and want and isinstance(want[0], dict):
        assert len(got) == len(want), path
        for j, (g, w) in enumerate(zip(got, want), start=1):
            compare(g, w, tol, f"{path}[{j}]")
        return
    a, b = np.array(got), np.array(want)
    assert a.shape == b.shape, (path, a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=0, atol=tol, err_msg=path)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_matches_torch_autograd(case):
    w = solve_text(yaml.safe_dump(case["problem"]))
    compare(w.results, {**case["expected"], **case["expected_nested"]})


def test_every_gradient_key_is_present():
    r = solve_text(yaml.safe_dump(next(c for c in CASES if c["id"] == "gru_pytorch_linear_half_sse_every")["problem"])).results
    for k in ("z", "r", "h"):
        for w in "WUb":
            assert f"grad_{w}_{k}" in r
    assert "grad_b_hn" in r and "grad_V" in r and "grad_c" in r and "updated" in r
    assert set(r["updated"]) >= {"W_z", "U_h", "b_hn", "V", "c"}


# -- Gomez's example ------------------------------------------------------------------

# The updated weights of his post's last table (rows a, i, f, o) at five decimals. His figures are
# images and no text copy of them was found, so these are as remembered from the post; they
# agree with PyTorch autograd (gated.json, case "gomez") to within 1e-5 (he rounds as he goes).
GOMEZ_UPDATED = {"W_c": [0.45267, 0.25922], "W_i": [0.95022, 0.80067], "W_f": [0.70031, 0.45189],
                 "W_o": [0.60259, 0.41626], "U_c": 0.15104, "U_i": 0.80006, "U_f": 0.10034, "U_o": 0.25297,
                 "b_c": 0.20364, "b_i": 0.65028, "b_f": 0.15063, "b_o": 0.10536}


def test_gomez_example_reaches_his_updated_weights():
    r = solve_file(str(ROOT / "problems" / "lstm_gomez_backward.yaml")).results
    for k, want in GOMEZ_UPDATED.items():
        np.testing.assert_allclose(np.ravel(r["updated"][k]), np.ravel(want), atol=1e-5, err_msg=k)
    # by hand: ŷ_2 = h_2 = 0.77198, Δ_2 = ŷ − y = 0.77198 − 1.25; no later step, so ∂L/∂h_2 = Δ_2
    assert abs(r["dL_dh"][1][0] - (r["h"][1][0] - 1.25)) < 1e-15
    # ∂L/∂c_1 = ∂L/∂h_1 o_1 (1 − tanh² c_1) + ∂L/∂c_2 f_2, the two sources
    o1, c1, f2 = r["o"][0][0], r["c"][0][0], r["f"][1][0]
    want = r["dL_dh"][0][0] * o1 * (1 - np.tanh(c1) ** 2) + r["dL_dc"][1][0] * f2
    assert abs(r["dL_dc"][0][0] - want) < 1e-15
    # the loss ½(h_1 − 0.5)² + ½(h_2 − 1.25)²
    assert abs(r["loss"] - 0.5 * ((r["h"][0][0] - 0.5) ** 2 + (r["h"][1][0] - 1.25) ** 2)) < 1e-15
    gomez = next(c for c in CASES if c["id"] == "gomez")
    compare(r, {**gomez["expected"], **gomez["expected_nested"]})


def test_gomez_working_goes_backwards_like_his_post():
    data = json.loads(render_json.render(solve_file(str(ROOT / "problems" / "lstm_gomez_backward.yaml"))))
    titles = [s["title"] for s in data["sections"]]
    assert titles.index("Backward pass, time step t = 2") < titles.index("Backward pass, time step t = 1")
    steps = {(s["title"], b.get("id")): b for s in data["sections"] for b in s["blocks"] if b["type"] == "step"}
    dc1 = steps["Backward pass, time step t = 1", "dL_dc[1]"]
    assert "Δc₁" in dc1["symbolic"] and "tanh(c₁)" in dc1["symbolic"], dc1
    df1 = steps["Backward pass, time step t = 1", "delta_f[1]"]
    assert "f₁ (1 − f₁)" in df1["symbolic"], df1
    assert any(t.startswith("Vanishing gradient along the cell state") for t in titles)
    upd = steps["Update: w ← w − η ∂L/∂w", "updated.W_c"]
    assert "η" in upd["symbolic"]


def test_files_without_the_new_keys_keep_their_results():
    for name in ("lstm_seed.yaml", "lstm_two_units.yaml", "gru_cho.yaml", "gru_pytorch.yaml"):
        r = solve_file(str(ROOT / "problems" / name)).results
        assert not any(k.startswith(("grad_", "delta_", "dL_")) for k in r), name
        assert "loss" not in r and "updated" not in r


def test_rounding_and_step_ids():
    w = solve_file(str(ROOT / "problems" / "lstm_gomez_backward.yaml"), rounding=3)
    r = w.results
    assert r["updated"]["b_c"][0] == round(r["updated"]["b_c"][0], 3)
    assert r["dL_dh"][1][0] == round(r["h"][1][0] - 1.25, 3)


# -- central finite differences of a NumPy forward written here --------------------------

def sig(v):
    return 1 / (1 + np.exp(-v))


def np_lstm(P, X, h0, c0):
    h, c, H, Cs = h0, c0, [], []
    for x in X:
        a = {g: P[f"W_{g}"] @ x + P[f"U_{g}"] @ h + P[f"b_{g}"] for g in "fico"}
        c = sig(a["f"]) * c + sig(a["i"]) * np.tanh(a["c"])
        h = sig(a["o"]) * np.tanh(c)
        H.append(h)
        Cs.append(c)
    return H, Cs


def np_gru(P, X, h0, convention, reset_after=True):
    h, H = h0, []
    before = convention == "cho" or (convention == "keras" and not reset_after)
    for x in X:
        z = sig(P["W_z"] @ x + P["U_z"] @ h + P["b_z"])
        r = sig(P["W_r"] @ x + P["U_r"] @ h + P["b_r"])
        if before:
            ht = np.tanh(P["W_h"] @ x + P["U_h"] @ (r * h) + P["b_h"])
        else:
            ht = np.tanh(P["W_h"] @ x + P["b_h"] + r * (P["U_h"] @ h + P["b_hn"]))
        h = (1 - z) * h + z * ht if convention == "cho" else z * h + (1 - z) * ht
        H.append(h)
    return H


def np_loss(H, V, c, act, loss, targets, every):
    steps = range(len(H)) if every else [len(H) - 1]
    total = 0.0
    for j, t in enumerate(steps):
        o = V @ H[t] + c
        yh = {"linear": o, "tanh": np.tanh(o), "sigmoid": sig(o), "softmax": np.exp(o) / np.exp(o).sum()}[act]
        y = targets[j]
        total += {"half_sse": lambda: 0.5 * np.sum((yh - y) ** 2), "mse": lambda: np.mean((yh - y) ** 2),
                  "bce": lambda: -np.sum(y * np.log(yh) + (1 - y) * np.log(1 - yh)),
                  "cross_entropy": lambda: -np.sum(y * np.log(yh))}[loss]()
    return total


HEADS = [("linear", "half_sse"), ("tanh", "mse"), ("sigmoid", "bce"), ("softmax", "cross_entropy"),
         ("sigmoid", "half_sse")]
small = st.floats(-1, 1, allow_nan=False, width=64)


@st.composite
def problems(draw):
    cell = draw(st.sampled_from(["lstm", "gru_cho", "gru_pytorch", "gru_keras_false"]))
    T, n, m = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    act, loss = draw(st.sampled_from(HEADS))
    k = draw(st.integers(2, 3)) if act == "softmax" else draw(st.integers(1, 2))
    every = draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    u = lambda *s: rng.uniform(-1, 1, size=s)
    gates = "fico" if cell == "lstm" else "zrh"
    P = {}
    for g in gates:
        P[f"W_{g}"], P[f"U_{g}"], P[f"b_{g}"] = u(m, n), u(m, m), u(m)
    if cell in ("gru_pytorch",):
        P["b_hn"] = u(m)
    X, h0, c0 = u(T, n), u(m), u(m)
    V, c = u(k, m), u(k)
    steps = T if every else 1
    if act == "softmax":
        targets = [np.eye(k)[rng.integers(k)] for _ in range(steps)]
    elif loss == "bce":
        targets = [rng.uniform(0, 1, size=k) for _ in range(steps)]
    else:
        targets = [u(k) for _ in range(steps)]
    return cell, P, X, h0, c0, V, c, act, loss, targets, every


@settings(max_examples=30, deadline=None)
@given(problems())
def test_gradients_match_central_differences(prob):
    cell, P, X, h0, c0, V, c, act, loss, targets, every = prob
    lstm = cell == "lstm"
    conv = {"gru_cho": ("cho", True), "gru_pytorch": ("pytorch", True), "gru_keras_false": ("keras", False)}.get(cell)

    def L(P, X, h0, c0, V, c):
        H = np_lstm(P, X, h0, c0)[0] if lstm else np_gru(P, X, h0, *conv)
        return np_loss(H, V, c, act, loss, targets, every)

    doc = {"kind": "lstm" if lstm else "gru", "inputs": X.tolist(), "weights": {k: v.tolist() for k, v in P.items()},
           "initial": {"h": h0.tolist(), **({"c": c0.tolist()} if lstm else {})},
           "output": "every" if every else "last", "loss": loss,
           "output_layer": {"V": V.tolist(), "c": c.tolist(), "activation": act},
           "target": [y.tolist() for y in targets] if every else targets[0].tolist()}
    if not lstm:
        doc["convention"] = conv[0]
        if conv[0] == "keras":
            doc["reset_after"] = conv[1]
    r = solve_text(yaml.safe_dump(doc)).results
    args = {"P": P, "X": X, "h0": h0, "c0": c0, "V": V, "c": c}
    eps = 1e-6

    def numeric(name, key=None):
        base = args[name][key] if key else args[name]
        g = np.zeros_like(base)
        for idx in np.ndindex(base.shape):
            old = base[idx]
            base[idx] = old + eps
            up = L(**args)
            base[idx] = old - eps
            down = L(**args)
            base[idx] = old
            g[idx] = (up - down) / (2 * eps)
        return g

    assert abs(r["loss"] - L(**args)) < 1e-12
    for key in P:
        np.testing.assert_allclose(r["grad_" + key], numeric("P", key), atol=2e-6, rtol=1e-6, err_msg=key)
    np.testing.assert_allclose(r["grad_x"], numeric("X"), atol=2e-6, rtol=1e-6, err_msg="grad_x")
    np.testing.assert_allclose(r["grad_h0"], numeric("h0"), atol=2e-6, rtol=1e-6, err_msg="grad_h0")
    np.testing.assert_allclose(r["grad_V"], numeric("V"), atol=2e-6, rtol=1e-6, err_msg="grad_V")
    np.testing.assert_allclose(r["grad_c"], numeric("c"), atol=2e-6, rtol=1e-6, err_msg="grad_c")
    if lstm:
        np.testing.assert_allclose(r["grad_c0"], numeric("c0"), atol=2e-6, rtol=1e-6, err_msg="grad_c0")


def test_upstream_is_the_gradient_of_a_linear_function_of_h():
    """upstream {h: G}: the backward pass of L = Σ_t G_t · h_t; by finite differences."""
    rng = np.random.default_rng(3)
    T, n, m = 3, 2, 2
    P = {f"{w}_{g}": rng.uniform(-1, 1, size=s) for g in "fico" for w, s in (("W", (m, n)), ("U", (m, m)), ("b", (m,)))}
    X, G, Gc = rng.uniform(-1, 1, (T, n)), rng.uniform(-1, 1, (T, m)), rng.uniform(-1, 1, m)
    doc = {"kind": "lstm", "inputs": X.tolist(), "weights": {k: v.tolist() for k, v in P.items()},
           "upstream": {"h": G.tolist(), "c": Gc.tolist()}}
    r = solve_text(yaml.safe_dump(doc)).results
    assert "loss" not in r and "y_hat" not in r

    def L():
        H, C = np_lstm(P, X, np.zeros(m), np.zeros(m))
        return sum(G[t] @ H[t] for t in range(T)) + Gc @ C[-1]
    eps = 1e-6
    for key in ("W_f", "U_o", "b_c"):
        g = np.zeros_like(P[key])
        for idx in np.ndindex(g.shape):
            old = P[key][idx]
            P[key][idx] = old + eps
            up = L()
            P[key][idx] = old - eps
            g[idx] = (up - L()) / (2 * eps)
            P[key][idx] = old
        np.testing.assert_allclose(r["grad_" + key], g, atol=1e-7, err_msg=key)
    np.testing.assert_allclose(r["dL_dh"][T - 1], G[T - 1], atol=1e-15)  # nothing comes back to h_T


def test_scalar_weights_give_full_shape_gradients():
    r = solve_file(str(ROOT / "problems" / "lstm_gomez_backward.yaml")).results
    assert np.array(r["grad_U_f"]).shape == (1, 1) and np.array(r["grad_b_f"]).shape == (1,)
    assert np.array(r["grad_W_f"]).shape == (1, 2) and np.array(r["grad_x"]).shape == (2, 2)


# -- bad input ------------------------------------------------------------------------

GOMEZ_TEXT = (ROOT / "problems" / "lstm_gomez_backward.yaml").read_text()


def run_bad(run_cli, write, text):
    path = write(text)
    code, out, err = run_cli("run", path)
    assert code == 2, (code, out, err)
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}:"), err
    return path, lines[0]


def line_of(text, needle):
    return next(k for k, line in enumerate(text.splitlines(), start=1) if needle in line)


@pytest.mark.parametrize("old,new,where,words", [
    ("target: [0.5, 1.25]", "target: [0.5, 1.25, 2]", "target:", ["target", "T = 2"]),
    ("target: [0.5, 1.25]", "target: [0.5, [1, 2]]", "target:", ["target[1]", "length k = 1"]),
    ("loss: half_sse", "loss: bce", "loss:", ["loss", "output layer"]),
    ("loss: half_sse", "loss: hinge", "loss:", ["loss", "expected one of"]),
    ("learning_rate: 0.1", "learning_rate: -1", "learning_rate", ["learning_rate", "positive"]),
    ("output: every", "output: all", "output:", ["output", "every"]),
    ("target: [0.5, 1.25]", "target: [0.5, 1.25]\nupstream: {h: [[1], [2]]}", "upstream", ["upstream", "one or the other"]),
    ("output: every\ntarget: [0.5, 1.25]\nloss: half_sse", "upstream: {h: [[1, 2], [2, 3]]}", "upstream", ["upstream.h", "2 × 1"]),
    ("output: every\ntarget: [0.5, 1.25]\nloss: half_sse", "upstream: {h: [[1], [2]], c: [1, 2]}", "upstream", ["upstream.c", "length m = 1"]),
    ("output: every\ntarget: [0.5, 1.25]\nloss: half_sse", "upstream: {g: [[1], [2]]}", "upstream", ["upstream.g", "unknown key"]),
    ("target: [0.5, 1.25]", "target: [0.5, 1.25]\noutput_layer: {V: [[1, 2]]}", "output_layer", ["output_layer.V", "m = 1"]),
    ("target: [0.5, 1.25]", "target: [0.5, 1.25]\noutput_layer: {V: [[1]], activation: softmax}", "output_layer",
     ["output_layer.activation", "softmax"]),
    ("target: [0.5, 1.25]", "target: [0.5, 1.25]\noutput_layer: {V: [[1]], c: [1, 2]}", "output_layer",
     ["output_layer.c", "length k = 1"]),
    ("target: [0.5, 1.25]", "target: [0.5, 1.25]\noutput_layer: {V: [[1]], bias: [1]}", "output_layer",
     ["output_layer.bias", "V, c, activation"]),
])
def test_malformed_backward_keys(run_cli, write, old, new, where, words):
    text = GOMEZ_TEXT.replace(old, new)
    assert text != GOMEZ_TEXT
    path, msg = run_bad(run_cli, write, text)
    assert f"{path}:{line_of(text, where)}:" in msg, msg
    for w in words:
        assert w in msg, (w, msg)


def test_keys_that_need_a_target(run_cli, write):
    base = (ROOT / "problems" / "lstm_seed.yaml").read_text()
    for extra, key in (("loss: mse\n", "loss"), ("learning_rate: 0.1\n", "learning_rate"),
                       ("output: every\n", "output")):
        _, msg = run_bad(run_cli, write, base + extra)
        assert key in msg and "target" in msg, msg


def test_gru_upstream_has_no_c(run_cli, write):
    text = ("kind: gru\ninputs: [[1]]\nweights: {W_z: 1, W_r: 1, W_h: 1, U_z: 1, U_r: 1, U_h: 1}\n"
            "upstream: {h: [[1]], c: [1]}\n")
    _, msg = run_bad(run_cli, write, text)
    assert "upstream.c" in msg, msg


def test_reset_after_needs_keras(run_cli, write):
    text = ("kind: gru\ninputs: [[1]]\nweights: {W_z: 1, W_r: 1, W_h: 1, U_z: 1, U_r: 1, U_h: 1}\n"
            "reset_after: false\n")
    path, msg = run_bad(run_cli, write, text)
    assert f"{path}:4:" in msg and "reset_after" in msg and "keras" in msg, msg
    _, msg = run_bad(run_cli, write, text.replace("reset_after: false", "convention: keras\nreset_after: maybe"))
    assert "reset_after" in msg and "true or false" in msg, msg
    _, msg = run_bad(run_cli, write, text.replace("U_h: 1}", "U_h: 1, b_hn: 1}").replace(
        "reset_after: false", "convention: keras\nreset_after: false"))
    assert "b_hn" in msg, msg


# -- the three GRU conventions ----------------------------------------------------------

def test_keras_reset_after_true_is_the_pytorch_cell():
    d = yaml.safe_load((ROOT / "problems" / "gru_pytorch.yaml").read_text())
    a = solve_text(yaml.safe_dump(d)).results
    d["convention"] = "keras"
    b = solve_text(yaml.safe_dump(d)).results
    for k in ("z", "r", "h_tilde", "h"):
        assert a[k] == b[k]


def test_keras_reset_after_false_by_hand():
    """TF1's GRUCell, one unit: z = σ(0.5), r = σ(0.3 + 0.4·0.2), h̃ = tanh(0.7 + 0.6 r h0), h = z h0 + (1 − z) h̃."""
    text = ("kind: gru\nconvention: keras\nreset_after: false\ninputs: [[1]]\n"
            "weights: {W_z: 0.5, W_r: 0.3, W_h: 0.7, U_z: 0, U_r: 0.4, U_h: 0.6}\ninitial: {h: [0.2]}\n")
    r = solve_text(text).results
    z, rr = sig(0.5), sig(0.3 + 0.4 * 0.2)
    ht = np.tanh(0.7 + 0.6 * rr * 0.2)
    assert abs(r["h_tilde"][0][0] - ht) < 1e-15
    assert abs(r["h"][0][0] - (z * 0.2 + (1 - z) * ht)) < 1e-15


def test_gru_weights_table_names_the_candidate_in_text():
    w = solve_file(str(ROOT / "problems" / "gru_cho.yaml"))
    md = w.to_markdown()
    assert r"$candidate \tilde{h}$" not in md and r"candidate $\tilde{h}$" in md


# -- speed ------------------------------------------------------------------------------

def _lstm_text(T, m=16, n=8, seed=0):
    rng = np.random.default_rng(seed)
    r = lambda *s: np.round(rng.uniform(-0.5, 0.5, size=s), 3).tolist()
    lines = ["kind: lstm", f"inputs: {r(T, n)}", "weights:"]
    for g in "fico":
        lines += [f"  W_{g}: {r(m, n)}", f"  U_{g}: {r(m, m)}", f"  b_{g}: {r(m)}"]
    lines += ["output: every", f"target: {r(T, m)}", "loss: half_sse", "learning_rate: 0.1"]
    return "\n".join(lines) + "\n"


def test_backward_pass_is_linear_in_T():
    """An LSTM with the backward pass, m = 16, solved and written as JSON: T = 2000 costs at most
    1.5 × 8 times T = 250 (linear in T; bench/run.py measures the whole process)."""
    texts = {T: _lstm_text(T) for T in (250, 2000)}

    def cost(T):  # CPU time, the best of three: a busy machine's other work counts less
        best = float("inf")
        for _ in range(3):
            start = time.process_time()
            w = solve_text(texts[T])
            render_json.render(w)
            best = min(best, time.process_time() - start)
        return best
    small, big = cost(250), cost(2000)
    assert big / small <= 1.5 * 8, (small, big)


# -- framework layouts ----------------------------------------------------------------------

def test_layouts_agree_with_each_other_and_with_the_notes():
    """The same GRU pasted from torch and from Keras (reset_after) runs the same; seed 000's
    LSTM pasted in Keras's layout is the seed's forward pass; the gradients are the notes' ones
    put back in the framework's blocks."""
    a = solve_file(str(ROOT / "problems" / "gru_pytorch_layout.yaml")).results
    b = solve_file(str(ROOT / "problems" / "gru_keras_layout.yaml")).results
    assert a["h"] == b["h"] and a["loss"] == b["loss"]
    m = 2
    gw, gk = np.array(a["grad_weight_ih"]), np.array(b["grad_kernel"])
    # torch rows r, z, n; Keras columns z, r, h
    np.testing.assert_allclose(gw[0:m], gk[:, m:2 * m].T, atol=1e-15)
    np.testing.assert_allclose(gw[m:2 * m], gk[:, 0:m].T, atol=1e-15)
    np.testing.assert_allclose(gw[2 * m:], gk[:, 2 * m:].T, atol=1e-15)
    bias = np.array(b["grad_bias"])
    assert bias.shape == (2, 6)
    np.testing.assert_allclose(bias[0, :4], bias[1, :4], atol=0)  # z, r: both rows enter through their sum
    np.testing.assert_allclose(np.array(a["grad_bias_ih"])[:4], np.array(a["grad_bias_hh"])[:4], atol=0)
    seed = solve_file(str(ROOT / "problems" / "lstm_seed.yaml")).results
    keras = solve_file(str(ROOT / "problems" / "lstm_keras_layout.yaml")).results
    for k in ("f", "i", "g", "o", "c", "h"):
        assert seed[k] == keras[k], k
    assert set(keras["updated"]) == {"kernel", "recurrent_kernel", "bias", "V", "c"}
    assert np.array(keras["grad_kernel"]).shape == (2, 4) and np.array(keras["grad_recurrent_kernel"]).shape == (1, 4)


PT = (ROOT / "problems" / "lstm_pytorch_layout.yaml").read_text()
GK = (ROOT / "problems" / "gru_keras_layout.yaml").read_text()
ST = (ROOT / "problems" / "lstm_stacked.yaml").read_text()


@pytest.mark.parametrize("text,old,new,where,words", [
    (PT, "              [0, 0.1], [-0.2, 0.2]]", "              [0, 0.1]]", "weight_hh:", ["weights.weight_hh", "4m × m", "7 × 2"]),
    (PT, "              [-0.2, 0.6], [0.3, 0.1]]", "              [-0.2, 0.6]]", "weight_ih:", ["weights.weight_ih", "8 × 2", "7 × 2"]),
    (PT, "  bias_ih: [0.1, 0, 0.5, 0.5, 0, 0.1, 0, -0.1]", "  bias_ih: [0.1, 0]", "  bias_ih:", ["weights.bias_ih", "length 4m = 8"]),
    (PT, "  bias_ih:", "  W_f: [[1, 2]]\n  bias_ih:", "W_f:", ["weights.W_f", "layout: notes", "weight_ih"]),
    (PT, "layout: pytorch\n", "", "weight_ih:", ["weights.weight_ih", "layout: pytorch"]),
    (PT, "layout: pytorch\n", "layout: keras\n", "weight_ih:", ["weights.weight_ih", "layout: pytorch", "kernel"]),
    (GK, "  bias: [[0.1, -0.1, 0, 0.2, 0.05, 0],\n         [0, 0, 0, 0, 0.1, -0.05]]", "  bias: [0.1, -0.1, 0, 0.2, 0.05, 0]",
     "bias:", ["weights.bias", "2 × 3m = 2 × 6"]),
    (GK, "layout: keras\n", "layout: keras\nconvention: pytorch\n", "convention:", ["convention", "layout: keras", "keras"]),
    (GK, "layout: keras\n", "layout: keras\nconvention: cho\n", "convention:", ["convention", "not cho"]),
    (GK.replace("layout: keras", "layout: pytorch"), "layout: pytorch\n", "layout: pytorch\nreset_after: false\n",
     "reset_after: false", ["reset_after", "keras"]),
    (GK, "  recurrent_kernel: [[0.1, -0.2, 0.4, 0.2, 0.5, -0.3],", "  recurrent_kernel: [[0.1, -0.2, 0.4, 0.2, 0.5],",
     "  recurrent_kernel:", ["weights.recurrent_kernel"]),
    (ST, "  - W_f: [[0.4, 0.2]]", "  - W_f: [[0.4, 0.2, 0.1]]", "W_f: [[0.4, 0.2, 0.1]]",
     ["layers[1].W_f", "n = 2, the hidden size m of layer 1"]),
    (ST, "    W_i: [[0.3, -0.5]]", "    W_i: [[0.3, -0.5, 1]]", "W_i: [[0.3, -0.5, 1]]", ["layers[1].W_i", "1 × 2"]),
    (ST, "initial: [{h: [0, 0], c: [0, 0]}, {h: [0], c: [0]}]", "initial: {h: [0, 0], c: [0, 0]}", "initial:",
     ["initial", "list of 2"]),
    (ST, "initial: [{h: [0, 0], c: [0, 0]}, {h: [0], c: [0]}]", "initial: [{h: [0, 0], c: [0, 0]}]", "initial:",
     ["initial", "2 initial states"]),
    (ST, "initial: [{h: [0, 0], c: [0, 0]}, {h: [0], c: [0]}]", "initial: [{h: [0, 0], c: [0, 0]}, {h: [0, 0], c: [0]}]",
     "initial:", ["initial[1].h", "length m = 1"]),
    (ST, "layers:\n", "weights: {W_f: 1}\nlayers:\n", "weights:", ["weights", "not both"]),
    (ST, "output_layer: {V: [[1.5]], c: [0], activation: sigmoid}", "output_layer: {V: [[1.5, 1]], activation: sigmoid}",
     "output_layer", ["output_layer.V", "m = 1"]),
    ((ROOT / "problems" / "lstm_seed.yaml").read_text(), "initial: {h: [0], c: [0]}", "initial: [{h: [0], c: [0]}]",
     "initial:", ["initial", "layers"]),
])
def test_malformed_layouts_and_stacks(run_cli, write, text, old, new, where, words):
    assert old in text
    text = text.replace(old, new)
    path, msg = run_bad(run_cli, write, text)
    assert f"{path}:{line_of(text, where)}:" in msg, msg
    for w in words:
        assert w in msg, (w, msg)


# -- stacked layers -------------------------------------------------------------------------

def test_stack_results_are_per_layer():
    r = solve_file(str(ROOT / "problems" / "lstm_stacked.yaml")).results
    assert len(r["layers"]) == 2
    top = r["layers"][1]
    assert r["h"] == top["h"] and r["c"] == top["c"]
    assert np.array(top["grad_W_f"]).shape == (1, 2) and np.array(r["layers"][0]["grad_W_f"]).shape == (2, 2)
    assert np.array(r["grad_x"]).shape == (3, 2) and r["grad_x"] == r["layers"][0]["grad_x"]
    assert np.array(top["grad_x"]).shape == (3, 2)  # what layer 2 sends down: layer 1's upstream
    np.testing.assert_allclose(top["grad_x"][2], r["layers"][0]["dL_dh"][2], atol=1e-15)
    assert set(r["updated"]) == {"V", "c"} and "W_f" in top["updated"]
    # layer 2's input is layer 1's h: layer 1's upstream is what layer 2 sends back to it, and it is
    # all that reaches layer 1's h_T (nothing comes back through time at the last step)
    W = {g: np.array(top[f"W_{g}"]) if f"W_{g}" in top else None for g in "fico"}
    del W
    d = {g: np.array(top[n]) for g, n in (("f", "delta_f"), ("i", "delta_i"), ("c", "delta_g"), ("o", "delta_o"))}
    doc = yaml.safe_load((ROOT / "problems" / "lstm_stacked.yaml").read_text())["layers"][1]
    sent = sum(np.array(doc[f"W_{g}"], float).T @ d[g][2] for g in "fico")
    np.testing.assert_allclose(r["layers"][0]["dL_dh"][2], sent, atol=1e-15)


def test_shown_backward_steps_equal_results_bit_for_bit():
    """The backward working is built only when shown, by the same formulas run on quantities
    instead of arrays: every shown step with a result path has exactly the value in results."""
    from nnsolve.sheet import parse_path
    from nnsolve.working import Step

    def lookup(results, path):
        node = results
        for part in path:
            node = node[part - 1] if isinstance(part, int) else node[part]
        return node

    names = ["lstm_softmax_every.yaml", "gru_keras_backward.yaml", "gru_pytorch_upstream.yaml", "lstm_stacked.yaml",
             "gru_keras_layout.yaml", "lstm_upstream.yaml"]
    for name in names:
        for rounding in (None, 3):
            w = solve_file(str(ROOT / "problems" / name), rounding=rounding)
            checked = 0
            for s in w.sections:
                for b in s.blocks:
                    if isinstance(b, Step) and b.id is not None:
                        want = np.asarray(lookup(w.results, parse_path(b.id)))
                        assert np.array_equal(np.asarray(b.value), want), (name, rounding, b.id)
                        checked += 1
            assert checked > 20, (name, checked)


# -- defects found by random problems ---------------------------------------------------------

def test_upstream_c_alone_over_a_long_sequence():
    """upstream: {c: …} alone: nothing arrives at h_t from above (zeros), for any T (this used
    to fail at t = T − 1 with nothing to sum)."""
    T, m = 10, 2
    d = {"kind": "lstm", "inputs": [[0.1 * t - 0.4] for t in range(T)],
         "weights": {"W_f": [[0.3], [-0.2]], "W_i": [[0.5], [0.1]], "W_c": [[-0.4], [0.6]], "W_o": [[0.2], [0.3]],
                     "U_f": [[0.1, 0.2], [0, 0.3]], "U_i": [[0.2, -0.1], [0.1, 0.2]],
                     "U_c": [[0.3, 0.1], [-0.2, 0.3]], "U_o": [[0.1, 0.2], [0.2, 0.1]]},
         "upstream": {"c": [0.5, -0.25]}}
    res = solve_text(yaml.safe_dump(d)).results
    assert len(res["dL_dh"]) == T
    assert res["dL_dh"][-1] == [0.0, 0.0]  # at t = T only upstream.h (zero) reaches h_T
    both = dict(d, upstream={"c": [0.5, -0.25], "h": [[0.0, 0.0]] * T})
    assert solve_text(yaml.safe_dump(both)).results == res


def test_a_scalar_loss_per_step_on_the_silent_page():
    """One hidden unit, a target at every step, mse: each step's L_t is a number on the silent
    steps too (it was a vector of one, and summing the losses failed from t = 4 on)."""
    d = {"kind": "lstm", "inputs": [[0.5], [-1], [0.25], [1], [0.75]],
         "weights": {"kernel": [[0.1, 0.2, 0.3, 0.4]], "recurrent_kernel": [[0.1, 0.1, 0.1, 0.1]],
                     "bias": [0, 1, 0, 0]},
         "layout": "keras", "output": "every", "target": [0.1, 0.2, 0.3, 0.4, 0.5], "loss": "mse"}
    res = solve_text(yaml.safe_dump(d)).results
    h = np.array(res["h"]).reshape(-1)
    assert res["loss"] == pytest.approx(float(np.sum((h - [0.1, 0.2, 0.3, 0.4, 0.5]) ** 2)), rel=1e-12)
