"""kind: softmax and kind: attention (building-blocks.md).

Expected numbers never come from nnsolve: PyTorch float64 values stored by
tests/reference/make_softmax_attention.py (softmax_attention.json), cases worked here by
hand with math/numpy, and identities (a one-key attention has α = 1, softmax(z) =
softmax(z − c), the gradient sums to 0, the gradient is the loss's finite difference).
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import yaml

from conftest import ROOT
from nnsolve.core import solve_file, solve_text
from nnsolve.render.json import render as render_json

REFERENCE = ROOT / "tests" / "reference"
PROBLEMS = ROOT / "problems"
RTOL, ATOL = 1e-9, 1e-12


def results_of(problem) -> dict:
    """The results as the JSON contract carries them, for a dict or YAML text."""
    text = problem if isinstance(problem, str) else yaml.safe_dump(problem, sort_keys=False)
    return json.loads(render_json(solve_text(text)))["results"]


def file_results(name: str, **kw) -> dict:
    return json.loads(render_json(solve_file(str(PROBLEMS / name), **kw)))["results"]


def close(got, want, rtol=RTOL, atol=ATOL):
    g, w = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    assert g.shape == w.shape, (g.shape, w.shape)
    np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


def r(x, n):
    """Half away from zero, on the decimal the number prints as (a calculator's rounding)."""
    from decimal import ROUND_HALF_UP, Decimal
    return float(Decimal(f"{x:.15g}").quantize(Decimal(1).scaleb(-n), rounding=ROUND_HALF_UP))


# -- PyTorch --------------------------------------------------------------------------------

CASES = json.loads((REFERENCE / "softmax_attention.json").read_text(encoding="utf-8"))["cases"]


def test_the_fixture_covers_both_kinds_and_the_large_logits():
    ids = [c["id"] for c in CASES]
    assert sum(i.startswith("softmax:") for i in ids) >= 15 and sum(i.startswith("attention:") for i in ids) >= 12
    assert "softmax: large logits, underflowing class" in ids and "attention: one key" in ids
    kinds = {c["problem"].get("type") for c in CASES if c["problem"]["kind"] == "attention"}
    assert kinds == {"additive", "dot", "scaled_dot", "general"}


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_matches_torch(case):
    got = results_of(case["problem"])
    for name, want in case["expected"].items():
        if name == "prediction":
            assert got[name] == want, (got[name], want)
            continue
        assert isinstance(got[name], list) == isinstance(want, list), name  # shapes kept exactly
        close(got[name], want)
    assert set(got) == set(case["expected"])


# -- softmax by hand ------------------------------------------------------------------------

def test_textbook_softmax_by_hand():
    z = [2.0, 1.0, 0.1]
    e = [math.exp(v) for v in z]
    S = sum(e)
    p = [v / S for v in e]
    got = file_results("softmax_textbook.yaml")
    close(got["probabilities"], p)
    close(got["loss"], -math.log(p[0]))
    close(got["grad_logits"], [p[0] - 1, p[1], p[2]])
    assert got["prediction"] == 0
    assert [round(v, 4) for v in p] == [0.659, 0.2424, 0.0986]  # the figures textbooks quote


def test_large_logits_stay_finite():
    # softmax(1000, 999, 0) = softmax(0, −1, −1000): ŷ₃ = e^-1000 / … underflows to 0
    q = 1.0 / (1.0 + math.exp(-1.0))
    got = file_results("softmax_large_logits.yaml")
    close(got["probabilities"], [q, 1 - q, 0.0])
    assert got["probabilities"][2] == 0.0
    close(got["loss"], 1000.0 + math.log(1.0 + math.exp(-1.0)))  # −ln ŷ₃ in the log domain, not −ln 0
    close(got["grad_logits"], [q, 1 - q, -1.0])
    for target, loss in ((0, math.log(1 + math.exp(-1.0))), (1, 1 + math.log(1 + math.exp(-1.0)))):
        got = results_of({"kind": "softmax", "logits": [1000, 999, 0], "target": target})
        assert all(math.isfinite(v) for v in got["probabilities"] + got["grad_logits"] + [got["loss"]])
        close(got["loss"], loss)


def test_large_logits_in_the_working_show_the_shift():
    data = json.loads(render_json(solve_file(str(PROBLEMS / "softmax_large_logits.yaml")), full=True))
    steps = {b["lhs"]: b for s in data["sections"] for b in s["blocks"] if b.get("type") == "step"}
    assert "m" in steps and steps["m"]["value"] == 1000
    assert any("e^" in lhs for lhs in steps) and steps["S"]["value"] == pytest.approx(1 + math.exp(-1))


def test_large_negative_logits_and_multilabel_large_logits():
    got = results_of({"kind": "softmax", "logits": [-1000, -1001, -1005], "target": 1})
    z = np.array([0.0, -1.0, -5.0])
    p = np.exp(z) / np.exp(z).sum()
    close(got["probabilities"], p)
    close(got["loss"], -math.log(p[1]))
    # σ(1000) = 1, σ(−1000) = 0, σ(0) = ½: the loss of targets [1, 0, 1] is ln 2 exactly
    got = results_of({"kind": "softmax", "mode": "multilabel", "logits": [1000, -1000, 0], "target": [1, 0, 1]})
    close(got["loss"], math.log(2.0))
    close(got["grad_logits"], [0.0, 0.0, -0.5])
    assert got["prediction"] == [1, 0, 1]
    # and the wrong labels: each costs its logit, finite
    got = results_of({"kind": "softmax", "mode": "multilabel", "logits": [800, -800, 0], "target": [0, 1, 1]})
    close(got["loss"], 1600.0 + math.log(2.0))


def test_seed_000_multilabel_by_hand():
    def sig(v):
        return 1.0 / (1.0 + math.exp(-v))
    Z = [[2.2, -1.3, 0.8], [-0.5, 1.7, -2.0]]
    Y = [[1, 0, 1], [0, 1, 0]]
    losses, probs = [], []
    for z, y in zip(Z, Y):
        p = [sig(v) for v in z]
        probs.append(p)
        losses.append(-sum(t * math.log(q) + (1 - t) * math.log(1 - q) for t, q in zip(y, p)))
    got = file_results("softmax_seed_multilabel.yaml")
    close(got["probabilities"], probs)
    close(got["loss"], losses)
    close(got["mean_loss"], sum(losses) / 2)  # the notes' (1/m) Σ_i Σ_j L
    close(got["grad_logits"], [[q - t for q, t in zip(p, y)] for p, y in zip(probs, Y)])
    assert got["prediction"] == [[1, 0, 1], [0, 1, 0]]


def test_person_and_woman_at_once():
    got = file_results("softmax_person_woman.yaml")
    assert got["prediction"] == [1, 1, 0]  # both, as the notes want
    close(got["probabilities"], [1 / (1 + math.exp(-v)) for v in (3.1, 1.4, -2.6)])
    multiclass = results_of({"kind": "softmax", "logits": [3.1, 1.4, -2.6], "target": 0})
    assert multiclass["prediction"] == 0  # a softmax gives one class only


def test_temperature_batch_by_hand():
    Z = np.array([[3.0, 1.0, 0.2, -1.0], [0.5, 0.5, 2.5, 0.0], [-1.0, 2.0, 0.0, 1.0]])
    Y = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0.025, 0.925, 0.025, 0.025]])
    U = Z / 2
    P = np.exp(U) / np.exp(U).sum(axis=1, keepdims=True)
    L = -(Y * np.log(P)).sum(axis=1)
    got = file_results("softmax_temperature_batch.yaml")
    close(got["probabilities"], P)
    close(got["loss"], L)
    close(got["grad_logits"], (P - Y) / 2)
    close(got["mean_loss"], L.mean())
    assert got["prediction"] == [0, 2, 1]


