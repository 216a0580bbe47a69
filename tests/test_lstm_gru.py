"""kind: lstm and kind: gru.

Expected values come from elsewhere than nnsolve: the hand working of seed 000's LSTM example
(design/working-style.md, checked by hand), an independent NumPy forward pass written here in
torch.nn.LSTM / torch.nn.GRU's stacked-gate layout, and torch itself when it is installed.
"""
import json

import numpy as np
import pytest
import yaml
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from conftest import ROOT
from nnsolve.core import solve_file, solve_text
from nnsolve.render import json as render_json

TOL = 1e-9


# -- an independent reference, in torch's layout --------------------------------------

def sig(v):
    return 1.0 / (1.0 + np.exp(-v))


def ref_lstm(X, w_ih, w_hh, b_ih, b_hh, h0, c0):
    """torch.nn.LSTM: the four gates stacked as rows [i; f; g; o]."""
    m = w_hh.shape[1]
    h, c = h0, c0
    out = {k: [] for k in "figoch"}
    for x in X:
        a = w_ih @ x + b_ih + w_hh @ h + b_hh
        i, f, g, o = sig(a[:m]), sig(a[m:2 * m]), np.tanh(a[2 * m:3 * m]), sig(a[3 * m:])
        c = f * c + i * g
        h = o * np.tanh(c)
        for k, v in zip("figoch", (f, i, g, o, c, h)):
            out[k].append(v)
    return {k: np.array(v) for k, v in out.items()}


def ref_gru(X, w_ih, w_hh, b_ih, b_hh, h0, convention):
    """torch.nn.GRU's layout: rows [r; z; n]. pytorch: n = tanh(W_in x + b_in + r (W_hn h + b_hn)),
    h = (1 - z) n + z h. cho (the notes): n = tanh(W_in x + b_in + W_hn (r h) + b_hn),
    h = (1 - z) h + z n."""
    m = w_hh.shape[1]
    h = h0
    out = {k: [] for k in ("z", "r", "h_tilde", "h")}
    for x in X:
        gi = w_ih @ x + b_ih
        gh = w_hh @ h + b_hh
        r = sig(gi[:m] + gh[:m])
        z = sig(gi[m:2 * m] + gh[m:2 * m])
        if convention == "pytorch":
            n = np.tanh(gi[2 * m:] + r * gh[2 * m:])
            h = (1 - z) * n + z * h
        else:
            n = np.tanh(gi[2 * m:] + w_hh[2 * m:] @ (r * h) + b_hh[2 * m:])
            h = (1 - z) * h + z * n
        for k, v in zip(("z", "r", "h_tilde", "h"), (z, r, n, h)):
            out[k].append(v)
    return {k: np.array(v) for k, v in out.items()}


def lstm_yaml(X, w_ih, w_hh, b_ih, b_hh, h0, c0):
    m = w_hh.shape[1]
    part = lambda a, k: a[k * m:(k + 1) * m].tolist()
    weights = {}
    for k, g in enumerate("ifco"):  # torch's order i, f, g (our c), o
        weights[f"W_{g}"] = part(w_ih, k)
        weights[f"U_{g}"] = part(w_hh, k)
        weights[f"b_{g}"] = (b_ih + b_hh)[k * m:(k + 1) * m].tolist()
    return yaml.safe_dump({"kind": "lstm", "inputs": X.tolist(), "weights": weights,
                           "initial": {"h": h0.tolist(), "c": c0.tolist()}})


def gru_yaml(X, w_ih, w_hh, b_ih, b_hh, h0, convention):
    m = w_hh.shape[1]
    part = lambda a, k: a[k * m:(k + 1) * m].tolist()
    weights = {}
    for k, g in enumerate("rzh"):  # torch's order r, z, n (our h)
        weights[f"W_{g}"] = part(w_ih, k)
        weights[f"U_{g}"] = part(w_hh, k)
    weights["b_r"] = part(b_ih + b_hh, 0)
    weights["b_z"] = part(b_ih + b_hh, 1)
    if convention == "pytorch":
        weights["b_h"], weights["b_hn"] = part(b_ih, 2), part(b_hh, 2)
    else:
        weights["b_h"] = part(b_ih + b_hh, 2)
    return yaml.safe_dump({"kind": "gru", "convention": convention, "inputs": X.tolist(),
                           "weights": weights, "initial": {"h": h0.tolist()}})


