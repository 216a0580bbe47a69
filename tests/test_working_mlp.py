"""The working of the classical kinds reads like a hand solution (issue #14): the
intermediates a hand check needs are in the JSON working of the problem files, found by step
id or label, and checked against numbers derived here by hand (math.exp, math.tanh on the
problem's own numbers, never nnsolve's output); remarks sit at the step they concern.
"""
import math

import pytest

from nnsolve.core import solve_file, solve_text
from nnsolve.errors import InputError


def sig(v):
    return 1.0 / (1.0 + math.exp(-v))


def f4(x):
    """A number as the working writes it (4 decimals, Unicode minus, negatives bracketed
    as operands)."""
    return f"{x:.4f}".replace("-", "−")


def op(x):
    return f"({f4(x)})" if x < 0 else f4(x)


def flat(text):
    return text.replace(" ", "")


def steps(data):
    return [b for s in data["sections"] for b in s["blocks"] if b["type"] == "step"]


def by_id(data, step_id):
    found = [b for b in steps(data) if b.get("id") == step_id]
    assert found, f"no step with id {step_id}"
    return found[0]


def by_label(data, text):
    found = [b for b in steps(data) if text in (b.get("label") or "")]
    assert found, f"no step labelled {text!r}"
    return found[0]


def by_lhs(data, lhs):
    found = [b for b in steps(data) if b["lhs"] == lhs]
    assert found, f"no step {lhs}"
    return found[0]


def lines(step, j=None):
    """Every form of a step (or of its component j, from 1) joined by =, without spaces."""
    if j is not None:
        comp = [c for c in step["components"] if c["index"] == j][0]
        return flat(" = ".join(comp["substituted"]))
    return flat(" = ".join([step["substituted"]] + step.get("evaluated", [])))


def working(name):
    return solve_file(f"problems/{name}.yaml").to_dict(full=True)


# -- Mazur's 2-2-2 network (problems/mlp_published_222.yaml) ---------------------------------

# By hand: h = σ(W1 x + b1), o = σ(W2 h + b2), δ_o = (d − o) o (1 − o), δ_h = h (1 − h) Σ_k δ_k w_kj
X, D = (0.05, 0.10), (0.01, 0.99)
W1, B1 = ((0.15, 0.20), (0.25, 0.30)), 0.35
W2, B2 = ((0.40, 0.45), (0.50, 0.55)), 0.60
H = [sig(W1[j][0] * X[0] + W1[j][1] * X[1] + B1) for j in range(2)]
O = [sig(W2[k][0] * H[0] + W2[k][1] * H[1] + B2) for k in range(2)]
DO = [(D[k] - O[k]) * O[k] * (1 - O[k]) for k in range(2)]
DPHI = [H[j] * (1 - H[j]) for j in range(2)]
BRACKET = [W2[0][j] * DO[0] + W2[1][j] * DO[1] for j in range(2)]
DH = [DPHI[j] * BRACKET[j] for j in range(2)]


def test_hand_values_are_mazurs():
    # the published figures: out_o1 = 0.75136507, δ_o1 = −0.138498562 (Haykin's sign), δ_h1 = −0.000438568 / 0.05
    assert O[0] == pytest.approx(0.75136507, abs=1e-8)
    assert DO[0] == pytest.approx(-0.1384985616, abs=1e-9)
    assert f4(DPHI[0]) == "0.2413" and f4(BRACKET[0]) == "−0.0364" and f4(DH[0]) == "−0.0088"


def test_hidden_delta_shows_the_bracket_evaluated():
    data = working("mlp_published_222")
    step = by_id(data, "local_gradients[1]")
    for j in (1, 2):
        text = lines(step, j)
        terms = f"{W2[0][j - 1]:g}·{op(DO[0])}+{W2[1][j - 1]:g}·{op(DO[1])}"  # given weights as written
        assert flat(f"{f4(DPHI[j - 1])} · ({terms})") in text  # 0.2413 · (0.4·(−0.1385) + 0.5·0.0381)
        assert flat(f"{f4(DPHI[j - 1])} · ({f4(BRACKET[j - 1])})") in text  # = 0.2413 · (−0.0364)
        comp = [c for c in step["components"] if c["index"] == j][0]
        assert comp["value"] == pytest.approx(DH[j - 1], abs=1e-12)
    # the whole issue's line, for j = 1
    assert "0.2413·(0.4·(−0.1385)+0.5·0.0381)=0.2413·(−0.0364)" in lines(step, 1)