def test_rounding_to_three_places_by_hand():
    e = [r(math.exp(v), 3) for v in (2.0, 1.0, 0.1)]
    S = r(sum(e), 3)
    p = [r(v / S, 3) for v in e]
    lnS = r(math.log(S), 3)
    loss = r(-(2.0 - lnS), 3)
    got = file_results("softmax_textbook.yaml", rounding=3)
    assert (e, S) == ([7.389, 2.718, 1.105], 11.212)
    assert got["probabilities"] == p == [0.659, 0.242, 0.099]
    assert got["loss"] == loss == 0.417
    assert got["grad_logits"] == [r(p[0] - 1, 3), p[1], p[2]]


def test_identities():
    z = [0.7, -1.2, 2.5, 0.1]
    base = results_of({"kind": "softmax", "logits": z, "target": 2})
    # softmax(z) = softmax(z + c); the shift changes nothing but the working
    moved = results_of({"kind": "softmax", "logits": [v + 50 for v in z], "target": 2})
    always = results_of({"kind": "softmax", "logits": z, "target": 2, "shift": "always"})
    for other in (moved, always):
        close(other["probabilities"], base["probabilities"], rtol=1e-13)
        close(other["loss"], base["loss"], rtol=1e-12)
    # the probabilities sum to 1 and the gradient (one-hot target) to 0
    assert sum(base["probabilities"]) == pytest.approx(1.0, abs=1e-15)
    assert sum(base["grad_logits"]) == pytest.approx(0.0, abs=1e-15)
    # temperature: softmax(z / T) is softmax of the divided logits, and the gradient is 1/T of theirs
    hot = results_of({"kind": "softmax", "logits": z, "target": 2, "temperature": 4})
    div = results_of({"kind": "softmax", "logits": [v / 4 for v in z], "target": 2})
    close(hot["probabilities"], div["probabilities"])
    close(hot["loss"], div["loss"])
    close(hot["grad_logits"], np.array(div["grad_logits"]) / 4)
    # a tie goes to the lowest index
    assert results_of({"kind": "softmax", "logits": [1, 3, 3], "target": 0})["prediction"] == 1