def check_results(results, expected, T, m):
    for k, want in expected.items():
        got = results[k]
        assert isinstance(got, list) and len(got) == T and all(len(row) == m for row in got), k
        np.testing.assert_allclose(np.array(got), want, rtol=0, atol=TOL, err_msg=k)


values = st.floats(-3, 3, allow_nan=False, allow_infinity=False, width=64)


@st.composite
def cell(draw, gates):
    m = draw(st.integers(1, 6))
    n = draw(st.integers(1, 4))
    T = draw(st.integers(1, 6))
    arr = lambda *shape: draw(hnp.arrays(np.float64, shape, elements=values))
    return (arr(T, n), arr(gates * m, n), arr(gates * m, m), arr(gates * m), arr(gates * m), arr(m))


# -- the seed's LSTM example ----------------------------------------------------------

# Seed 000's example worked by hand (working-style.md; every value rechecked by hand):
# t = 1: f = σ(1.75), i = σ(3.2), g = tanh(1.15), o = σ(1.5), c = i g, h = o tanh(c);
# t = 2 with h_1 = 0.5363, c_1 = 0.7857.
SEED = {"f": [0.8520, 0.8703], "i": [0.9608, 0.9812], "g": [0.8178, 0.8498],
        "o": [0.8176, 0.8499], "c": [0.7857, 1.5176], "h": [0.5363, 0.7720]}


def test_seed_lstm_matches_the_hand_working():
    w = solve_file(str(ROOT / "problems" / "lstm_seed.yaml"))
    for k, want in SEED.items():
        got = w.results[k]
        assert [len(row) for row in got] == [1, 1], k  # T × m, a list even for m = 1
        assert np.allclose([row[0] for row in got], want, atol=5e-5), (k, got)


def test_seed_lstm_working_reads_like_the_notes():
    data = json.loads(render_json.render(solve_file(str(ROOT / "problems" / "lstm_seed.yaml"))))
    steps = {(s["title"], b["label"]): b for s in data["sections"] for b in s["blocks"]
             if b["type"] == "step"}
    f1 = steps["Time step t = 1", "Forget gate"]
    assert f1["symbolic"] == "σ(W_f x₁ + U_f h₀ + b_f)"
    assert f1["substituted"] == "σ(0.7 · 1 + 0.45 · 2 + 0.1 · 0 + 0.15)"
    assert "σ(1.75)" in f1["evaluated"]
    i1 = steps["Time step t = 1", "Input gate"]
    assert i1["substituted"] == "σ(0.95 · 1 + 0.8 · 2 + 0.8 · 0 + 0.65)" and "σ(3.2)" in i1["evaluated"]
    h1 = steps["Time step t = 1", "Hidden state"]
    assert h1["symbolic"] == "o₁ ⊙ tanh(c₁)"
    assert h1["substituted"] == "0.8176 · tanh(0.7857)" and "0.8176 · 0.6560" in h1["evaluated"]
    c2 = steps["Time step t = 2", "Cell state"]
    assert c2["substituted"] == "0.8703 · 0.7857 + 0.9812 · 0.8498"
    titles = [s["title"] for s in data["sections"]]
    assert "Time step t = 1" in titles and "Time step t = 2" in titles
    summary = next(s for s in data["sections"] if s["title"].startswith("Summary"))
    table = next(b for b in summary["blocks"] if b["type"] == "table")
    assert table["columns"] == ["t", "fₜ", "iₜ", "gₜ", "oₜ", "cₜ", "hₜ"]
    assert len(table["rows"]) == 2


# -- against the independent reference ------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(cell(4), st.data())
def test_lstm_matches_numpy_reference(params, data):
    X, w_ih, w_hh, b_ih, b_hh, h0 = params
    c0 = data.draw(hnp.arrays(np.float64, h0.shape, elements=values))
    T, m = len(X), len(h0)
    w = solve_text(lstm_yaml(X, w_ih, w_hh, b_ih, b_hh, h0, c0))
    check_results(w.results, ref_lstm(X, w_ih, w_hh, b_ih, b_hh, h0, c0), T, m)
    render_json.render(w)  # the working renders too


