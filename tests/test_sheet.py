"""The recorder: step ids resolve in results, hand rounding matches hand-rounded working
written here independently, and given values are carried forward."""
import json
import math

import numpy as np
import pytest

from conftest import PROBLEMS, ROOT
from nnsolve.core import solve_file, solve_text
from nnsolve.render import json as render_json
from nnsolve.sheet import parse_path, path_text


def resolve(results, path):
    node = results
    for part in parse_path(path):
        node = node[part - 1] if isinstance(part, int) else node[part]
    return node


@pytest.mark.parametrize("path", PROBLEMS, ids=[p.name for p in PROBLEMS])
def test_every_step_id_resolves_to_the_shown_value(path):
    data = json.loads(render_json.render(solve_file(str(path)), full=True))
    ids = 0
    for section in data["sections"]:
        for block in section["blocks"]:
            if block.get("type") == "step" and "id" in block:
                ids += 1
                want = resolve(data["results"], block["id"])
                np.testing.assert_array_equal(np.asarray(block["value"], float), np.asarray(want, float),
                                              err_msg=block["id"])
    assert ids > 0


def test_paths_read_and_write():
    assert parse_path("history[3].v") == ("history", 3, "v")
    assert parse_path("weights[2][1][2]") == ("weights", 2, 1, 2)
    assert path_text(("h", 2, 1)) == "h[2][1]"
    for bad in ("", "[1]", "h[0]", "h[x]", "h.", "1h"):
        with pytest.raises(ValueError):
            parse_path(bad)


# -- hand rounding, worked here as a careful hand calculation would ------------------------

def r(x, n):
    """Half away from zero, on the decimal the number prints as."""
    from decimal import ROUND_HALF_UP, Decimal
    return float(Decimal(f"{x:.15g}").quantize(Decimal(1).scaleb(-n), rounding=ROUND_HALF_UP))


def sig(v):
    return 1 / (1 + math.exp(-v))


def test_lstm_seed_rounded_to_three_places_by_hand():
    # seed 000 (weights as problems/lstm_seed.yaml); every written number to 3 d.p.
    W = {"f": (0.7, 0.45), "i": (0.95, 0.8), "c": (0.45, 0.25), "o": (0.6, 0.4)}
    U = {"f": 0.1, "i": 0.8, "c": 0.15, "o": 0.25}
    b = {"f": 0.15, "i": 0.65, "c": 0.2, "o": 0.1}
    h = c = 0.0
    hs = []
    for x in ((1, 2), (0.5, 3)):
        pre = {g: r(W[g][0] * x[0] + W[g][1] * x[1] + U[g] * h + b[g], 3) for g in W}
        f, i, o = r(sig(pre["f"]), 3), r(sig(pre["i"]), 3), r(sig(pre["o"]), 3)
        g = r(math.tanh(pre["c"]), 3)
        c = r(f * c + i * g, 3)
        h = r(o * r(math.tanh(c), 3), 3)
        hs.append(h)
    assert hs[0] == 0.537  # the notes' own figure
    w = solve_file(str(ROOT / "problems" / "lstm_seed.yaml"), rounding=3)
    assert [row[0] for row in w.results["h"]] == hs


def test_gru_rounded_by_hand():
    text = """kind: gru
inputs: [[1], [0.5]]
weights: {W_z: 0.5, W_r: 0.4, W_h: 0.6, U_z: 0.2, U_r: 0.3, U_h: 0.4, b_z: 0.1, b_r: 0.1, b_h: 0.05}
rounding: 2
"""
    h, hs = 0.0, []
    for x in (1, 0.5):
        z = r(sig(r(0.5 * x + 0.2 * h + 0.1, 2)), 2)
        rr = r(sig(r(0.4 * x + 0.3 * h + 0.1, 2)), 2)
        rh = r(rr * h, 2)
        ht = r(math.tanh(r(0.6 * x + 0.4 * rh + 0.05, 2)), 2)
        h = r((1 - z) * h + z * ht, 2)
        hs.append(h)
    w = solve_text(text)
    assert [row[0] for row in w.results["h"]] == hs


def test_mlp_rounded_by_hand():
    # Mazur's 2-2-2 network, every written number to 4 d.p.; forward, loss, output deltas
    w = solve_file(str(ROOT / "problems" / "mlp_published_222.yaml"), rounding=4)
    x, d = (0.05, 0.10), (0.01, 0.99)
    W1, b1 = ((0.15, 0.20), (0.25, 0.30)), (0.35, 0.35)
    W2, b2 = ((0.40, 0.45), (0.50, 0.55)), (0.60, 0.60)
    v1 = [r(W1[j][0] * x[0] + W1[j][1] * x[1] + b1[j], 4) for j in range(2)]
    y1 = [r(sig(v), 4) for v in v1]
    v2 = [r(W2[j][0] * y1[0] + W2[j][1] * y1[1] + b2[j], 4) for j in range(2)]
    y2 = [r(sig(v), 4) for v in v2]
    E = r(0.5 * ((d[0] - y2[0]) ** 2 + (d[1] - y2[1]) ** 2), 4)
    e = [r(d[j] - y2[j], 4) for j in range(2)]
    dphi = [r(y * (1 - y), 4) for y in y2]
    delta2 = [r(e[j] * dphi[j], 4) for j in range(2)]
    assert w.results["output"] == y2
    assert w.results["loss"] == E
    assert w.results["local_gradients"][1] == delta2
    assert y2 == [0.7514, 0.7729]  # Mazur's out_o1 = 0.75136507, out_o2 = 0.772928465