@pytest.mark.parametrize("mode, target", [("multiclass", 1), ("multiclass", [0.2, 0.5, 0.3]),
                                          ("multilabel", [1, 0, 0.4])])
def test_gradient_is_the_finite_difference_of_the_loss(mode, target):
    z = np.array([0.4, -1.1, 0.9])
    T = 1.7
    y = np.eye(3)[target] if isinstance(target, int) else np.array(target)

    def loss(v):  # the tests' own loss, in numpy
        u = v / T
        if mode == "multiclass":
            return -(y * (u - np.log(np.exp(u).sum()))).sum()
        s = 1 / (1 + np.exp(-u))
        return -(y * np.log(s) + (1 - y) * np.log(1 - s)).sum()
    h = 1e-6
    fd = [(loss(z + h * np.eye(3)[j]) - loss(z - h * np.eye(3)[j])) / (2 * h) for j in range(3)]
    got = results_of({"kind": "softmax", "mode": mode, "logits": z.tolist(), "target": target, "temperature": T})
    close(got["loss"], loss(z))
    close(got["grad_logits"], fd, rtol=1e-7, atol=1e-9)


def test_result_shapes():
    one = results_of({"kind": "softmax", "logits": [1, 2], "target": 1})
    assert isinstance(one["loss"], float) and isinstance(one["prediction"], int) and "mean_loss" not in one
    batch = results_of({"kind": "softmax", "logits": [[1, 2]], "target": [1]})  # a list of one sample
    assert batch["loss"] == [one["loss"]] and batch["prediction"] == [1] and batch["mean_loss"] == one["loss"]
    assert batch["probabilities"] == [one["probabilities"]]
    ml = results_of({"kind": "softmax", "mode": "multilabel", "logits": [0.3], "target": [1]})
    assert isinstance(ml["probabilities"], list) and len(ml["probabilities"]) == 1 and ml["prediction"] == [1]