def test_output_delta_is_one_line_with_the_derivative_written_out():
    data = working("mlp_published_222")
    step = by_id(data, "local_gradients[2]")
    for k in (1, 2):
        e = D[k - 1] - O[k - 1]
        text = lines(step, k)
        assert flat(f"{op(e)} · ({f4(O[k - 1])} · (1 − {f4(O[k - 1])}))") in text
        comp = [c for c in step["components"] if c["index"] == k][0]
        assert comp["value"] == pytest.approx(DO[k - 1], abs=1e-12)


def test_sigmoid_outputs_are_written_by_their_definition():
    data = working("mlp_published_222")
    y1 = by_lhs(data, "y⁽¹⁾")
    assert flat(y1["symbolic"]) == "1/(1+exp(−v⁽¹⁾))"
    v = W1[0][0] * X[0] + W1[0][1] * X[1] + B1
    assert f"1/(1+exp(−{f4(v)}))=1/(1+{f4(math.exp(-v))})" in lines(y1, 1)


def test_updates_go_from_the_output_layer_back():
    data = working("mlp_published_222")
    ids = [b.get("id") for b in steps(data)]
    for name in ("weights", "grad_weights", "grad_bias"):
        assert ids.index(f"{name}[2]") < ids.index(f"{name}[1]")
    dw = [b["lhs"] for b in steps(data) if b["lhs"].startswith("Δw")]
    assert dw[0] == "Δw₁₁⁽²⁾" and dw[-1] == "Δw₂₂⁽¹⁾"


# -- the seed's 2-2-1 network (problems/mlp_seed.yaml) -------------------------------------------

def test_seed_sigma_with_the_number_put_in():
    # seed 003: Ψ₁ = 1/(1 + e(−0.2)) = 0.5498, Ψ₂ = 1/(1 + e(−0.9)) = 0.7109
    data = working("mlp_seed")
    y1 = by_lhs(data, "y⁽¹⁾")
    assert "1/(1+exp(−0.2))" in lines(y1, 1) and "1/(1+exp(−0.9))" in lines(y1, 2)
    assert [c["value"] for c in y1["components"]] == pytest.approx([sig(0.2), sig(0.9)], abs=1e-12)
    assert f4(sig(0.2)) == "0.5498" and f4(sig(0.9)) == "0.7109"


def test_seed_delta_keeps_the_slope_a():
    # δ_k = e_k a y_k (1 − y_k) with a = 1 (the notes: [1 − y](1)(y)[1 − y] = 0.1191)
    y = sig(0.4 * sig(0.2) + 0.1 * sig(0.9) - 0.2)
    e = 1 - y
    data = working("mlp_seed")
    step = by_id(data, "local_gradients[2]")
    assert "a" in step["symbolic"]
    assert flat(f"{f4(e)} · (1 · {f4(y)} · (1 − {f4(y)}))") in lines(step)  # 0.4773 · (1 · 0.5227 · (1 − 0.5227))
    assert step["value"] == pytest.approx([e * y * (1 - y)], abs=1e-12)
    assert f4(e * y * (1 - y)) == "0.1191"
    phi1 = by_label(data, "Derivative of the activation, layer 1")
    assert flat(phi1["symbolic"]).startswith("ay⁽¹⁾")  # a y⁽¹⁾ ⊙ (1 − y⁽¹⁾)
    assert flat(f"1 · {f4(sig(0.2))} · (1 − {f4(sig(0.2))})") in lines(phi1, 1)


def test_slope_not_stated_is_not_written():
    data = working("mlp_published_222")
    assert "a" not in by_id(data, "local_gradients[2]")["symbolic"].replace("δ", "")


# -- softmax output (problems/mlp_softmax.yaml) -----------------------------------------------

