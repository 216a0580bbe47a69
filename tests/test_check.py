"""Acceptance tests of `nnsolve check` (../shared/spec/check.md).

Every expected value here comes from the tests' own arithmetic, never from nnsolve: the
LSTM of seed 000, the 2-2-1 MLP of seed 003 (forward and backward) and the perceptron of
seed 003 are written out below in a few lines of numpy, together with a hand calculation
that rounds every number it writes down. The students' answer files are built from those
values with slips planted in them, and a small enumerator of single slips (misread
givens, a term left out, a swapped activation, σ′ of v, the sign, the step before) tells,
independently of nnsolve, which kinds of slip reproduce a value; a diagnosis is expected
exactly when one kind does.
"""
from __future__ import annotations

import copy
import decimal
import json
import pathlib
import re

import numpy as np
import pytest

from nnsolve.check import check

ROOT = pathlib.Path(__file__).resolve().parent.parent
LSTM_SEED = str(ROOT / "problems" / "lstm_seed.yaml")
MLP_SEED = str(ROOT / "problems" / "mlp_seed.yaml")
PERCEPTRON_SEED = str(ROOT / "problems" / "perceptron_seed.yaml")
NO_SINGLE_SLIP = "no single slip explains this value"


# -- the tests' own arithmetic --------------------------------------------------------------

def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


ACTS = {"sigmoid": sigmoid, "tanh": np.tanh, "linear": lambda v: v}


def hand_round(x, k):
    """x to k decimals, half away from zero, as a calculator rounds what it shows."""
    q = decimal.Decimal(1).scaleb(-k)
    one = lambda v: float(decimal.Decimal(f"{float(v):.15g}").quantize(q, rounding=decimal.ROUND_HALF_UP))
    a = np.asarray(x, dtype=float)
    return one(a) if a.ndim == 0 else np.array([one(v) for v in a.ravel()]).reshape(a.shape)


def shown(x, k) -> str:
    """A value as a student writes it with k decimals (a list for a vector)."""
    a = np.asarray(x, dtype=float)
    if a.ndim == 0:
        return f"{float(a):.{k}f}"
    return "[" + ", ".join(f"{v:.{k}f}" for v in a.ravel()) + "]"


class Sheet:
    """What each step computed (from the values before it), and the value the working then
    goes on with: rounded to k decimals by hand, or replaced by the student's own answer."""

    def __init__(self, k=None, given=None):
        self.k, self.given, self.computed = k, given or {}, {}

    def r(self, x):
        return x if self.k is None else hand_round(x, self.k)

    def f(self, act, x):  # an evaluated function: its argument and its value are written down
        return self.r(act(self.r(x)))

    def step(self, path, value):
        value = self.r(value)
        self.computed[path] = value
        return np.asarray(self.given[path], dtype=float) if path in self.given else value


# seed 000's LSTM (problems/lstm_seed.yaml): one hidden unit, two inputs
LSTM = {"inputs": [[1, 2], [0.5, 3]],
        "W_f": [0.7, 0.45], "W_i": [0.95, 0.8], "W_c": [0.45, 0.25], "W_o": [0.6, 0.4],
        "U_f": 0.1, "U_i": 0.8, "U_c": 0.15, "U_o": 0.25,
        "b_f": 0.15, "b_i": 0.65, "b_c": 0.2, "b_o": 0.1, "h0": 0.0, "c0": 0.0}
LSTM_TERMS = ["b_f", "b_i", "b_c", "b_o", "U_f", "U_i", "U_c", "U_o", "c0"]


def lstm(p, *, k=None, given=None, swap=None, prime_of_v=False):
    act = lambda name: ACTS[(swap or {}).get(name, name)]
    s = Sheet(k, given)
    h, c = p["h0"], p["c0"]
    for t, x in enumerate(p["inputs"], start=1):
        pre = lambda g: p["W_" + g][0] * x[0] + p["W_" + g][1] * x[1] + p["U_" + g] * h + p["b_" + g]
        f = s.step(f"f[{t}]", s.f(act("sigmoid"), pre("f")))
        i = s.step(f"i[{t}]", s.f(act("sigmoid"), pre("i")))
        g = s.step(f"g[{t}]", s.f(act("tanh"), pre("c")))
        o = s.step(f"o[{t}]", s.f(act("sigmoid"), pre("o")))
        c = s.step(f"c[{t}]", f * c + i * g)
        h = s.step(f"h[{t}]", o * s.f(act("tanh"), c))
    return s.computed


def lstm_yaml(p) -> str:
    row = lambda v: f"[[{v[0]}, {v[1]}]]"
    return (f"kind: lstm\ninputs: {json.dumps(p['inputs'])}\nweights:\n"
            + "".join(f"  W_{g}: {row(p['W_' + g])}\n" for g in "fico")
            + "".join(f"  {n}: {p[n]}\n" for n in ("U_f", "U_i", "U_c", "U_o", "b_f", "b_i", "b_c", "b_o"))
            + f"initial: {{h: [{p['h0']}], c: [{p['c0']}]}}\n")


# seed 003's 2-2-1 logistic MLP (problems/mlp_seed.yaml), one step of backpropagation
MLP = {"input": [0, 1], "target": [1], "W1": [[0.6, -0.1], [-0.3, 0.4]], "b1": [0.3, 0.5],
       "W2": [[0.4, 0.1]], "b2": [-0.2], "eta": 0.05, "slope": 1}
MLP_TERMS = ["b1", "b2"]


def mlp(p, *, k=None, given=None, swap=None, prime_of_v=False):
    name = (swap or {}).get("sigmoid", "sigmoid")
    a = p["slope"] if name == "sigmoid" else 1.0
    phi = lambda v: ACTS[name](a * v) if name == "sigmoid" else ACTS[name](v)
    dphi = {"sigmoid": lambda u: a * u * (1 - u), "tanh": lambda u: 1 - u ** 2,
            "linear": lambda u: np.ones_like(u)}[name]
    s = Sheet(k, given)
    x, d = np.array(p["input"], float), np.array(p["target"], float)
    W1, b1, W2, b2 = (np.array(p[n], float) for n in ("W1", "b1", "W2", "b2"))
    v1 = W1 @ x + b1
    y1 = phi(v1)
    v2 = W2 @ y1 + b2
    y2 = s.step("output", phi(v2))
    e = d - y2
    d2 = s.step("local_gradients[2]", e * dphi(v2 if prime_of_v else y2))
    d1 = s.step("local_gradients[1]", dphi(v1 if prime_of_v else y1) * (W2.T @ d2))
    s.step("weights[1]", W1 + p["eta"] * np.outer(d1, x))
    s.step("bias[1]", b1 + p["eta"] * d1)
    s.step("weights[2]", W2 + p["eta"] * np.outer(d2, y1))
    s.step("bias[2]", b2 + p["eta"] * d2)
    return s.computed