def test_class_names_as_targets():
    text = "kind: softmax\nclasses: [cat, dog, horse]\nlogits: [[1, 2, 3], [0, 0, 1]]\ntarget: [horse, 0]\n"
    assert results_of(text) == results_of({"kind": "softmax", "logits": [[1, 2, 3], [0, 0, 1]], "target": [2, 0]})
    text = "kind: softmax\nmode: multilabel\nclasses: [cat, dog, horse]\nlogits: [1, 2, 3]\ntarget: [cat, horse]\n"
    assert results_of(text) == results_of({"kind": "softmax", "mode": "multilabel", "logits": [1, 2, 3],
                                           "target": [1, 0, 1]})


# -- attention by hand ----------------------------------------------------------------------

def softmax_np(e):
    e = np.asarray(e, dtype=float)
    x = np.exp(e - e.max())
    return x / x.sum()


def test_seed_004_bahdanau_by_hand():
    data = yaml.safe_load((PROBLEMS / "attention_seed_bahdanau.yaml").read_text(encoding="utf-8"))
    W, U, v = (np.array(data[k], dtype=float) for k in ("W", "U", "v"))
    H = np.array(data["keys"], dtype=float)
    scores, weights, contexts = [], [], []
    for s in np.array(data["queries"], dtype=float):  # s_{i−1}
        e = [float(v @ np.tanh(W @ s + U @ h)) for h in H]  # e_ij = v_aᵀ tanh(W_a s_{i−1} + U_a h_j)
        a = softmax_np(e)
        scores.append(e)
        weights.append(a)
        contexts.append(sum(a[j] * H[j] for j in range(len(H))))  # c_i = Σ_j α_ij h_j
    got = file_results("attention_seed_bahdanau.yaml")
    close(got["scores"], scores)
    close(got["weights"], weights)
    close(got["context"], contexts)
    close(np.sum(got["weights"], axis=1), [1.0, 1.0])  # Σ_j α_ij = 1 (the notes' line 372 sums over i)
    assert not np.allclose(np.sum(got["weights"], axis=0), 1.0)


def test_scaled_dot_problem_by_hand():
    got = file_results("attention_scaled_dot.yaml")
    # query 1 = [1, 0, 1, 0] meets every key in exactly one 1: s·h_j = 1, e = 1/√4
    assert got["scores"][0] == [0.5] * 4 and got["weights"][0] == [0.25] * 4
    close(got["context"][0], [0.25, 1.0])  # the mean of the values
    e = np.array([1, 2, 2, 1]) / 2.0  # query 2 = [0, 2, 0, 1]
    a = np.exp(e) / np.exp(e).sum()
    close(got["scores"][1], e)
    close(got["weights"][1], a)
    close(got["context"][1], a @ np.array([[1, 0], [0, 1], [1, 1], [-1, 2]], dtype=float))


def test_general_problem_with_a_dominant_key():
    got = file_results("attention_general.yaml")
    assert got["scores"] == [300.0, 2.0, 1.5]  # sᵀ W h_j with W picking the first two components
    assert got["weights"][0] == 1.0
    close(got["weights"][1:], [math.exp(-298), math.exp(-298.5)], rtol=1e-12, atol=0)
    close(got["context"], [300.0, math.exp(-298) + 0.5 * math.exp(-298.5), 1.0 + 0.5 * math.exp(-298.5)],
          rtol=1e-12, atol=0)


ADDITIVE = {"type": "additive", "W": [[0.1, 0.2], [0.3, -0.1]], "U": [[0.4, 0.0], [-0.2, 0.5]], "v": [1.0, -1.0]}


@pytest.mark.parametrize("extra", [{"type": "dot"}, {"type": "scaled_dot"}, ADDITIVE,
                                   {"type": "general", "W": [[0.5, -1.0], [2.0, 0.3]]}])