def test_softmax_output_shows_exponentials_sum_and_ratios():
    x = (1.0, -0.5, 0.25)
    W1_ = ((0.2, -0.4, 0.1), (0.5, 0.3, -0.2), (-0.3, 0.8, 0.6))
    b1 = (0.1, -0.1, 0.05)
    W2_ = ((0.7, -0.2, 0.3), (-0.5, 0.4, 0.9), (0.1, 0.6, -0.8))
    b2 = (0.0, 0.1, -0.1)
    h = [math.tanh(sum(W1_[j][i] * x[i] for i in range(3)) + b1[j]) for j in range(3)]
    v = [sum(W2_[k][j] * h[j] for j in range(3)) + b2[k] for k in range(3)]
    ex = [math.exp(z) for z in v]
    S = sum(ex)
    data = working("mlp_softmax")
    E = by_label(data, "Layer 2: every exponential")
    assert [c["value"] for c in E["components"]] == pytest.approx(ex, abs=1e-12)
    for j in (1, 2, 3):
        assert f"exp({f4(v[j - 1])})" in lines(E, j)
    Ssum = by_label(data, "Their sum")
    assert Ssum["value"] == pytest.approx(S, abs=1e-12)
    assert lines(Ssum) == flat(" + ".join(f4(a) for a in ex))
    y = by_id(data, "output")
    for j in (1, 2, 3):
        assert f"{f4(ex[j - 1])}/{f4(S)}" in lines(y, j)
        assert [c for c in y["components"] if c["index"] == j][0]["value"] == pytest.approx(ex[j - 1] / S, abs=1e-12)
    assert "softmax([" not in str(y)  # no vector repeated per component
    # the loss sums over the outputs j, each named by j
    assert by_id(data, "loss")["symbolic"] == "−Σⱼ dⱼ ln(yⱼ⁽²⁾)"


def test_results_unchanged_by_the_written_forms():
    """The written-out σ and softmax are valued by the library's functions, bit for bit."""
    from nnsolve.expr import sigmoid_np, softmax_np
    import numpy as np
    r = solve_file("problems/mlp_published_222.yaml").results
    h = sigmoid_np(np.array([[0.15, 0.20], [0.25, 0.30]]) @ np.array([0.05, 0.10]) + 0.35)
    o = sigmoid_np(np.array([[0.40, 0.45], [0.50, 0.55]]) @ h + 0.6)
    assert r["output"] == o.tolist()
    r = solve_file("problems/mlp_softmax.yaml").results
    assert np.sum(r["output"]) == pytest.approx(1.0, abs=1e-15)


# -- remarks at their step ---------------------------------------------------------------------

def notes_at(data):
    """{remark text fragment: the step (id or lhs) it is shown at}."""
    return [(b.get("id") or b["lhs"], b["note"]) for b in steps(data) if b.get("note")]


def where(data, fragment):
    hits = [at for at, note in notes_at(data) if fragment in note]
    assert len(hits) == 1, (fragment, hits)
    return hits[0]


def test_perceptron_seed_slips_at_their_steps():
    data = working("perceptron_seed")
    assert where(data, "The notes write v = 0.5 here") == "history[1].v"  # epoch 1, sample 1
    assert where(data, "presents x₂ as [1, 1, −1]") == "history[2].v"  # epoch 1, sample 2
    assert where(data, "[0.5, 1, −0.5]") == "history[2].weights"
    assert where(data, "update again") == "history[3].e"  # epoch 2, sample 1
    assert where(data, "two components only") == "history[4].e"
    assert "Remarks" not in [s["title"] for s in data["sections"]]
    # the notes' v = 0.5 against the hand value 0.5·1 + (−1)(−1) + (−0.5)(−1) + 0.5
    assert by_id(data, "history[1].v")["value"] == 0.5 * 1 + 1 + 0.5 + 0.5


def test_mlp_seed_slips_at_their_steps():
    data = working("mlp_seed")
    assert where(data, "Ψ₁(n)") == "y⁽¹⁾"
    assert where(data, "0.5507, 0.5927 and 0.5997") == "output"
    assert where(data, "e = 1 − 0.5927") == "e"
    assert where(data, "0.0961") == "local_gradients[2]"
    assert where(data, "= 0.0164") == "Δw₁₁⁽²⁾"
    assert where(data, "= 0.0312") == "Δw₁₂⁽²⁾"
    assert where(data, "−0.170") == "bias[2]"
    assert "Remarks" not in [s["title"] for s in data["sections"]]
    # the hand values the remarks quote: η δ y₁ = 0.05 · 0.1191 · 0.5498, 0.25 · δ y₁, (0.05)(0.1191)(0.7109)
    y = sig(0.4 * sig(0.2) + 0.1 * sig(0.9) - 0.2)
    delta = (1 - y) * y * (1 - y)
    assert f4(0.05 * delta * sig(0.2)) == "0.0033" and f4(0.25 * delta * sig(0.2)) == "0.0164"
    assert f4(0.05 * delta * sig(0.9)) == "0.0042" and f4(0.05 * delta) == "0.0060"
    assert f4(0.25 * delta) == "0.0298"