@pytest.mark.parametrize("convention", ["cho", "pytorch"])
@settings(max_examples=30, deadline=None)
@given(params=cell(3))
def test_gru_matches_numpy_reference(convention, params):
    X, w_ih, w_hh, b_ih, b_hh, h0 = params
    T, m = len(X), len(h0)
    w = solve_text(gru_yaml(X, w_ih, w_hh, b_ih, b_hh, h0, convention))
    check_results(w.results, ref_gru(X, w_ih, w_hh, b_ih, b_hh, h0, convention), T, m)
    render_json.render(w)


def test_conventions_agree_when_nothing_is_reset_and_z_is_one_half():
    """With U_h = 0 and no b_hn, the candidates agree; with z = 1/2 (all z weights 0) the two
    updates (1 - z) h + z h~ and (1 - z) h~ + z h coincide: the two conventions give one h."""
    text = """kind: gru
inputs: [[1, -2], [0.5, 0.25]]
weights: {{W_z: [[0, 0]], W_r: [[0.3, 0.1]], W_h: [[0.7, -0.2]], U_z: 0, U_r: 0.4, U_h: 0,
          b_z: 0, b_r: 0.1, b_h: 0.05}}
initial: {{h: [0.3]}}
convention: {}
"""
    a = solve_text(text.format("cho")).results
    b = solve_text(text.format("pytorch")).results
    np.testing.assert_allclose(a["h"], b["h"], atol=1e-15)
    # and by hand: z = 1/2 throughout; h~_1 = tanh(0.7 + 0.4 + 0.05) = tanh(1.15)
    assert a["z"][0][0] == 0.5
    assert abs(a["h_tilde"][0][0] - np.tanh(1.15)) < 1e-15
    assert abs(a["h"][0][0] - (0.5 * 0.3 + 0.5 * np.tanh(1.15))) < 1e-15


def test_problem_files_against_reference():
    """The GRU and two-unit LSTM examples in problems/, recomputed here from their YAML."""
    for name in ("gru_cho.yaml", "gru_pytorch.yaml"):
        d = yaml.safe_load((ROOT / "problems" / name).read_text())
        W = d["weights"]
        X = np.array(d["inputs"], float)
        m = len(W["W_z"])
        w_ih = np.vstack([W["W_r"], W["W_z"], W["W_h"]])
        w_hh = np.vstack([W["U_r"], W["U_z"], W["U_h"]])
        b_ih = np.concatenate([W["b_r"], W["b_z"], W["b_h"]])
        b_hh = np.concatenate([np.zeros(2 * m), W.get("b_hn", np.zeros(m))])
        want = ref_gru(X, w_ih, w_hh, b_ih, b_hh, np.array(d["initial"]["h"], float), d["convention"])
        check_results(solve_file(str(ROOT / "problems" / name)).results, want, len(X), m)
    d = yaml.safe_load((ROOT / "problems" / "lstm_two_units.yaml").read_text())
    W = d["weights"]
    X = np.array(d["inputs"], float).reshape(-1, 1)  # one number per step: n = 1
    col = lambda v: np.array(v, float).reshape(-1, 1)  # a flat W of an n = 1 problem is a column
    w_ih = np.vstack([col(W["W_i"]), col(W["W_f"]), col(W["W_c"]), col(W["W_o"])])
    w_hh = np.vstack([W["U_i"], W["U_f"], W["U_c"], W["U_o"]])
    b_ih = np.concatenate([W["b_i"], W["b_f"], W["b_c"], W["b_o"]])
    want = ref_lstm(X, w_ih, w_hh, b_ih, np.zeros_like(b_ih), np.array(d["initial"]["h"], float),
                    np.array(d["initial"]["c"], float))
    check_results(solve_file(str(ROOT / "problems" / "lstm_two_units.yaml")).results, want, len(X), 2)


def test_defaults_are_zeros():
    """No biases, no initial state: b = 0, h_0 = c_0 = 0. One unit, one input x = 2, all weights
    1: f = i = o = σ(2), g = tanh(2), c = σ(2) tanh(2), h = σ(2) tanh(c)."""
    r = solve_text("kind: lstm\ninputs: [[2]]\nweights: {W_f: 1, W_i: 1, W_c: 1, W_o: 1, "
                   "U_f: 1, U_i: 1, U_c: 1, U_o: 1}\n").results
    s = 1 / (1 + np.exp(-2.0))
    assert r["f"] == r["i"] == r["o"] == [[s]]
    assert abs(r["c"][0][0] - s * np.tanh(2.0)) < 1e-15
    assert abs(r["h"][0][0] - s * np.tanh(s * np.tanh(2.0))) < 1e-15