def test_one_key_has_all_the_weight(extra):
    got = results_of({"kind": "attention", **extra, "query": [0.5, -0.2], "keys": [[1.0, 3.0]],
                      "values": [[4.0, -5.0, 6.0]]})
    assert got["weights"] == [1.0] and got["context"] == [4.0, -5.0, 6.0] and len(got["scores"]) == 1


def test_attention_identities():
    keys = [[1.0, -2.0, 0.5], [0.3, 0.3, 0.3], [-1.0, 0.0, 2.0], [0.0, 1.0, 1.0]]
    s = [0.4, -0.6, 1.2]
    dot = results_of({"kind": "attention", "type": "dot", "query": s, "keys": keys})
    # scaled_dot is dot of s / √d
    scaled = results_of({"kind": "attention", "type": "scaled_dot", "query": s, "keys": keys})
    close(scaled["scores"], np.array(dot["scores"]) / math.sqrt(3))
    # general with W = I is dot
    general = results_of({"kind": "attention", "type": "general", "query": s, "keys": keys,
                          "W": np.eye(3).tolist()})
    for name in ("scores", "weights", "context"):
        close(general[name], dot[name])
    # by hand: e_j = s·h_j, α = softmax(e), c = Σ α_j h_j (the values default to the keys)
    e = np.array(keys) @ np.array(s)
    close(dot["scores"], e)
    close(dot["weights"], softmax_np(e))
    close(dot["context"], softmax_np(e) @ np.array(keys))
    # a zero query, equal keys or a zero scoring vector: uniform weights, the mean of the values
    for problem in ({"type": "dot", "query": [0, 0, 0], "keys": keys},
                    {"type": "dot", "query": s, "keys": [[1, 2, 3]] * 4},
                    {**ADDITIVE, "v": [0, 0], "query": [1, 2], "keys": [[1, 0], [5, -3], [2, 2], [0, 1]]}):
        got = results_of({"kind": "attention", **problem})
        close(got["weights"], [0.25] * 4)
        close(got["context"], np.mean(problem["keys"], axis=0))


def test_queries_give_a_row_each():
    base = {"kind": "attention", "type": "scaled_dot", "keys": [[1, 0], [0, 1], [1, 1]]}
    one = results_of({**base, "query": [0.5, 2.0]})
    rows = results_of({**base, "queries": [[0.5, 2.0]]})
    assert rows == {k: [v] for k, v in one.items()}
    two = results_of({**base, "queries": [[0.5, 2.0], [1.0, -1.0]]})
    assert two["scores"][0] == one["scores"] and len(two["context"]) == 2


def test_attention_rounded_by_hand():
    text = "kind: attention\ntype: dot\nquery: [0.5, -1.0]\nkeys: [[1, 2], [0.4, -0.2], [2, 0]]\nrounding: 3\n"
    e = [r(0.5 * 1 - 1.0 * 2, 3), r(0.5 * 0.4 + (-1.0) * (-0.2), 3), r(0.5 * 2, 3)]
    E = [r(math.exp(v), 3) for v in e]
    S = r(sum(E), 3)
    a = [r(v / S, 3) for v in E]
    c = [r(a[0] * 1 + a[1] * 0.4 + a[2] * 2, 3), r(a[0] * 2 + a[1] * (-0.2) + a[2] * 0, 3)]
    got = results_of(text)
    assert got["scores"] == e and got["weights"] == a and got["context"] == c


def test_check_marks_attention_with_follow_through(write):
    from nnsolve.check import check
    path = str(PROBLEMS / "attention_scaled_dot.yaml")
    # query 2's scores by hand are [0.5, 1, 1, 0.5]; a student writes e_22 = 0.5 and carries on
    e = np.array([0.5, 0.5, 1.0, 0.5])
    a = np.exp(e) / np.exp(e).sum()
    answers = write("answers:\n  scores[2][2]: 0.5\n"
                    f"  weights[2][3]: {a[2]:.4f}\n  context[1]: [0.25, 1.0]\n", "ans.yaml")
    report = check(path, answers)
    status = {i.path: i.status for i in report.items}
    assert status == {"context[1]": "correct", "scores[2][2]": "wrong", "weights[2][3]": "follow_through"}