PERC = """
kind: perceptron
weights: [0.5, -1, -0.5]
bias: 0.5
samples:
  - {x: [1, -1, -1], d: 0}
  - {x: [1, 1, 1], d: 1}
remarks:
"""


def test_remark_at_one_occurrence():
    text = PERC + ("  - {at: {step: v, epoch: 2, sample: 1}, text: A}\n"
                   "  - {at: 'history[2].y', text: B}\n"
                   "  - {at: v, text: C}\n"
                   "  - {at: {step: 'w^new', epoch: 1, sample: 2}, text: D}\n"
                   "  - {at: {step: e, iteration: 2, epoch: 2}, text: E}\n")
    data = solve_text(text).to_dict(full=True)
    assert dict((n, at) for at, n in notes_at(data)) == {
        "A": "history[3].v", "B": "history[2].y", "C": "history[1].v", "D": "history[2].weights",
        "E": "history[4].e"}


def test_remark_at_a_missing_occurrence_names_what_there_is():
    with pytest.raises(InputError) as err:
        solve_text(PERC + "  - {at: {step: v, epoch: 7, sample: 1}, text: A}\n")
    msg = str(err.value)
    assert "remarks[0].at" in msg and "no step named 'v' at epoch 7, sample 1" in msg


def test_unknown_remark_lists_readable_names():
    with pytest.raises(InputError) as err:
        solve_text(PERC + "  - {at: q_7, text: A}\n")
    msg = str(err.value)
    assert "w^new" in msg and "b^new" in msg and "history[1].v" in msg
    assert "text" not in msg.replace("text: A", "")  # no LaTeX leak (w_textnew)
    with pytest.raises(InputError) as err:
        solve_file("problems/mlp_published_222.yaml")  # fine on its own
        solve_text(open("problems/mlp_published_222.yaml").read() + "remarks:\n  - {at: q_7, text: A}\n")
    msg = str(err.value)
    assert "delta^(2)" in msg and "textnew" not in msg and "frac" not in msg


@pytest.mark.parametrize("at, says", [
    ("{step: v, epoch: 0}", "at.epoch: expected a whole number ≥ 1"),
    ("{epoch: 1}", "at: expected {step: NAME"),
    ("[1, 2]", "at: expected a step's name"),
    ("{step: v, sample: x}", "at.sample: expected a whole number ≥ 1"),
])
def test_bad_remark_at(run_cli, write, at, says):
    code, _, err = run_cli("run", write(PERC + f"  - {{at: {at}, text: A}}\n"))
    assert code == 2 and says in err and err.startswith("error: ") and err.count("\n") == 1
    assert "Traceback" not in err


def test_remark_at_one_sample_of_one_update_of_mlp_training():
    text = open("problems/mlp_training_xor_minibatch.yaml").read() + (
        "remarks:\n"
        "  - {at: {step: 'delta^(1)', update: 2, sample: 4}, text: HERE}\n"
        "  - {at: {step: 'y^(2)', epoch: 1, batch: 1, sample: 2}, text: THERE}\n")
    data = solve_text(text).to_dict(full=True)
    found = {}
    for s in data["sections"]:
        current = None
        for b in s["blocks"]:
            if b["type"] == "text" and b["text"].startswith("Sample "):
                current = int(b["text"].split()[1].rstrip(":"))
            if b["type"] == "step" and b.get("note"):
                found[b["note"]] = (s["title"], current, b["lhs"])
    assert found["HERE"] == ("Update 2: epoch 1, batch 2", 4, "δ⁽¹⁾")
    assert found["THERE"] == ("Update 1: epoch 1, batch 1", 2, "y⁽²⁾")