# -- torch itself, stored: tests/reference/{lstm,gru}.json (make_reference.py) ----------
# Random cells drawn as cell() draws them, run through torch.nn.LSTMCell / torch.nn.GRU in
# float64; the problem files are built from torch's stacked weights as lstm_yaml/gru_yaml do.

def _torch_cases(name):
    return json.loads((ROOT / "tests" / "reference" / name).read_text(encoding="utf-8"))["cases"]


_TORCH_LSTM = _torch_cases("lstm.json")
_TORCH_GRU = _torch_cases("gru.json")


@pytest.mark.parametrize("case", _TORCH_LSTM, ids=[c["id"] for c in _TORCH_LSTM])
def test_lstm_matches_torch(case):
    r = solve_text(yaml.safe_dump(case["problem"])).results
    np.testing.assert_allclose(r["h"], np.array(case["expected"]["h"]), rtol=0, atol=TOL)
    np.testing.assert_allclose(r["c"], np.array(case["expected"]["c"]), rtol=0, atol=TOL)


@pytest.mark.parametrize("case", _TORCH_GRU, ids=[c["id"] for c in _TORCH_GRU])
def test_gru_pytorch_convention_matches_torch(case):
    assert case["problem"]["convention"] == "pytorch"
    r = solve_text(yaml.safe_dump(case["problem"])).results
    np.testing.assert_allclose(r["h"], np.array(case["expected"]["h"]), rtol=0, atol=TOL)


# -- bad input ------------------------------------------------------------------------

SEED_TEXT = (ROOT / "problems" / "lstm_seed.yaml").read_text()


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


def test_input_of_the_wrong_length(run_cli, write):
    text = SEED_TEXT.replace("inputs: [[1, 2], [0.5, 3]]", "inputs:\n  - [1, 2]\n  - [0.5, 3]\n  - [1, 2, 3]")
    path, msg = run_bad(run_cli, write, text)
    assert f"{path}:{line_of(text, '[1, 2, 3]')}:" in msg
    assert "inputs[2]" in msg and "length 2" in msg and "length-3" in msg, msg


def test_recurrent_weight_not_square(run_cli, write):
    text = SEED_TEXT.replace("U_i: 0.8", "U_i: [[0.8, 0.1]]")
    path, msg = run_bad(run_cli, write, text)
    assert f"{path}:{line_of(text, 'U_i:')}:" in msg
    assert "weights.U_i" in msg and "1 × 1" in msg and "1 × 2" in msg, msg


def test_unknown_key_with_suggestion(run_cli, write):
    text = SEED_TEXT.replace("  b_o: 0.1", "  b_oo: 0.1")
    path, msg = run_bad(run_cli, write, text)
    assert f"{path}:{line_of(text, 'b_oo')}:" in msg
    assert "weights.b_oo" in msg and "did you mean 'b_o'" in msg, msg


def test_candidate_named_g(run_cli, write):
    text = SEED_TEXT.replace("  b_c: 0.2", "  b_g: 0.2")
    _, msg = run_bad(run_cli, write, text)
    assert "weights.b_g" in msg and "b_c" in msg, msg


def test_unknown_key_in_initial(run_cli, write):
    _, msg = run_bad(run_cli, write, SEED_TEXT.replace("initial: {h: [0], c: [0]}", "initial: {h: [0], cc: [0]}"))
    assert "initial.cc" in msg and "did you mean 'c'" in msg, msg


def test_hidden_size_mismatch(run_cli, write):
    text = SEED_TEXT.replace("W_o: [[0.6, 0.4]]", "W_o: [[0.6, 0.4], [1, 1]]")
    _, msg = run_bad(run_cli, write, text)
    assert "weights.W_o" in msg and "1 × 2" in msg and "2 × 2" in msg, msg