def test_perceptron_rounded_by_hand():
    text = """kind: perceptron
weights: [0.33, -0.47]
bias: 0.12
learning_rate: 0.15
samples: [{x: [1.26, 0.5], d: 0}, {x: [0.3, 1.7], d: 1}]
rounding: 1
"""
    wv, bias, hist = [0.33, -0.47], 0.12, []
    for epoch in range(1, 101):
        changed = 0
        for xs, dd in (((1.26, 0.5), 0), ((0.3, 1.7), 1)):
            v = r(wv[0] * xs[0] + wv[1] * xs[1] + bias, 1)
            y = 1.0 if v >= 0 else 0.0
            e = dd - y
            if e:
                changed += 1
                wv = [r(wv[i] + 0.15 * e * xs[i], 1) for i in range(2)]
                bias = r(bias + 0.15 * e, 1)
            hist.append((v, wv[:], bias))
        if not changed:
            break
    got = solve_text(text).results
    assert [(h["v"], h["weights"], h["bias"]) for h in got["history"]] == hist
    assert got["weights"] == wv and got["bias"] == bias


def test_rnn_forward_rounded_by_hand():
    text = """kind: rnn
inputs: [[1], [0.5], [-1]]
hidden_activation: tanh
weights: {U: [[0.7]], W: [[0.45]], b: [0.1], V: [[1.3]], c: [-0.2]}
rounding: 3
"""
    h = 0.0
    hs = []
    for x in (1, 0.5, -1):
        h = r(math.tanh(r(0.7 * x + 0.45 * h + 0.1, 3)), 3)
        hs.append([h])
    y = r(sig(r(1.3 * h - 0.2, 3)), 3)
    got = solve_text(text).results
    assert got["h"] == hs and got["y_hat"] == [y]


def test_rounding_table_lists_the_drift():
    w = solve_file(str(ROOT / "problems" / "lstm_seed.yaml"), rounding=3)
    sec = w.sections[-1]
    assert sec.title == "Hand rounding"
    rows = [b for b in sec.blocks if hasattr(b, "rows")][0].rows
    assert rows[0][0] == "h[1]" and rows[0][1] == [0.537]


def test_command_line_rounding_overrides_the_file(run_cli):
    code, out, _ = run_cli("run", str(ROOT / "problems" / "lstm_seed.yaml"), "--rounding", "2", "-f", "json")
    assert code == 0 and json.loads(out)["results"]["h"][0] == [0.54]


# -- given values are carried forward ----------------------------------------------------

def test_a_given_value_is_used_by_every_later_step():
    path = str(ROOT / "problems" / "lstm_seed.yaml")
    exact = solve_file(path).results
    w = solve_file(path, given={"i[1]": 1.0})  # the notes' σ(17.6) = 1: 8 read for 0.8
    got = w.results
    assert got["i"][0] == [1.0]
    assert got["c"][0][0] == pytest.approx(exact["f"][0][0] * 0 + 1.0 * exact["g"][0][0], abs=1e-15)
    assert got["h"][0][0] == pytest.approx(exact["o"][0][0] * math.tanh(got["c"][0][0]), abs=1e-15)
    assert got["f"][0] == exact["f"][0]  # earlier steps are untouched
    assert got["h"][1] != exact["h"][1]  # and step 2 goes on from the given value


def test_given_component_of_an_mlp_layer():
    path = str(ROOT / "problems" / "mlp_published_222.yaml")
    w = solve_file(path, given={"local_gradients[2][1]": 0.5})
    assert w.results["local_gradients"][1][0] == 0.5
    eta = 0.5
    y1 = w.results["output"]  # unchanged: the forward pass comes first
    assert y1 == solve_file(path).results["output"]
    new = w.results["weights"][1][0][0]
    assert new == pytest.approx(0.40 + eta * 0.5 * 0.593269992, abs=1e-9)


def test_problem_file_lstm_seed_rounded():
    got = solve_file(str(ROOT / "problems" / "lstm_seed_rounded.yaml")).results
    # the values its header states (the notes' figures for step 1)
    assert [row[0] for row in got["f"]] == [0.852, 0.870]
    assert [row[0] for row in got["i"]] == [0.961, 0.981]
    assert [row[0] for row in got["c"]] == [0.786, 1.518]
    assert [row[0] for row in got["h"]] == [0.537, 0.772]


def test_results_of_a_long_series_are_the_same_plain_lists():
    """A series of more than 8 same-shape arrays is turned into lists at once; anything else
    (mixed shapes or types, few items) item by item: the same plain data either way."""
    from nnsolve.sheet import _plain
    rows = {t: np.array([t * 0.1, -t / 3.0]) for t in range(1, 13)}
    assert _plain(rows) == [[t * 0.1, -t / 3.0] for t in range(1, 13)]
    assert all(type(v) is float for row in _plain(rows) for v in row)
    mixed = dict(rows)
    mixed[5] = np.array([1, 2])  # integers stay integers
    assert _plain(mixed)[4] == [1, 2] and type(_plain(mixed)[4][0]) is int
    scalars = {t: np.asarray(float(t)) for t in range(1, 11)}
    assert _plain(scalars) == [float(t) for t in range(1, 11)]
    ragged = {1: np.zeros(2), **{t: np.zeros(3) for t in range(2, 11)}}
    assert [len(r) for r in _plain(ragged)] == [2] + [3] * 9