# -- bad input --------------------------------------------------------------------------------

def error_line(run_cli, write, text):
    path = write(text)
    code, out, err = run_cli("run", path)
    assert code == 2, (code, out, err)
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}:"), err
    return lines[0]


SOFTMAX = "kind: softmax\nlogits: [2.0, 1.0, 0.1]\ntarget: 0\n"


@pytest.mark.parametrize("change, where, needle", [
    ("logits: abc", "logits", "logits z"),
    ("logits: [[1, 2], [3]]", "logits", "different lengths"),
    ("logits: [1, .nan]", "logits[1]", "NaN"),
    ("logits: [3]", "logits", "k ≥ 2"),
    ("logits: [1e308, -1e308]\ntemperature: 1e-10", "temperature", "too large"),
    ("target: 3", "target", "0 to 2"),
    ("target: 1.5", "target", "class index"),
    ("target: [0.5, 0.6, 0.1]", "target", "summing to 1"),
    ("target: [1, 0]", "target", "length 3"),
    ("target: [1.5, 0, -0.5]", "target", "between 0 and 1"),
    ("target: cat", "target", "class index"),
    ("target: {a: 1}", "target", "mapping"),
    ("mode: multi", "mode", "multiclass, multilabel"),
    ("temperature: 0", "temperature", "positive"),
    ("temperature: hot", "temperature", "temperature"),
    ("shift: sometimes", "shift", "auto, always, never"),
    ("logits: [1000, 999, 0]\nshift: never", "shift", "float64"),
    ("classes: [cat, dog]", "classes", "3 class names"),
    ("classes: [cat, cat, dog]", "classes", "different"),
    ("classes: [cat, [dog], horse]", "classes[1]", "class name"),
    ("classes: [cat, dog, horse]\ntarget: [cat, dog]", "target", "one class"),
    ("classes: [cat, dog, horse]\ntarget: [cow]", "target", "unknown class 'cow'"),
    ("tempreature: 2", "tempreature", "did you mean 'temperature'"),
])
def test_softmax_bad_input(run_cli, write, change, where, needle):
    msg = error_line(run_cli, write, replaced(SOFTMAX, change))
    assert f": {where}: " in msg and needle in msg, msg


def replaced(base: str, change: str) -> str:
    """base with the keys of ``change`` (one or more lines) given their new values."""
    keys = {ln.split(":")[0] for ln in change.splitlines()}
    return "\n".join(ln for ln in base.splitlines() if ln.split(":")[0] not in keys) + "\n" + change + "\n"


@pytest.mark.parametrize("text, where, needle", [
    ("kind: softmax\nlogits: [[1, 2], [3, 4]]\ntarget: 0\n", "target", "list of 2 targets"),
    ("kind: softmax\nlogits: [[1, 2], [3, 4]]\ntarget: [0]\n", "target", "2 targets"),
    ("kind: softmax\nlogits: [[1, 2], [3, 4]]\ntarget: [0, 5]\n", "target[1]", "sample 2"),
    ("kind: softmax\nmode: multilabel\nlogits: [0.5]\ntarget: 1\n", "target", "[1]"),
    ("kind: softmax\nlogits: [1, 2]\n", "", "missing key 'target'"),
])
def test_softmax_bad_targets_of_samples(run_cli, write, text, where, needle):
    msg = error_line(run_cli, write, text)
    assert needle in msg and (not where or f": {where}: " in msg), msg


ATTENTION = """kind: attention
type: additive
query: [0.5, -0.2]
keys: [[1, 0], [0, 1], [1, 1]]
W: [[0.1, 0.2], [0.3, -0.1]]
U: [[0.4, 0.0], [-0.2, 0.5]]
v: [1.0, -1.0]
"""


