"""`nnsolve check` on the seed notes' own working (problems/answers/*.notes.yaml).

The expected statuses and diagnoses are judged by reading the notes (seed 000, LSTM; seed 003,
perceptron and backpropagation) and working each step by hand; the right values below are
computed here from the problem's givens, not taken from check's output. Where check's marking
is not what a careful teaching assistant would write, the right marking is asserted under
``xfail(strict=True)`` with the reason.
"""
import math
import pathlib

import numpy as np
import pytest

from nnsolve.check import Solver, check, result_paths, resolve
from nnsolve.check_command import report_lines
from nnsolve.loader import load_file
from nnsolve.sheet import parse_path

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROBLEMS = ROOT / "problems"
ANSWERS = PROBLEMS / "answers"


def sigma(x):
    return 1 / (1 + math.exp(-x))


def marked(name, answers=None):
    """check's report for problems/<name>.yaml, against its notes file or given answers."""
    return check(PROBLEMS / f"{name}.yaml", answers if answers is not None else ANSWERS / f"{name}.notes.yaml")


def items(report):
    return {i.path: i for i in report.items}


def notes_answers(name):
    """The notes file's answers as a dict (to mark them again without its tolerance)."""
    return dict(load_file(str(ANSWERS / f"{name}.notes.yaml")).data["answers"])


def numbers(results):
    """Every number of a problem's results (to ask whether a quantity has a result path)."""
    return [float(x) for p in result_paths(results)
            for x in np.ravel(np.asarray(resolve(results, parse_path(p)), dtype=float))]


# -- seed 000, LSTM ----------------------------------------------------------------------------

# By hand from the givens (W_i = [0.95, 0.8], b_i = 0.65, b_c = 0.2, U = 0.1/0.8/0.15/0.25):
F1 = sigma(0.7 * 1 + 0.45 * 2 + 0.15)                  # σ(1.75) = 0.85195
I1 = sigma(0.95 * 1 + 0.8 * 2 + 0.65)                  # σ(3.2)  = 0.96083
G1 = math.tanh(0.45 * 1 + 0.25 * 2 + 0.2)              # tanh(1.15) = 0.81775
O1 = sigma(0.6 * 1 + 0.4 * 2 + 0.1)                    # σ(1.5)  = 0.81757
C1 = I1 * G1                                           # 0.78573
H1 = O1 * math.tanh(C1)                                # 0.53631
I2 = sigma(0.95 * 0.5 + 0.8 * 3 + 0.8 * H1 + 0.65)    # σ(3.9541) = 0.98118
LSTM_RIGHT = {"f[1]": F1, "i[1]": I1, "g[1]": G1, "o[1]": O1, "c[1]": C1, "h[1]": H1, "i[2]": I2}
LSTM_STATUS = {"f[1]": "correct",   # 0.852
               "i[1]": "correct",   # 0.96: the value carried on is right (its written σ[17.60] is not)
               "g[1]": "correct",   # 0.818 (below the wrong sum "0.95 + 0.2 = 0.15")
               "o[1]": "correct",   # 0.817, σ(1.5) = 0.8176 truncated: within one unit
               "c[1]": "correct",   # 0.786
               "h[1]": "correct",   # 0.537: within one unit of 0.5363 (the hand-rounded figure)
               "i[2]": "wrong"}     # 1 = σ(25.55), W_i's 8 for 0.8 again; right 0.9812


def test_lstm_notes_statuses_and_right_values():
    r = marked("lstm_seed")
    got = items(r)
    assert [i.path for i in r.items] == list(LSTM_STATUS)  # working order
    assert {p: i.status for p, i in got.items()} == LSTM_STATUS
    for p, want in LSTM_RIGHT.items():
        assert float(np.ravel(got[p].expected)[0]) == pytest.approx(want, abs=1e-9), p
    assert r.first_wrong == "i[2]"
    assert r.summary == {"correct": 6, "rounding": 0, "follow_through": 0, "wrong": 1, "total": 7}