# seed 003's perceptron (problems/perceptron_seed.yaml): v = w·x + b, e = d − y, w += η e x
PERCEPTRON = {"weights": [0.5, -1, -0.5], "bias": 0.5, "eta": 1,
              "samples": [([1, -1, -1], 0), ([1, 1, 1], 1)]}


def perceptron(p, *, k=None, given=None, swap=None, prime_of_v=False):
    s = Sheet(k, given)
    w, b, n = np.array(p["weights"], float), float(p["bias"]), 0
    for _epoch in range(10):
        changed = False
        for x, d in p["samples"]:
            n += 1
            x = np.array(x, float)
            v = s.step(f"history[{n}].v", w @ x + b)
            y = s.step(f"history[{n}].y", 1.0 if v >= 0 else 0.0)
            e = s.step(f"history[{n}].e", d - y)
            changed |= e != 0
            w = s.step(f"history[{n}].weights", w + p["eta"] * e * x)
            b = s.step(f"history[{n}].bias", b + p["eta"] * e)
        if not changed:
            break
    return s.computed


# the Cho-convention GRU of problems/gru_cho.yaml: two hidden units, three time steps
GRU = {"inputs": [[1, 0], [0.5, -1], [0, 2]],
       "W_z": [[0.5, -0.3], [0.2, 0.4]], "W_r": [[0.6, 0.1], [-0.4, 0.3]], "W_h": [[0.7, -0.2], [0.3, 0.5]],
       "U_z": [[0.1, 0.2], [-0.2, 0.3]], "U_r": [[0.4, -0.1], [0.2, 0.1]], "U_h": [[0.5, 0.3], [-0.3, 0.6]],
       "b_z": [0.1, -0.1], "b_r": [0, 0.2], "b_h": [0.05, 0], "h0": [0, 0]}
GRU_TERMS = ["b_z", "b_r", "b_h", "U_z", "U_r", "U_h"]


def gru(p, *, k=None, given=None, swap=None, prime_of_v=False):
    act = lambda name: ACTS[(swap or {}).get(name, name)]
    s = Sheet(k, given)
    M = lambda n: np.array(p[n], float)
    h = M("h0")
    for t, x in enumerate(p["inputs"], start=1):
        x = np.array(x, float)
        z = s.step(f"z[{t}]", s.f(act("sigmoid"), M("W_z") @ x + M("U_z") @ h + M("b_z")))
        r = s.step(f"r[{t}]", s.f(act("sigmoid"), M("W_r") @ x + M("U_r") @ h + M("b_r")))
        ht = s.step(f"h_tilde[{t}]", s.f(act("tanh"), M("W_h") @ x + M("U_h") @ (r * h) + M("b_h")))
        h = s.step(f"h[{t}]", (1 - z) * h + z * ht)
    return s.computed


EXACT = {"lstm": lstm(LSTM), "mlp": mlp(MLP), "perceptron": perceptron(PERCEPTRON), "gru": gru(GRU)}


# -- an enumerator of single slips, independent of nnsolve ----------------------------------

def _leaves(node, path=()):
    if isinstance(node, dict):
        for key, v in node.items():
            yield from _leaves(v, path + (key,))
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            yield from _leaves(v, path + (i,))
    else:
        yield path, node


def _set(node, path, value):
    node = copy.deepcopy(node)
    inner = node
    for part in path[:-1]:
        if isinstance(inner[part], tuple):
            inner[part] = list(inner[part])
        inner = inner[part]
    inner[path[-1]] = value
    return node


def _zero(v):
    return [_zero(u) for u in v] if isinstance(v, (list, tuple)) else 0.0


SWAPS = [("sigmoid", "tanh"), ("tanh", "sigmoid"), ("sigmoid", "linear"), ("tanh", "linear")]


def slips_reproducing(model, p, path, value, k, *, terms=(), given=None, stale=None):
    """The kinds of single slip that give `value` at `path` within one unit of its k-th decimal."""
    tol = 10.0 ** -k * (1 + 1e-9) + 1e-12
    value = np.ravel(value)
    close = lambda v: v is not None and np.size(v) == value.size and np.all(np.abs(np.ravel(v) - value) <= tol)
    right = model(p)
    follow = model(p, given=given)
    kinds = set()
    for base in (right[path], follow[path]):
        if np.any(np.asarray(base) != 0) and close(-np.asarray(base)):
            kinds.add("sign")
    if stale is not None and close(right[stale]):
        kinds.add("stale")
    for where, x in _leaves(p):
        for new in (x * 10, x / 10, -x):
            if new != x and not (where == ("eta",) and new <= 0):
                if close(model(_set(p, where, new), given=given).get(path)):
                    kinds.add("misread")
    for term in terms:
        if close(model(_set(p, (term,), _zero(p[term])), given=given).get(path)):
            kinds.add("missing_term")
    for a, b in SWAPS:
        if close(model(p, given=given, swap={a: b}).get(path)):
            kinds.add("activation")
    if close(model(p, given=given, prime_of_v=True).get(path)):
        kinds.add("derivative")
    return kinds


# -- helpers --------------------------------------------------------------------------------

def answers_text(answers: dict, tolerance: str | None = None) -> str:
    text = "answers:\n" + "".join(f"  {key}: {value}\n" for key, value in answers.items())
    return text + (f"tolerance: {tolerance}\n" if tolerance else "")


def item_of(report, path):
    found = [i for i in report.items if i.path == path]
    assert len(found) == 1, [i.path for i in report.items]
    return found[0]


def statuses(report) -> dict:
    return {i.path: i.status for i in report.items}