@pytest.mark.parametrize("change, where, needle", [
    ("type: bahdanau", "type", "additive, dot, scaled_dot, general"),
    ("query: x", "query", "query s"),
    ("query: [1, 2, 3]", "W", "a matrix with d_s = 3 columns"),
    ("queries: [[1, 2]]", "queries", "not both"),
    ("keys: [[1, 0], [0]]", "keys", "different lengths"),
    ("keys: {a: 1}", "keys", "keys h_1"),
    ("values: [[1], [2]]", "values", "one value per key"),
    ("values: [[1, 2], [3, .inf], [5, 6]]", "values[1][1]", "infinity"),
    ("U: [[0.4, 0.0]]", "U", "2 × 2 matrix"),
    ("v: [1, 2, 3]", "v", "length a = 2"),
    ("W: [[1, 2, 3]]", "W", "d_s = 2 columns"),
    ("vv: [1, 2]", "vv", "unknown key"),
])
def test_attention_bad_input(run_cli, write, change, where, needle):
    msg = error_line(run_cli, write, replaced(ATTENTION, change))
    assert f": {where}: " in msg and needle in msg, msg


@pytest.mark.parametrize("text, where, needle", [
    ("kind: attention\nquery: [1]\nkeys: [[1]]\n", "", "missing key 'type'"),
    ("kind: attention\ntype: dot\nkeys: [[1]]\n", "", "missing key 'query'"),
    ("kind: attention\ntype: dot\nquery: [1]\n", "", "missing key 'keys'"),
    ("kind: attention\ntype: dot\nquery: [1, 2]\nkeys: [[1, 2, 3]]\n", "query", "as long as each key"),
    ("kind: attention\ntype: scaled_dot\nqueries: [[1, 2], [3]]\nkeys: [[1, 2]]\n", "queries", "different lengths"),
    ("kind: attention\ntype: dot\nquery: [1]\nkeys: [[1]]\nW: [[1]]\n", "W", "additive or general"),
    ("kind: attention\ntype: general\nquery: [1]\nkeys: [[1]]\nW: [[1]]\nU: [[1]]\n", "U", "additive"),
    ("kind: attention\ntype: general\nquery: [1]\nkeys: [[1]]\nW: [[1]]\nv: [1]\n", "v", "additive"),
    ("kind: attention\ntype: general\nquery: [1, 2]\nkeys: [[1, 2, 3]]\n", "", "missing key 'W'"),
    ("kind: attention\ntype: general\nquery: [1, 2]\nkeys: [[1, 2, 3]]\nW: [[1, 2], [3, 4]]\n", "W", "2 × 3"),
    ("kind: attention\ntype: additive\nquery: [1]\nkeys: [[1]]\nW: [[1]]\nU: [[1]]\n", "", "missing key 'v'"),
])
def test_attention_bad_combinations(run_cli, write, text, where, needle):
    msg = error_line(run_cli, write, text)
    assert needle in msg and (not where or f": {where}: " in msg), msg


# -- the declared kinds: new, schema, markdown ---------------------------------------------

@pytest.mark.parametrize("kind", ["softmax", "attention"])
def test_template_runs_and_schema_is_json(run_cli, kind):
    code, out, _ = run_cli("new", kind)
    assert code == 0 and out.startswith("# nnsolve problem")
    assert solve_text(out).results
    code, out, _ = run_cli("schema", kind)
    assert code == 0 and json.loads(out)["properties"]["kind"]["const"] == kind


@pytest.mark.parametrize("name", sorted(p.name for p in PROBLEMS.glob("*.yaml")
                                        if p.name.startswith(("softmax_", "attention_"))))
def test_problem_files_render_in_every_format(run_cli, name):
    for fmt in ("terminal", "markdown", "json"):
        code, out, err = run_cli("run", str(PROBLEMS / name), "--format", fmt, "--full")
        assert code == 0 and out and not err