def test_lstm_notes_i2_is_a_misread():
    item = items(marked("lstm_seed"))["i[2]"]
    assert item.diagnosis == "misread"
    # From the notes' own h_1 = 0.537 the right i_2 is still 0.9812, not 1.
    assert float(np.ravel(item.follow_through_value)[0]) == pytest.approx(
        sigma(0.95 * 0.5 + 0.8 * 3 + 0.8 * 0.537 + 0.65), abs=1e-9)


@pytest.mark.xfail(strict=True, reason=(
    "i[2] = 1 is σ(25.55) = σ(0.475 + 8·3 + 0.8·0.537 + 0.65): the notes' 8 for 0.8 in W_i "
    "(written [0.95 8] at l. 212/247, used at l. 265-267 too). check names 'you used 30 where the "
    "problem gives 3 (inputs[1][1], ×10)': the W_i misread loses on 'agreement' because the notes' "
    "i[1] = 0.96 disagrees with σ(17.6), and x₂'s 3 → 30 wins the tie on distance (8·3 = 0.8·30). "
    "Six different misreads saturate σ here; naming one of them is false confidence."))
def test_lstm_notes_i2_names_the_8_for_08_in_W_i():
    item = items(marked("lstm_seed"))["i[2]"]
    assert "W_i" in item.explanation and "0.8" in item.explanation and "inputs" not in item.explanation


@pytest.mark.xfail(strict=True, reason=(
    "Without a tolerance a whole number is read as 0 decimals, i.e. good to ±1: i[2] = 1 "
    "(σ(25.55), right 0.9812) is then marked correct, as would be any gate value in (0, 1)."))
def test_lstm_notes_without_tolerance_i2_is_still_wrong():
    assert items(marked("lstm_seed", notes_answers("lstm_seed")))["i[2]"].status == "wrong"


def test_lstm_i1_from_sigma_17_6_is_the_misread_8():
    # The spec's example: i_1 evaluated as σ(17.6) = 1.0 with 8 for 0.8; c_1 = 1.0 · 0.818 and
    # h_1 = o_1 tanh(0.818) follow through.
    r = marked("lstm_seed", {"answers": {"f[1]": 0.852, "i[1]": 1.0, "c[1]": 0.818, "h[1]": 0.551},
                             "tolerance": {"decimals": 3}})
    got = items(r)
    assert {p: i.status for p, i in got.items()} == {
        "f[1]": "correct", "i[1]": "wrong", "c[1]": "follow_through", "h[1]": "follow_through"}
    assert got["i[1]"].diagnosis == "misread"
    assert "W_i" in got["i[1]"].explanation and "you used 8 where the problem gives 0.8" in got["i[1]"].explanation
    assert float(np.ravel(got["h[1]"].follow_through_value)[0]) == pytest.approx(O1 * math.tanh(0.818), abs=1e-9)


def test_lstm_misread_location_counts_from_1():
    r = marked("lstm_seed", {"answers": {"i[1]": 1.0}, "tolerance": {"decimals": 3}})
    assert "W_i[1][2]" in items(r)["i[1]"].explanation


@pytest.mark.xfail(strict=True, reason=(
    "The notes' most telling wrong numbers are pre-activations (σ[17.60], '[0.95 + 0.2] = 0.15', "
    "σ[25.55]); no result path holds a gate's pre-activation (3.2 for i_1), so they cannot be "
    "marked and the misread at i_1 is invisible when the notes carry on with the right 0.96."))
def test_lstm_gate_preactivations_have_result_paths():
    solver = Solver(load_file(str(PROBLEMS / "lstm_seed.yaml")))
    assert any(x == pytest.approx(3.2) for x in numbers(solver.results))


# -- seed 003, perceptron ------------------------------------------------------------------------