def one_error_line(err: str, file: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert re.match(rf"^error: {re.escape(file)}:\d+:\d+: ", lines[0]), lines[0]
    return lines[0]


# -- the independent arithmetic agrees with the notes' figures ------------------------------

def test_reference_values_are_the_notes_figures():
    e = EXACT["lstm"]
    assert [round(float(e[f"{n}[1]"]), 4) for n in "figoch"] == [0.8520, 0.9608, 0.8178, 0.8176, 0.7857, 0.5363]
    assert [round(float(e[f"{n}[2]"]), 4) for n in "figoch"] == [0.8703, 0.9812, 0.8498, 0.8499, 1.5176, 0.7720]
    assert hand_round(lstm(LSTM, k=3)["h[1]"], 3) == 0.537  # the notes' hand-rounded h₁
    m = EXACT["mlp"]
    assert round(float(m["output"][0]), 4) == 0.5227 and round(float(m["local_gradients[2]"][0]), 4) == 0.1191
    pc = EXACT["perceptron"]
    assert pc["history[1].v"] == 2.5 and pc["history[1].e"] == -1
    assert list(pc["history[2].weights"]) == [0.5, 1, 1.5]


# -- more helpers ---------------------------------------------------------------------------

# seed 000's LSTM with further inputs: a longer chain, where hand rounding drifts
LSTM_3 = dict(LSTM, inputs=[[1, 2], [0.5, 3], [2.5, 2]])
LSTM_4 = dict(LSTM, inputs=[[1, 2], [0.5, 3], [2.5, 2], [1, 1]])
# problems/perceptron_and.yaml: logic AND from zero weights
PERCEPTRON_AND = {"weights": [0, 0], "bias": 0, "eta": 1,
                  "samples": [([0, 0], 0), ([0, 1], 0), ([1, 0], 0), ([1, 1], 1)]}
EXACT["and"] = perceptron(PERCEPTRON_AND)
PROBLEMS = {"lstm": LSTM_SEED, "mlp": MLP_SEED, "perceptron": PERCEPTRON_SEED,
            "gru": str(ROOT / "problems" / "gru_cho.yaml"), "and": str(ROOT / "problems" / "perceptron_and.yaml")}
MODELS = {"lstm": (lstm, LSTM, LSTM_TERMS), "mlp": (mlp, MLP, MLP_TERMS), "perceptron": (perceptron, PERCEPTRON, ()),
          "gru": (gru, GRU, GRU_TERMS), "and": (perceptron, PERCEPTRON_AND, ())}


def mark(write, problem, answers: dict, tolerance: str | None = None, name: str = "answers.yaml"):
    """The report of `check` on an answers file holding exactly these texts."""
    return check(problem, write(answers_text(answers, tolerance), name))


def close_to(got, want, tol=1e-9):
    return np.allclose(np.asarray(got, dtype=float).ravel(), np.asarray(want, dtype=float).ravel(), atol=tol, rtol=0)


# -- statuses -------------------------------------------------------------------------------

def test_every_answer_right_is_correct_and_exit_0(run_cli, write):
    exact = EXACT["lstm"]
    # written in reverse: check takes them in the order the working computes them
    path = write(answers_text({p: shown(v, 4) for p, v in reversed(exact.items())}), "all_right.yaml")
    report = check(LSTM_SEED, path)
    assert [i.path for i in report.items] == list(exact)  # f[1], i[1], g[1], o[1], c[1], h[1], f[2], …
    assert all(i.status == "correct" and i.diagnosis is None for i in report.items)
    for item in report.items:
        assert close_to(item.expected, exact[item.path])
    assert report.first_wrong is None
    assert report.summary == {"correct": 12, "rounding": 0, "follow_through": 0, "wrong": 0, "total": 12}
    code, out, err = run_cli("check", LSTM_SEED, path)
    assert code == 0 and "✓" in out and "✗" not in out and err == ""


@pytest.mark.parametrize("written, right", [
    ("0.852", True), ("0.851", True),      # one unit of the 3rd decimal of 0.85195
    ("0.85", True),                        # two decimals: within 0.01
    ("0.8519", True), ("0.8521", False),   # four decimals: within 0.0001 only
    ("0.8505", False), ("0.853", False), ("0.84", False),
])
def test_default_tolerance_is_one_unit_of_the_last_decimal(write, written, right):
    exact = float(EXACT["lstm"]["f[1]"])
    assert abs(exact - 0.85195) < 1e-5
    assert (abs(float(written) - exact) <= 10.0 ** -len(written.split(".")[1])) == right  # the rule, by hand
    item = item_of(mark(write, LSTM_SEED, {"f[1]": written}), "f[1]")
    assert (item.status == "correct") == right, (written, item.status)


def test_rounding_status_for_a_hand_calculation_that_drifts(run_cli, write):
    problem = write(lstm_yaml(LSTM_3), "lstm_three_steps.yaml")
    exact, by_hand = lstm(LSTM_3)["c[3]"], lstm(LSTM_3, k=3)["c[3]"]
    assert by_hand == 2.393 and abs(exact - 2.3913058) < 1e-6  # the drift: 1.7 units of the 3rd decimal
    assert abs(by_hand - exact) > 0.001
    for tolerance in (None, "{decimals: 3}"):
        report = mark(write, problem, {"c[1]": shown(EXACT["lstm"]["c[1]"], 3), "c[3]": "2.393"}, tolerance)
        item = item_of(report, "c[3]")
        assert item.status == "rounding" and close_to(item.expected, exact)
        assert report.summary == {"correct": 1, "rounding": 1, "follow_through": 0, "wrong": 0, "total": 2}
        assert report.first_wrong is None
    # right up to rounding is not wrong: exit 0
    code, out, _ = run_cli("check", problem, write(answers_text({"c[3]": "2.393"}), "drift.yaml"))
    assert code == 0 and "2.393" in out
    # a value the hand calculation does not give is not rounding
    assert item_of(mark(write, problem, {"c[3]": "2.396"}), "c[3]").status == "wrong"
    # with a looser tolerance the same answer is simply correct
    assert item_of(mark(write, problem, {"c[3]": "2.393"}, "{absolute: 0.002}"), "c[3]").status == "correct"


def test_follow_through_within_a_time_step(write):
    # the notes' i₁ = σ(17.6) = 1 (8 read for 0.8), then c₁ and h₁ right from it
    own = lstm(LSTM, given={"i[1]": 1.0})
    c1, h1 = hand_round(own["c[1]"], 3), hand_round(lstm(LSTM, given={"i[1]": 1.0, "c[1]": 0.818})["h[1]"], 3)
    assert (c1, h1) == (0.818, 0.551)  # the spec's example
    report = mark(write, LSTM_SEED, {"f[1]": "0.852", "i[1]": "1.0", "c[1]": "0.818", "h[1]": "0.551"}, "{decimals: 3}")
    assert statuses(report) == {"f[1]": "correct", "i[1]": "wrong", "c[1]": "follow_through", "h[1]": "follow_through"}
    assert item_of(report, "i[1]").diagnosis == "misread"
    assert close_to(item_of(report, "c[1]").follow_through_value, own["c[1]"])
    assert close_to(item_of(report, "c[1]").expected, EXACT["lstm"]["c[1]"])
    assert report.first_wrong == "i[1]"
    assert report.summary == {"correct": 1, "rounding": 0, "follow_through": 2, "wrong": 1, "total": 4}


def test_follow_through_across_time_steps(write):
    # h₁ with the wrong sign, then step 2 worked on from it: f₂ = σ(1.85 + 0.1 h₁), …
    own = lstm(LSTM, given={"h[1]": -0.536})
    assert abs(own["f[2]"] - sigmoid(1.85 - 0.0536)) < 1e-12
    answers = {"h[1]": "-0.536", "f[2]": shown(own["f[2]"], 3), "i[2]": shown(own["i[2]"], 3),
               "o[2]": shown(own["o[2]"], 3)}
    report = mark(write, LSTM_SEED, answers, "{decimals: 3}")
    assert statuses(report) == {"h[1]": "wrong", "f[2]": "follow_through", "i[2]": "follow_through",
                                "o[2]": "follow_through"}
    assert item_of(report, "h[1]").diagnosis == "sign"
    for p in ("f[2]", "i[2]", "o[2]"):
        assert close_to(item_of(report, p).follow_through_value, own[p], 1e-6)
        assert close_to(item_of(report, p).expected, EXACT["lstm"][p])


def test_follow_through_in_the_perceptron(write):
    # e = y − d at the first sample (sign), then the weights and bias updated with that e
    own = perceptron(PERCEPTRON, given={"history[1].e": 1.0})
    assert list(own["history[1].weights"]) == [1.5, -2, -1.5] and own["history[1].bias"] == 1.5
    report = mark(write, PERCEPTRON_SEED, {"history[1].e": "1", "history[1].weights": "[1.5, -2, -1.5]",
                                           "history[1].bias": "1.5"}, "{decimals: 2}")
    assert statuses(report) == {"history[1].e": "wrong", "history[1].weights": "follow_through",
                                "history[1].bias": "follow_through"}
    assert item_of(report, "history[1].e").diagnosis == "sign"
    assert report.first_wrong == "history[1].e"


def test_wrong_with_no_slip_that_explains_it(write):
    assert slips_reproducing(lstm, LSTM, "f[1]", 0.123, 3, terms=LSTM_TERMS) == set()
    item = item_of(mark(write, LSTM_SEED, {"f[1]": "0.123"}), "f[1]")
    assert item.status == "wrong" and item.diagnosis is None
    assert NO_SINGLE_SLIP in item.explanation


# -- diagnoses ------------------------------------------------------------------------------

def _planted(name, path, value, k, others=None):
    """The student's answers: the slipped value at `path`, the others as given; all to k decimals."""
    answers = {q: hand_round(v, k) for q, v in (others or {}).items()}
    answers[path] = hand_round(value, k)
    return answers


def _slipped(name, path, where, new):
    model, p, _ = MODELS[name]
    return model(_set(p, where, new))[path]


E, M_, G = EXACT["lstm"], EXACT["mlp"], EXACT["gru"]
DIAGNOSES = [
    # sign: the negated value; e = y − d for d − y
    ("sign: h₁ negated", "lstm", "h[1]", lambda: -E["h[1]"], 3, None, None),
    ("sign: e = y − d", "perceptron", "history[1].e", lambda: 1.0, 2, None, None),
    # misread: ×10 (seed 000's 8 for 0.8), ÷10, the sign dropped
    ("misread: 8 for 0.8", "lstm", "i[1]", lambda: _slipped("lstm", "i[1]", ("W_i", 1), 8), 3, None, None),
    ("misread: 0.07 for 0.7", "lstm", "f[1]", lambda: _slipped("lstm", "f[1]", ("W_f", 0), 0.07), 3, None, None),
    ("misread: b = 0.2 for −0.2", "mlp", "output", lambda: _slipped("mlp", "output", ("b2", 0), 0.2), 3, None, None),
    # activation: σ for tanh, tanh for σ, none
    ("activation: σ for tanh", "lstm", "g[1]", lambda: sigmoid(1.15), 3, None, None),
    ("activation: tanh for σ", "lstm", "f[1]", lambda: np.tanh(1.75), 3, None, None),
    ("activation: none for tanh", "lstm", "g[1]", lambda: 1.15, 3, None, None),
    # missing_term: a bias; the recurrent term U h_{t−1} at t = 2
    ("missing_term: b_f", "lstm", "f[1]", lambda: sigmoid(0.7 + 0.45 * 2), 3, None, None),
    ("missing_term: U_f h₁ at t = 2", "lstm", "f[2]", lambda: sigmoid(0.7 * 0.5 + 0.45 * 3 + 0.15), 4, None, None),
    ("missing_term: the hidden biases", "mlp", "output",
     lambda: sigmoid(np.array([0.4, 0.1]) @ sigmoid(np.array([-0.1, 0.4])) - 0.2), 4, None, None),
    ("missing_term: U_h (r ⊙ h₁) in the GRU", "gru", "h_tilde[2]",
     lambda: np.tanh(np.array(GRU["W_h"]) @ [0.5, -1] + GRU["b_h"]), 3,
     lambda: {"z[2]": G["z[2]"], "r[2]": G["r[2]"]}, None),
    # derivative: σ′ of v, v(1 − v), in an MLP's δ
    ("derivative: δ of the output layer", "mlp", "local_gradients[2]",
     lambda: (1 - M_["output"]) * 0.0910143 * (1 - 0.0910143), 4, None, None),
    ("derivative: δ of the hidden layer", "mlp", "local_gradients[1]",
     lambda: mlp(MLP, prime_of_v=True)["local_gradients[1]"], 5, None, None),
    pytest.param("derivative: hidden δ from a right output δ", "mlp", "local_gradients[1]",
                 lambda: np.array([0.2 * 0.8, 0.9 * 0.1]) * np.array([0.4, 0.1]) * 0.1191, 4,
                 lambda: {"local_gradients[2]": M_["local_gradients[2]"]}, None),
    # stale: the value of the step before; old perceptron weights
    ("stale: h₁ for h₂", "lstm", "h[2]", lambda: E["h[1]"], 3, None, "h[1]"),
    ("stale: the weights before the update", "and", "history[4].weights",
     lambda: EXACT["and"]["history[3].weights"], 2, None, "history[3].weights"),
    pytest.param("stale: the initial weights kept at the first update", "perceptron", "history[1].weights",
                 lambda: np.array(PERCEPTRON["weights"], float), 2, None, np.array(PERCEPTRON["weights"], float)),
]


def _ids(case):
    return case.values[0] if hasattr(case, "values") else case[0]



@pytest.mark.parametrize("label, name, path, value, k, others, stale", DIAGNOSES, ids=[_ids(c) for c in DIAGNOSES])
def test_diagnosis_of_a_planted_slip(write, label, name, path, value, k, others, stale):
    want = label.split(":")[0]
    answers = _planted(name, path, value(), k, others() if others else None)
    model, p, terms = MODELS[name]
    given = {q: v for q, v in answers.items() if q != path}
    # the tests' own judgement first: exactly this one kind of slip gives the value
    stale_value = stale if stale is None or isinstance(stale, str) else None
    kinds = slips_reproducing(model, p, path, answers[path], k, terms=terms, given=given or None, stale=stale_value)
    if stale is not None and not isinstance(stale, str):
        kinds |= {"stale"} if close_to(answers[path], stale, 10.0 ** -k) else set()
    assert kinds == {want}, kinds
    assert not close_to(answers[path], EXACT[name][path], 10.0 ** -k)  # really wrong
    report = mark(write, PROBLEMS[name], {q: shown(v, k) for q, v in answers.items()}, f"{{decimals: {k}}}")
    item = item_of(report, path)
    assert item.status == "wrong" and close_to(item.expected, EXACT[name][path])
    assert (item.diagnosis, report.first_wrong) == (want, path), item.explanation
    assert item.explanation and NO_SINGLE_SLIP not in item.explanation
    assert item.working and item.working.get("value")  # the right working of the step comes with it


AMBIGUOUS = [
    # b_f left out (σ(1.6) = 0.832) and b_f read ÷10 (σ(1.615) = 0.834): both 0.83 to 2 decimals
    ("lstm", "f[1]", 0.83, 2, None, {"misread", "missing_term"}),
    # U_i h₁ left out, and a misread input, both give 0.9714
    ("lstm", "i[2]", 0.9714, 4, None, {"misread", "missing_term"}),
    # no update at sample 2: the weights of the step before, or x₂ read [1, 1, 10] (y = 1 = d)
    ("perceptron", "history[2].weights", np.array([-0.5, 0, 0.5]), 2, "history[1].weights", {"misread", "stale"}),
    # nothing gives 0.123
    ("lstm", "f[1]", 0.123, 3, None, set()),
]


@pytest.mark.parametrize("name, path, value, k, stale, kinds", AMBIGUOUS)
def test_no_diagnosis_unless_exactly_one_kind_of_slip_fits(write, name, path, value, k, stale, kinds):
    model, p, terms = MODELS[name]
    assert slips_reproducing(model, p, path, value, k, terms=terms, stale=stale) == kinds
    item = item_of(mark(write, PROBLEMS[name], {path: shown(value, k)}, f"{{decimals: {k}}}"), path)
    assert item.status == "wrong" and item.diagnosis is None
    assert NO_SINGLE_SLIP in item.explanation
    for kind in kinds:  # the kinds that fit are named
        assert kind in item.explanation


def test_sign_of_the_follow_through_value(write):
    own = lstm(LSTM, given={"i[1]": 1.0})["c[1]"]  # 0.8178 from the student's i₁ = 1
    assert slips_reproducing(lstm, LSTM, "c[1]", -hand_round(own, 3), 3, terms=LSTM_TERMS,
                             given={"i[1]": 1.0}) == {"sign"}
    report = mark(write, LSTM_SEED, {"i[1]": "1.000", "c[1]": shown(-own, 3)}, "{decimals: 3}")
    item = item_of(report, "c[1]")
    assert (item.status, item.diagnosis) == ("wrong", "sign")
    assert close_to(item.follow_through_value, own)


@pytest.mark.parametrize("earlier", [
    False,
    pytest.param(True),
], ids=["f4 alone", "after a right f3"])
def test_recurrent_term_left_out_at_a_later_step(write, earlier):
    """U_f h₃ left out at t = 4 only: f₄ = σ(W_f x₄ + b_f) = σ(1.3), whatever h₃ is."""
    exact = lstm(LSTM_4)
    f4 = hand_round(sigmoid(0.7 * 1 + 0.45 * 1 + 0.15), 4)
    answers = {"f[3]": hand_round(exact["f[3]"], 4)} if earlier else {}
    assert slips_reproducing(lstm, LSTM_4, "f[4]", f4, 4, terms=LSTM_TERMS, given=answers or None,
                             stale="f[3]") == {"missing_term"}
    answers["f[4]"] = f4
    problem = write(lstm_yaml(LSTM_4), "lstm_four_steps.yaml")
    report = mark(write, problem, {q: shown(v, 4) for q, v in answers.items()}, "{decimals: 4}")
    if earlier:
        assert item_of(report, "f[3]").status == "correct"
    item = item_of(report, "f[4]")
    assert (item.status, item.diagnosis) == ("wrong", "missing_term"), item.explanation


# -- a whole script -------------------------------------------------------------------------

def _mixed_script():
    """Seed 000's LSTM with four inputs, worked by hand to 3 decimals: c₃ drifts with the
    rounding, f₄ has the wrong sign, c₄ goes on from that f₄, and h₄ is h₃ copied."""
    exact, by_hand = lstm(LSTM_4), lstm(LSTM_4, k=3)
    f4 = -hand_round(exact["f[4]"], 3)
    own = lstm(LSTM_4, given={"c[3]": by_hand["c[3]"], "f[4]": f4})
    c4 = hand_round(own["c[4]"], 3)
    answers = {"h[4]": shown(by_hand["h[3]"], 3), "f[1]": shown(exact["f[1]"], 3), "i[1]": shown(exact["i[1]"], 3),
               "c[3]": shown(by_hand["c[3]"], 3), "f[4]": shown(f4, 3), "c[4]": shown(c4, 3)}
    want = {"f[1]": ("correct", None), "i[1]": ("correct", None), "c[3]": ("rounding", None),
            "f[4]": ("wrong", "sign"), "c[4]": ("follow_through", None), "h[4]": ("wrong", "stale")}
    # the tests' own reasoning behind each status
    assert abs(by_hand["c[3]"] - exact["c[3]"]) > 0.001
    assert abs(c4 - exact["c[4]"]) > 0.001 and abs(by_hand["h[3]"] - exact["h[4]"]) > 0.001
    given = {"c[3]": by_hand["c[3]"]}
    assert slips_reproducing(lstm, LSTM_4, "f[4]", f4, 3, terms=LSTM_TERMS, given=given, stale="f[3]") == {"sign"}
    given.update({"f[4]": f4, "c[4]": c4})
    assert slips_reproducing(lstm, LSTM_4, "h[4]", by_hand["h[3]"], 3, terms=LSTM_TERMS, given=given,
                             stale="h[3]") == {"stale"}
    return answers, want, {"c[4]": own["c[4]"]}


def test_a_mixed_script(run_cli, write):
    problem = write(lstm_yaml(LSTM_4), "lstm_four_steps.yaml")
    answers, want, own = _mixed_script()
    path = write(answers_text(answers, "{decimals: 3}"), "mixed.yaml")
    report = check(problem, path)
    assert [i.path for i in report.items] == list(want)  # in the order of the working
    assert {i.path: (i.status, i.diagnosis) for i in report.items} == want
    assert close_to(item_of(report, "c[4]").follow_through_value, own["c[4]"], 1e-6)
    assert report.first_wrong == "f[4]"
    assert report.summary == {"correct": 2, "rounding": 1, "follow_through": 1, "wrong": 2, "total": 6}
    code, out, err = run_cli("check", problem, path, "--format", "json")
    assert code == 1 and err == ""
    data = json.loads(out)
    assert data["first_wrong"] == "f[4]" and data["summary"] == report.summary
    assert [(i["path"], i["status"], i["diagnosis"]) for i in data["items"]] == [(p, *s) for p, s in want.items()]


def test_first_wrong_is_the_first_in_the_working_not_in_the_file(write):
    report = mark(write, LSTM_SEED, {"h[2]": shown(E["h[1]"], 3), "c[1]": "0.786", "f[1]": "0.123"})
    assert [i.path for i in report.items] == ["f[1]", "c[1]", "h[2]"]
    assert report.first_wrong == "f[1]"
    assert item_of(report, "h[2]").diagnosis == "stale"


@pytest.mark.parametrize("answers, code", [
    ({"f[1]": "0.852", "h[2]": "0.772"}, 0),                   # all correct
    ({"f[1]": "0.852", "h[2]": "0.536"}, 1),                   # one wrong
    ({"f[1]": "0.852", "h[2]": "abc"}, 2),                     # bad input
])
def test_exit_status(run_cli, write, answers, code):
    got, out, err = run_cli("check", LSTM_SEED, write(answers_text(answers), "a.yaml"))
    assert got == code
    assert (err.startswith("error: ") and out == "") if code == 2 else err == ""


# -- bad input ------------------------------------------------------------------------------

def test_unknown_path_names_the_paths_there_are(run_cli, write):
    path = write("answers:\n  f[1]: 0.852\n  h[5]: 0.5\n", "unknown.yaml")
    code, out, err = run_cli("check", LSTM_SEED, path)
    line = one_error_line(err, path)
    assert code == 2 and out == ""
    assert line.startswith(f"error: {path}:3:3: ")
    assert "h[5]" in line and "h[1]" in line and "h[2]" in line
    with pytest.raises(Exception) as info:  # the Python API raises the same input error
        check(LSTM_SEED, path)
    assert "h[5]" in str(info.value) and "h[1], h[2]" in str(info.value)


BAD = [
    ("not YAML", "answers:\n  h[1]: [0.5, 0.3\n", None),
    ("not YAML: an unclosed mapping", "answers: {h[1]: 0.5\n", None),
    ("a string value", "answers:\n  f[1]: 0.852\n  h[1]: abc\n", ":3:3: "),
    ("a quoted number", "answers:\n  h[1]: \"0.536\"\n", ":2:3: "),
    ("no value", "answers:\n  h[1]:\n", ":2:3: "),
    ("true for a number", "answers:\n  h[1]: true\n", ":2:3: "),
    ("NaN", "answers:\n  h[1]: .nan\n", ":2:3: "),
    ("a non-existent time step", "answers:\n  f[1]: 0.852\n  f[3][1]: 0.9\n", ":3:3: "),
    ("a non-existent component", "answers:\n  h[1][2]: 0.5\n", ":2:3: "),
    ("a zero index", "answers:\n  h[0]: 0.5\n", ":2:3: "),
    ("a negative index", "answers:\n  h[-1]: 0.5\n", ":2:3: "),
    ("not a path", "answers:\n  \"h[1\": 0.5\n", ":2:3: "),
    ("too many numbers", "answers:\n  h[1]: [0.5, 0.2]\n", ":2:3: "),
    pytest.param("an empty file", "", None),
    pytest.param("only a comment", "# nothing yet\n", None),
    ("a missing answers key", "tolerance: {decimals: 3}\n", ":1:1: "),
    ("answers not a mapping", "answers: [0.852, 0.961]\n", ":1:1: "),
    ("no answers", "answers: {}\n", ":1:1: "),
    ("a list at the top", "- 0.852\n", ":1:1: "),
    ("an unknown key", "answers:\n  f[1]: 0.852\nmarks: 3\n", ":3:1: "),
    ("a key twice", "answers:\n  f[1]: 0.852\n  f[1]: 0.851\n", ":3:3: "),
    ("tolerance: a negative decimals", "answers:\n  f[1]: 0.852\ntolerance: {decimals: -1}\n", ":3:"),
    ("tolerance: fractional decimals", "answers:\n  f[1]: 0.852\ntolerance: {decimals: 2.5}\n", ":3:"),
    ("tolerance: relative 0", "answers:\n  f[1]: 0.852\ntolerance: {relative: 0}\n", ":3:"),
    ("tolerance: a negative absolute", "answers:\n  f[1]: 0.852\ntolerance: {absolute: -0.001}\n", ":3:"),
    ("tolerance: a text", "answers:\n  f[1]: 0.852\ntolerance: {absolute: small}\n", ":3:"),
    ("tolerance: sigfigs 0", "answers:\n  f[1]: 0.852\ntolerance: {sigfigs: 0}\n", ":3:"),
    ("tolerance: an unknown form", "answers:\n  f[1]: 0.852\ntolerance: {percent: 1}\n", ":3:"),
    ("tolerance: a bare number", "answers:\n  f[1]: 0.852\ntolerance: 3\n", ":3:"),
    ("tolerance: two forms", "answers:\n  f[1]: 0.852\ntolerance: {decimals: 3, relative: 0.01}\n", ":3:"),
    pytest.param("tolerance: infinite", "answers:\n  f[1]: 0.852\ntolerance: {relative: .inf}\n", ":3:"),
    pytest.param("tolerance: 30 decimals", "answers:\n  h[1]: 0.5\ntolerance: {decimals: 30}\n", ":3:"),
]


@pytest.mark.parametrize("label, text, where", BAD, ids=[_ids(c) for c in BAD])
def test_bad_answers_file_is_one_located_error(run_cli, write, label, text, where):
    path = write(text, "bad.yaml")
    code, out, err = run_cli("check", LSTM_SEED, path)
    assert code == 2 and out == ""
    line = one_error_line(err, path)
    if where:
        assert line.startswith(f"error: {path}{where}"), line


def test_a_tiny_answer_in_e_notation_is_marked(run_cli, write):
    code, out, err = run_cli("check", LSTM_SEED, write("answers:\n  h[1]: 1.5e-40\n", "tiny.yaml"))
    assert code == 1 and "internal error" not in err and "h[1]" in out


# -- tolerance forms ------------------------------------------------------------------------

@pytest.mark.parametrize("path, written, tolerance, right", [
    ("f[1]", "0.850", None, True),                 # YAML reads 0.85: two decimals
    ("f[1]", "0.850", "{decimals: 3}", False),     # counted as three decimals: 0.00195 off
    ("f[1]", "0.852", "{decimals: 3}", True),
    ("f[1]", "0.85", "{decimals: 4}", False),
    ("f[1]", "0.845", "{relative: 0.01}", True),   # 0.00695 ≤ 0.0085
    ("f[1]", "0.84", "{relative: 0.01}", False),   # 0.01195 > 0.0085
    ("c[2]", "1.5", "{relative: 0.02}", True),     # 0.0176 ≤ 0.0304
    ("f[1]", "0.8515", "{absolute: 0.001}", True),
    ("f[1]", "0.8505", "{absolute: 0.001}", False),
    ("f[1]", "0.9", "{absolute: 0.05}", True),
    ("c[2]", "1.51", "{sigfigs: 3}", True),        # one unit of the 3rd figure of 1.5176: 0.01
    ("c[2]", "1.53", "{sigfigs: 3}", False),
    ("f[1]", "0.852", "{sigfigs: 3}", True),       # of 0.85195: 0.001
    ("f[1]", "0.8505", "{sigfigs: 3}", False),
])
def test_tolerance_forms(write, path, written, tolerance, right):
    exact = float(EXACT["lstm"][path])
    bound = {None: 10.0 ** -len(str(float(written)).split(".")[1])}.get(tolerance)
    if tolerance:
        form, amount = tolerance.strip("{}").split(": ")
        amount = float(amount)
        bound = {"decimals": 10.0 ** -amount, "relative": amount * abs(exact), "absolute": amount,
                 "sigfigs": 10.0 ** (np.floor(np.log10(abs(exact))) - amount + 1)}[form]
    assert (abs(float(written) - exact) <= bound) == right  # the rule, by hand
    item = item_of(mark(write, LSTM_SEED, {path: written}, tolerance), path)
    assert (item.status == "correct") == right, item.status


# -- several scripts, formats ---------------------------------------------------------------

def _class_scripts(write):
    good = write(answers_text({"f[1]": "0.852", "c[1]": "0.786", "h[1]": "0.536"}), "anna.yaml")
    notes = write(answers_text({"f[1]": "0.852", "i[1]": "1.0", "c[1]": "0.818", "h[1]": "0.551"},
                               "{decimals: 3}"), "ben.yaml")
    slips = write(answers_text({"g[1]": shown(sigmoid(1.15), 3), "h[2]": shown(E["h[1]"], 3)},
                               "{decimals: 3}"), "carl.yaml")
    return good, notes, slips


def test_several_scripts_json_with_summary(run_cli, write):
    files = _class_scripts(write)
    code, out, err = run_cli("check", LSTM_SEED, *files, "--summary", "--format", "json")
    assert code == 1 and err == ""
    data = json.loads(out)
    assert set(data) >= {"reports", "summary"} and len(data["reports"]) == 3
    firsts = [r["first_wrong"] for r in data["reports"]]
    assert firsts == [None, "i[1]", "g[1]"]
    sums = [r["summary"] for r in data["reports"]]
    assert sums[0] == {"correct": 3, "rounding": 0, "follow_through": 0, "wrong": 0, "total": 3}
    assert sums[1] == {"correct": 1, "rounding": 0, "follow_through": 2, "wrong": 1, "total": 4}
    assert sums[2] == {"correct": 0, "rounding": 0, "follow_through": 0, "wrong": 2, "total": 2}
    assert data["summary"] == {"correct": 4, "rounding": 0, "follow_through": 2, "wrong": 3, "total": 9}
    carl = {i["path"]: i["diagnosis"] for i in data["reports"][2]["items"]}
    assert carl == {"g[1]": "activation", "h[2]": "stale"}
    # without --summary: still one object, one report per file
    code, out, _ = run_cli("check", LSTM_SEED, *files, "--format", "json")
    assert code == 1 and len(json.loads(out)["reports"]) == 3
    # all of them right: exit 0
    code, _, _ = run_cli("check", LSTM_SEED, files[0], files[0], "--summary")
    assert code == 0


def test_several_scripts_one_bad_file_is_exit_2(run_cli, write):
    good, _, _ = _class_scripts(write)
    bad = write("answers:\n  h[9]: 0.5\n", "dan.yaml")
    code, out, err = run_cli("check", LSTM_SEED, good, bad, "--summary")
    assert code == 2 and one_error_line(err, bad)


def test_several_scripts_terminal_summary_table(run_cli, write):
    files = _class_scripts(write)
    code, out, _ = run_cli("check", LSTM_SEED, *files, "--summary")
    assert code == 1
    for f in files:
        assert pathlib.Path(f).name in out
    assert "✓" in out and "✗" in out and "i[1]" in out and "g[1]" in out


def test_markdown_renders_the_marked_script(run_cli, write):
    files = _class_scripts(write)
    code, out, _ = run_cli("check", LSTM_SEED, *files, "--summary", "--format", "markdown")
    assert code == 1
    assert out.count("## ") >= 3                                   # one heading per script
    assert "✓" in out and "✗" in out and "FT" in out                # ticks, crosses, follow-through
    assert "First wrong step, i[1]" in out and "σ(3.2)" in out      # the right working of the first slip
    table = [l for l in out.splitlines() if l.startswith("|")]
    assert len(table) == 2 + 3                                      # header, rule, one row per script
    assert "i[1]" in table[3] and "g[1]" in table[4]


def test_terminal_shows_the_right_working_of_the_first_wrong_step(run_cli, write):
    path = write(answers_text({"f[1]": "0.852", "i[1]": "1.0", "c[1]": "0.818", "h[1]": "0.551"},
                              "{decimals: 3}"), "notes.yaml")
    code, out, _ = run_cli("check", LSTM_SEED, path)
    assert code == 1
    assert "✓" in out and "✗" in out and "FT" in out
    assert "First wrong step" in out and "0.95 · 1 + 0.8 · 2" in out and "0.9608" in out


# -- the JSON contract and the Python API ---------------------------------------------------

def test_json_is_one_object_per_the_spec(run_cli, write):
    path = write(answers_text({"f[1]": "0.852", "i[1]": "1.0", "c[1]": "0.818", "h[1]": "0.551"},
                              "{decimals: 3}"), "notes.yaml")
    code, out, _ = run_cli("check", LSTM_SEED, path, "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert set(data) >= {"problem", "items", "first_wrong", "summary"}
    assert data["problem"].endswith("lstm_seed.yaml")
    keys = {"path", "given", "expected", "status", "diagnosis", "explanation", "follow_through_value"}
    assert all(set(i) >= keys for i in data["items"])
    i1 = data["items"][1]
    assert (i1["path"], i1["given"], i1["status"], i1["diagnosis"]) == ("i[1]", 1.0, "wrong", "misread")
    assert abs(i1["expected"] - E["i[1]"]) < 1e-12 and abs(i1["expected"] - 0.96083) < 1e-5
    assert isinstance(i1["explanation"], str) and i1["explanation"]
    c1 = data["items"][2]
    assert c1["status"] == "follow_through" and abs(c1["follow_through_value"] - 0.81775) < 1e-5
    assert data["first_wrong"] == "i[1]"
    assert data["summary"] == {"correct": 1, "rounding": 0, "follow_through": 2, "wrong": 1, "total": 4}
    # every wrong answer carries the right working of its step
    wk = i1["working"]
    assert "σ" in wk["symbolic"] and any("0.95" in s for s in wk["substituted"]) and wk["value"].startswith("0.9608")


def test_json_follow_through_value_of_the_first_wrong_answer_is_null(run_cli, write):
    path = write(answers_text({"f[1]": "0.852", "i[1]": "1.0", "c[1]": "0.818", "h[1]": "0.551"},
                              "{decimals: 3}"), "notes.yaml")
    data = json.loads(run_cli("check", LSTM_SEED, path, "--format", "json")[1])
    assert data["items"][1]["follow_through_value"] is None


def test_python_api(write):
    path = write(answers_text({"f[1]": "0.852", "i[1]": "1.0", "c[1]": "0.818"}, "{decimals: 3}"), "api.yaml")
    for answers in (path, {"f[1]": 0.852, "i[1]": 0.999, "c[1]": 0.817},  # own decimals: 0.999 is wrong
                    {"answers": {"f[1]": 0.852, "i[1]": 1.0, "c[1]": 0.818}, "tolerance": {"decimals": 3}}):
        report = check(LSTM_SEED, answers)
        assert [(i.path, i.status) for i in report.items] == [
            ("f[1]", "correct"), ("i[1]", "wrong"), ("c[1]", "follow_through")]
        assert report.first_wrong == "i[1]"
        assert report.summary == {"correct": 1, "rounding": 0, "follow_through": 1, "wrong": 1, "total": 3}
        d = report.to_dict()
        assert json.loads(json.dumps(d)) == d  # plain data
        assert d["first_wrong"] == "i[1]" and d["summary"] == report.summary
        assert [i["status"] for i in d["items"]] == ["correct", "wrong", "follow_through"]
    with pytest.raises(Exception) as info:
        check(LSTM_SEED, {"h[5]": 0.5})
    assert "h[1]" in str(info.value)


def test_path_forms(write):
    """A number for a one-element vector, a component, a matrix entry, a whole result, `.name`."""
    m, pc, g = EXACT["mlp"], EXACT["perceptron"], EXACT["gru"]
    loss = 0.5 * float((1 - m["output"][0]) ** 2)
    report = mark(write, MLP_SEED, {"output": shown(m["output"][0], 4), "loss": shown(loss, 4),
                                    "local_gradients[1]": shown(m["local_gradients[1]"], 5),
                                    "weights[2][1][2]": shown(m["weights[2]"][0][1], 4),
                                    "bias[2]": shown(m["bias[2]"], 4)})
    assert all(i.status == "correct" for i in report.items), statuses(report)
    report = mark(write, PERCEPTRON_SEED, {"history[3].v": "-1.5", "history[2].weights[3]": "1.5",
                                           "weights": "[0.5, 1, 1.5]"}, "{decimals: 2}")
    assert all(i.status == "correct" for i in report.items), statuses(report)
    assert pc["history[3].v"] == -1.5
    report = mark(write, PROBLEMS["gru"], {"h[1]": shown(g["h[1]"], 3), "h[3][2]": shown(g["h[3]"][1], 3),
                                           "h[3][1]": shown(-g["h[3]"][0], 3)}, "{decimals: 3}")
    assert statuses(report) == {"h[1]": "correct", "h[3][1]": "wrong", "h[3][2]": "correct"}
    assert item_of(report, "h[3][1]").diagnosis == "sign"