def test_gru_bad_input(run_cli, write):
    base = ("kind: gru\ninputs: [[1]]\nweights: {W_z: 1, W_r: 1, W_h: 1, U_z: 1, U_r: 1, U_h: 1%s}\n%s")
    _, msg = run_bad(run_cli, write, base % (", b_hn: 1", ""))
    assert "weights.b_hn" in msg and "pytorch" in msg, msg
    _, msg = run_bad(run_cli, write, base % ("", "convention: torch\n"))
    assert "convention" in msg and "did you mean 'pytorch'" in msg, msg
    _, msg = run_bad(run_cli, write, base % (", b_n: 1", ""))
    assert "weights.b_n" in msg and "b_h" in msg, msg
    _, msg = run_bad(run_cli, write, base % ("", "initial: {h: [0, 0]}\n"))
    assert "initial.h" in msg and "length m = 1" in msg, msg


def test_one_number_per_step_is_n_1(run_cli, write):
    """inputs: [1, 2] is two time steps of one input each; a W with two columns then says so."""
    _, msg = run_bad(run_cli, write, "kind: lstm\ninputs: [1, 2]\nweights: {W_f: [[1, 2]], W_i: 1, "
                                     "W_c: 1, W_o: 1, U_f: 1, U_i: 1, U_c: 1, U_o: 1}\n")
    assert "weights.W_f" in msg and "n = 1" in msg and "[[1, 2]]" in msg, msg


# -- long sequences -------------------------------------------------------------------

def test_long_sequence_keeps_shapes():
    """A few hundred steps with eight hidden units: shapes kept, values those of the reference."""
    rng = np.random.default_rng(7)
    T, m, n = 300, 8, 3
    X, w_ih, w_hh = rng.normal(size=(T, n)), rng.normal(size=(4 * m, n)), rng.normal(size=(4 * m, m))
    b, z = rng.normal(size=4 * m), np.zeros(4 * m)
    w = solve_text(lstm_yaml(X, w_ih, w_hh, b, z, np.zeros(m), np.zeros(m)))
    check_results(w.results, ref_lstm(X, w_ih, w_hh, b, z, np.zeros(m), np.zeros(m)), T, m)
    assert sum(s.detail for s in w.sections) == T


def test_too_long_a_sequence_is_an_input_error(run_cli, write):
    text = ("kind: lstm\ninputs: [" + ", ".join(["0"] * 10_001) + "]\n"
            "weights: {W_f: 1, W_i: 1, W_c: 1, W_o: 1, U_f: 1, U_i: 1, U_c: 1, U_o: 1}\n")
    _, msg = run_bad(run_cli, write, text)
    assert "inputs" in msg and "at most" in msg, msg


def test_shown_working_equals_results_bit_for_bit():
    """The per-step working is built only when shown, by the same cell formulas run on
    quantities instead of arrays: its values must be exactly those of `results`."""
    import re as _re

    from nnsolve.working import Step

    rng = np.random.default_rng(7)
    for kind, gates, extra in (("lstm", "fico", ""), ("gru", "zrh", "convention: cho\n"),
                               ("gru", "zrh", "convention: pytorch\n")):
        m, n, T = 3, 2, 9
        lines = [f"kind: {kind}", extra.strip(), f"inputs: {rng.normal(size=(T, n)).tolist()}", "weights:"]
        for g in gates:
            lines += [f"  W_{g}: {rng.normal(size=(m, n)).tolist()}", f"  U_{g}: {rng.normal(size=(m, m)).tolist()}",
                      f"  b_{g}: {rng.normal(size=m).tolist()}"]
        w = solve_text("\n".join(l for l in lines if l) + "\n")
        names = {"f": "f", "i": "i", "g": "g", "o": "o", "c": "c", "h": "h", "z": "z", "r": "r",
                 r"\tilde{h}": "h_tilde"}
        checked = 0
        for s in w.sections:
            for b in s.blocks:
                if isinstance(b, Step):
                    mt = _re.fullmatch(r"(.+)_\{(\d+)\}", b.lhs)
                    if mt and mt.group(1) in names:
                        want = np.asarray(w.results[names[mt.group(1)]][int(mt.group(2)) - 1])
                        assert np.array_equal(np.asarray(b.value), want), (kind, b.lhs)
                        checked += 1
        assert checked >= T * 4