# By hand (x1 = [1, -1, -1], d = 0; x2 = [1, 1, 1], d = 1; w = [0.5, -1, -0.5], b = 0.5, η = 1):
PERC_RIGHT = {
    "history[1].v": 2.5, "history[1].y": 1, "history[1].e": -1,
    "history[1].weights": [-0.5, 0, 0.5], "history[1].bias": -0.5,
    "history[2].v": -0.5, "history[2].y": 0, "history[2].e": 1,
    "history[2].weights": [0.5, 1, 1.5], "history[2].bias": 0.5,
    "history[3].v": -1.5, "history[3].y": 0, "history[3].e": 0,
    "history[3].weights": [0.5, 1, 1.5], "history[3].bias": 0.5,   # no update
    "history[4].v": 3.5, "history[4].y": 1,
}
PERC_STATUS = {
    "history[1].v": "wrong",           # 0.5: (-1)(-1) taken as -1
    "history[1].y": "correct", "history[1].e": "correct",
    "history[1].weights": "correct", "history[1].bias": "correct",
    "history[2].v": "wrong",           # -1.5: x2 presented as [1, 1, -1]
    "history[2].y": "correct", "history[2].e": "correct",
    "history[2].weights": "wrong",     # [0.5, 1, -0.5]: the same x2
    "history[2].bias": "correct",
    "history[3].v": "follow_through",  # 0.5 from their [0.5, 1, -0.5], b = 0.5
    "history[3].y": "follow_through", "history[3].e": "follow_through",
    "history[3].weights": "wrong",     # [-0.5, 0, 0.5]; from their numbers [-0.5, 2, 0.5]
    "history[3].bias": "follow_through",
    "history[4].v": "wrong",           # 0.5; from their numbers -0.5
    "history[4].y": "correct",
}


def test_perceptron_notes_statuses_and_right_values():
    r = marked("perceptron_seed")
    got = items(r)
    assert [i.path for i in r.items] == list(PERC_STATUS)
    assert {p: i.status for p, i in got.items()} == PERC_STATUS
    for p, want in PERC_RIGHT.items():
        assert np.allclose(got[p].expected, want), p
    assert r.first_wrong == "history[1].v"


def test_perceptron_notes_follow_through_values():
    got = items(marked("perceptron_seed"))
    # From the notes' own w = [0.5, 1, -0.5], b = 0.5 and x1: v = 0.5 - 1 + 0.5 + 0.5.
    assert got["history[3].v"].follow_through_value == pytest.approx(0.5)
    # Their update from their own numbers: [0.5, 1, -0.5] - [1, -1, -1].
    assert np.allclose(got["history[3].weights"].follow_through_value, [-0.5, 2, 0.5])
    assert got["history[3].bias"].follow_through_value == pytest.approx(-0.5)
    # From their w = [-0.5, 0, 0.5], b = -0.5 and x2: -0.5 + 0 + 0.5 - 0.5.
    assert got["history[4].v"].follow_through_value == pytest.approx(-0.5)


@pytest.mark.xfail(strict=True, reason=(
    "history[4].v = 0.5 for the notes' own −0.5: a sign slip, but a misread of one given number "
    "reproduces it too without spoiling the notes' right answers, so check gives no diagnosis "
    "(several kinds fit)"))
def test_perceptron_notes_x2_sign_and_v_sign_diagnoses():
    got = items(marked("perceptron_seed"))
    for p in ("history[2].v", "history[2].weights"):   # the notes' x2 = [1, 1, -1] (l. 227, 235)
        assert got[p].diagnosis == "misread"
        assert "you used −1 where the problem gives 1" in got[p].explanation and "sign" in got[p].explanation
        assert "samples" in got[p].explanation
    assert got["history[4].v"].diagnosis == "sign"     # -0.5 written 0.5 (l. 255)


def test_perceptron_notes_first_v_is_not_a_misread():
    assert items(marked("perceptron_seed"))["history[1].v"].diagnosis in (None, "sign")


def test_perceptron_notes_epoch2_weights_are_not_a_misread():
    assert items(marked("perceptron_seed"))["history[3].weights"].diagnosis != "misread"


def test_perceptron_notes_every_wrong_answer_has_its_working():
    r = marked("perceptron_seed")
    assert all(i.working is not None for i in r.items if i.status == "wrong")


def test_perceptron_notes_script_shows_follow_through_of_wrong_answers():
    lines = [t for _, t in report_lines(marked("perceptron_seed")) if "history[3].weights" in t]
    assert any("[−0.5, 2, 0.5]" in t for t in lines)


def test_perceptron_misread_location_counts_from_1():
    assert "samples[2].x[3]" in items(marked("perceptron_seed"))["history[2].v"].explanation


def test_perceptron_notes_without_tolerance_whole_numbers_are_exact():
    got = items(marked("perceptron_seed", notes_answers("perceptron_seed")))
    assert got["history[3].y"].status == "follow_through"
    assert got["history[3].e"].status == "follow_through"


# -- seed 003, backpropagation (mlp) ---------------------------------------------------------------

Y1 = [sigma(0.3 + 0.6 * 0 - 0.1 * 1), sigma(0.5 - 0.3 * 0 + 0.4 * 1)]    # 0.54983, 0.71095
YK = sigma(0.4 * Y1[0] + 0.1 * Y1[1] - 0.2)                             # σ(0.09103) = 0.52274
DK = (1 - YK) * YK * (1 - YK)                                           # 0.11907
MLP_RIGHT = {"output": YK, "local_gradients[2]": DK, "bias[2]": -0.2 + 0.05 * DK}   # -0.19405
MLP_STATUS = {"output": "correct", "local_gradients[2]": "correct", "bias[2]": "wrong"}


def test_mlp_notes_statuses_and_right_values():
    r = marked("mlp_seed")
    got = items(r)
    assert [i.path for i in r.items] == list(MLP_STATUS)
    assert {p: i.status for p, i in got.items()} == MLP_STATUS
    for p, want in MLP_RIGHT.items():
        assert float(np.ravel(got[p].expected)[0]) == pytest.approx(want, abs=1e-9), p
    # The notes' -0.170 is the textbook's learning rate: -0.2 + 0.25 δ = -0.1702.
    assert round(-0.2 + 0.25 * DK, 3) == -0.170
    assert float(np.ravel(got["bias[2]"].follow_through_value)[0]) == pytest.approx(-0.2 + 0.05 * 0.1191)


@pytest.mark.xfail(strict=True, reason=(
    "bias[2] = -0.170 = -0.2 + 0.25·0.1191: the notes update with η = 0.25 (the textbook's value; "
    "their Δw_k1 = 0.0164 is η = 0.25 too), not the stated 0.05. check says 'no single slip explains "
    "this value' (×5 is no misread of the catalogue); solving the one-parameter step for η "
    "((−0.170 + 0.2)/0.1191 = 0.25) would name it."))
def test_mlp_notes_bias_names_the_learning_rate():
    item = items(marked("mlp_seed"))["bias[2]"]
    assert item.diagnosis is not None and "0.25" in item.explanation


def test_mlp_notes_script_shows_answer_as_written():
    lines = [t for _, t in report_lines(marked("mlp_seed")) if t.lstrip().startswith("✗")]
    assert any("bias[2] = −0.170" in t for t in lines)


@pytest.mark.xfail(strict=True, reason=(
    "The mlp results have no path for the hidden layer's outputs y⁽¹⁾ (0.5498, 0.7109), the "
    "pre-activations, the error e or the weight changes Δw = η δ yᵀ (the notes' 0.0164, 0.0312, "
    "0.1098): the forward-pass steps carry id None, so most of the notes' numbers cannot be marked."))
def test_mlp_hidden_outputs_have_result_paths():
    solver = Solver(load_file(str(PROBLEMS / "mlp_seed.yaml")))
    values = numbers(solver.results)
    assert any(x == pytest.approx(Y1[0]) for x in values)
    assert any(x == pytest.approx(0.05 * DK * Y1[0]) for x in values)
