"""The single-neuron kinds of classical.md: neuron, activation, delta_rule, hebbian.

Expected values come from elsewhere than nnsolve: PyTorch (float64, autograd) kept as the
fixture tests/reference/classical_units.json by tests/reference/make_classical_units.py;
published worked examples (the Widrow–Hoff table of the Princeton COS 511 scribe notes,
Fausett's Hebb net for bipolar AND, Ng's sigmoid AND); cases worked by hand in the comments
below; and identities (batch mode with one sample is online mode; Oja's rule converges to the
unit first principal direction; Δw of the delta rule is −η times a central finite difference
of E).
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import ROOT
from nnsolve.check import check
from nnsolve.core import solve_file, solve_text
from nnsolve.render.json import render as render_json

REFERENCE = Path(__file__).resolve().parent / "reference" / "classical_units.json"
FIXTURE = json.loads(REFERENCE.read_text(encoding="utf-8"))
P = ROOT / "problems"


def run(problem) -> dict:
    """The results as the JSON contract carries them (null for an undefined derivative)."""
    text = problem if isinstance(problem, str) else yaml.safe_dump(problem, sort_keys=False)
    return json.loads(render_json(solve_text(text)))["results"]


def results(name: str) -> dict:
    return json.loads(render_json(solve_file(str(P / name))))["results"]


def close(got, want, tol=1e-9, path="") -> None:
    if want is None or isinstance(want, (bool, str)):
        assert got == want, path
    elif isinstance(want, dict):
        assert set(got) == set(want), path
        for k in want:
            close(got[k], want[k], tol, f"{path}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), path
        for i, (g, w) in enumerate(zip(got, want)):
            close(g, w, tol, f"{path}[{i}]")
    else:
        assert isinstance(got, (int, float)) and not isinstance(got, bool), path
        assert abs(got - want) <= tol * max(1.0, abs(want)), (path, got, want)


def sig(v):
    return 1.0 / (1.0 + math.exp(-v))


def r(x, n):
    """Half away from zero, on the decimal the number prints as (a calculator's rounding)."""
    return float(Decimal(f"{x:.15g}").quantize(Decimal(1).scaleb(-n), rounding=ROUND_HALF_UP))


# -- PyTorch ---------------------------------------------------------------------------------

@pytest.mark.parametrize("case", FIXTURE["activation_cases"], ids=lambda c: c["id"])
def test_activation_matches_torch(case):
    got = run(case["problem"])
    close(got["values"], case["values"], path="values")
    close(got["derivatives"], case["derivatives"], path="derivatives")


HISTORY = [c for c in FIXTURE["cases"] if "expected_history" in c]


@pytest.mark.parametrize("case", HISTORY, ids=lambda c: c["id"])
def test_history_matches_torch(case):
    got = run(case["problem"])
    close(got["history"], case["expected_history"], path="history")
    for name, want in case["expected"].items():  # also compared by test_reference.py
        close(got[name], want, path=name)


def test_the_fixture_covers_every_unit_and_mode():
    ids = {c["id"] for c in FIXTURE["cases"]} | {c["id"] for c in FIXTURE["activation_cases"]}
    for want in ("delta_linear_online", "delta_linear_batch", "delta_sigmoid_batch", "delta_tanh_online",
                 "hebb_oja", "hebb_plain_step", "neuron_stochastic_7", "units", "units_strict", "library"):
        assert want in ids


# -- neuron -------------------------------------------------------------------------------------

def test_seed_and_gate_by_threshold():
    # seed 003: w1 = w2 = 1, fire when w·x >= 2. u = 0, 1, 1, 2; v = u − 2 = −2, −1, −1, 0.
    got = results("neuron_seed_and.yaml")
    assert got["v"] == [-2, -1, -1, 0]
    assert got["y"] == [0, 0, 0, 1]
    assert got["matches"] == [True] * 4 and got["all_match"] is True


def test_seed_and_gate_working_names_the_gate_and_the_notes_u():
    data = json.loads(render_json(solve_file(str(P / "neuron_seed_and.yaml"))))
    text = json.dumps(data, ensure_ascii=False)
    assert "implements AND" in text
    steps = [b for s in data["sections"] for b in s["blocks"] if b["type"] == "step"]
    assert [b["value"] for b in steps if b["lhs"].startswith("u")] == [0, 1, 1, 2]  # the notes' V column


def test_truth_table_is_in_counting_order_x1_most_significant():
    got = run("kind: neuron\nweights: [4, 2, 1]\ntruth_table: 3\nactivation: linear\n")
    assert got["v"] == list(range(8))  # 4 x1 + 2 x2 + x3 reads the row as a binary number


def test_nand_three_inputs_and_or_bipolar():
    assert results("neuron_nand_three.yaml")["y"] == [1] * 7 + [0]
    got = results("neuron_or_bipolar.yaml")
    assert got["v"] == [-1, 1, 1, 3] and got["y"] == [-1, 1, 1, 1] and got["all_match"]


def test_ng_sigmoid_and():
    got = results("neuron_sigmoid_and.yaml")
    close(got["y"], [sig(-30), sig(-10), sig(-10), sig(10)], 1e-12)
    assert got["all_match"] is True  # within the file's tolerance 0.5


def test_graded_outputs_are_compared_exactly_without_tolerance():
    text = (P / "neuron_sigmoid_and.yaml").read_text().replace("tolerance: 0.5\n", "")
    got = run(text)
    assert got["matches"] == [False] * 4 and got["all_match"] is False


@pytest.mark.parametrize("strict, want", [(False, [0, 1, 1, 1]), (True, [0, 0, 0, 1])])
def test_strict_step_does_not_fire_at_zero(strict, want):
    # w = (1, 1), θ = 1: v = −1, 0, 0, 1
    got = run(f"kind: neuron\nweights: [1, 1]\nthreshold: 1\ntruth_table: 2\nstrict: {str(strict).lower()}\n")
    assert got["y"] == want


def test_bias_is_minus_threshold():
    a = run("kind: neuron\nweights: [0.3, -0.7]\nthreshold: 0.25\nactivation: tanh\ninputs: [[1, 2], [-1, 0.5]]\n")
    b = run("kind: neuron\nweights: [0.3, -0.7]\nbias: -0.25\nactivation: tanh\ninputs: [[1, 2], [-1, 0.5]]\n")
    assert a == b
    close(a["y"], [math.tanh(0.3 - 1.4 - 0.25), math.tanh(-0.3 - 0.35 - 0.25)], 1e-15)


def test_stochastic_neuron_probabilities_and_draws():
    # v = 0.6 x1 − 0.4 x2 + 0.1, P = 1/(1 + exp(−v/0.5)); y = +1 where the draw is below P
    X = [[1, 1], [1, -1], [-1, 1], [0.5, 0.5], [-1, -1]]
    v = [0.6 * a - 0.4 * b + 0.1 for a, b in X]
    p = [sig(x / 0.5) for x in v]
    draws = np.random.default_rng(7).random(5)
    got = results("neuron_stochastic.yaml")
    close(got["v"], v, 1e-15)
    close(got["p"], p, 1e-12)
    assert got["y"] == [1.0 if u < q else -1.0 for u, q in zip(draws, p)]
    text = (P / "neuron_stochastic.yaml").read_text()
    other = run(text.replace("seed: 7", "seed: 8"))
    assert other["p"] == got["p"]  # P(v) never depends on the draws
    ys = {tuple(run(text.replace("seed: 7", f"seed: {s}"))["y"]) for s in range(6)}
    assert len(ys) > 1  # another seed, other y
    working = json.dumps(json.loads(render_json(solve_file(str(P / "neuron_stochastic.yaml")))), ensure_ascii=False)
    assert "another seed" in working


def test_stochastic_low_temperature_is_the_sign_unit():
    got = run("kind: neuron\nweights: [1]\nactivation: stochastic\ntemperature: 0.001\n"
              "inputs: [[-1], [-0.2], [0.3], [2]]\n")
    assert got["y"] == [-1, -1, 1, 1]


# -- activation ---------------------------------------------------------------------------------

def test_activation_seed_file():
    got = results("activation_seed.yaml")
    close(got["values"]["sigmoid"], [sig(-1), 0.5, sig(1)], 1e-15)
    assert round(got["values"]["sigmoid"][0], 4) == 0.2689 and round(got["values"]["sigmoid"][2], 4) == 0.7311
    close(got["derivatives"]["sigmoid"], [sig(1) * sig(-1), 0.25, sig(1) * sig(-1)], 1e-15)
    close(got["values"]["tanh"], [math.tanh(-1), 0, math.tanh(1)], 1e-15)
    close(got["derivatives"]["tanh"], [1 - math.tanh(1) ** 2, 1, 1 - math.tanh(1) ** 2], 1e-15)
    assert got["values"]["step"] == [0, 1, 1] and got["derivatives"]["step"] == [0, None, 0]
    assert got["values"]["piecewise_linear"] == [0, 0.5, 1]
    assert got["derivatives"]["piecewise_linear"] == [0, 1, 0]
    P_ = [sig(-2), 0.5, sig(2)]  # T = 0.5
    close(got["values"]["stochastic"], P_, 1e-15)
    close(got["derivatives"]["stochastic"], [q * (1 - q) / 0.5 for q in P_], 1e-15)


def test_activation_kinks_follow_pytorch():
    got = results("activation_pytorch_kinks.yaml")
    d = got["derivatives"]
    assert d["relu"][1] == 0 and d["leaky_relu"][1] == 0.1 and d["elu"][1] == 1
    assert d["sign"] == [0, None, 0]
    assert got["values"]["leaky_relu"][0] == pytest.approx(-0.15)


def test_piecewise_linear_kinks_are_null():
    got = run("kind: activation\nfunctions: [piecewise_linear]\nat: [-0.5, -0.25, 0.5, 0.75]\n")
    assert got["values"]["piecewise_linear"] == [0, 0.25, 1, 1]
    assert got["derivatives"]["piecewise_linear"] == [None, 1, None, 0]


def test_aliases_give_the_record_name():
    got = run("kind: activation\nfunctions: [logistic, threshold, signum]\nat: [0]\n")
    assert set(got["values"]) == {"sigmoid", "step", "sign"}


def test_activation_never_imports_sympy():
    code = ("import sys\nfrom click.testing import CliRunner\nfrom nnsolve.cli import cli\n"
            "for f in ('activation_seed', 'neuron_seed_and', 'delta_rule_seed', 'hebbian_oja'):\n"
            f"    r = CliRunner().invoke(cli, ['run', r'{P}/' + f + '.yaml', '-f', 'json'])\n"
            "    assert r.exit_code == 0, r.output\n"
            "print('sympy' in sys.modules)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.strip() == "False"


# -- delta rule ---------------------------------------------------------------------------------

# The published table (Princeton COS 511 scribe notes, 11 April 2013, via michaelsjoberg.com):
# iteration, a·y (our v), a_new to 3 d.p.
WIDROW_HOFF = [
    (1, 1, [1, 0, 0]), (2, 1, [1, 0, 0]), (3, 1, [1, 0, 0]), (4, -1, [0.8, 0.6, -0.2]),
    (5, 0.2, [0.72, 0.76, -0.12]), (6, 1.32, [0.752, 0.664, -0.184]), (7, 0.384, [0.814, 0.664, -0.061]),
    (8, 1.356, [0.778, 0.628, -0.132]), (9, 1.903, [0.688, 0.448, -0.222]), (10, 0.878, [0.676, 0.484, -0.234]),
    (11, 0.059, [0.581, 0.673, -0.14]), (12, 1.156, [0.597, 0.626, -0.172]),
]


def test_widrow_hoff_published_table():
    got = results("delta_rule_widrow_hoff_published.yaml")
    assert len(got["history"]) == 12
    for (i, v, a), h in zip(WIDROW_HOFF, got["history"]):
        assert abs(h["v"] - v) <= 0.0005 + 1e-12, i
        assert max(abs(g - x) for g, x in zip(h["weights"], a)) <= 0.0005 + 1e-12, i
        assert h["bias"] == 0 and h["delta_b"] == 0
    assert got["bias"] == 0


def test_delta_rule_seed_file_first_epoch_by_hand():
    # η = 0.2, w = (0, 0), b = 0, linear unit.
    # 1: x = (1, 0), d = 1: v = 0, e = 1, E = 0.5, Δw = (0.2, 0), Δb = 0.2 -> w = (0.2, 0), b = 0.2
    # 2: x = (0, 1), d = −1: v = 0.2, e = −1.2, E = 0.72, Δw = (0, −0.24), Δb = −0.24
    #    -> w = (0.2, −0.24), b = −0.04
    # 3: x = (1, 1), d = 0.5: v = −0.08, e = 0.58, E = 0.1682, Δw = (0.116, 0.116), Δb = 0.116
    #    -> w = (0.316, −0.124), b = 0.076
    got = results("delta_rule_seed.yaml")
    want = [(0, 1, 0.5, [0.2, 0], [0.2, 0], 0.2), (0.2, -1.2, 0.72, [0, -0.24], [0.2, -0.24], -0.04),
            (-0.08, 0.58, 0.1682, [0.116, 0.116], [0.316, -0.124], 0.076)]
    for h, (v, e, E, dw, w, b) in zip(got["history"], want):
        close([h["v"], h["y"], h["e"], h["E"], h["delta_w"], h["weights"], h["bias"]], [v, v, e, E, dw, w, b], 1e-12)
    close(got["epoch_error"][0], 1.3882, 1e-12)
    assert [h["epoch"] for h in got["history"]] == [1, 1, 1, 2, 2, 2]
    assert [h["sample"] for h in got["history"]] == [1, 2, 3, 1, 2, 3]


def test_batch_with_one_sample_is_online():
    base = {"kind": "delta_rule", "weights": [0.3, -0.2], "bias": 0.1, "learning_rate": 0.4, "activation": "tanh",
            "epochs": 5, "samples": [{"x": [1.5, -0.5], "d": 0.6}]}
    online, batch = run({**base, "mode": "online"}), run({**base, "mode": "batch"})
    assert online == batch


def test_batch_applies_the_summed_changes_at_the_end_of_the_epoch():
    got = results("delta_rule_sigmoid_batch.yaml")
    H = got["history"]
    w0 = [0.1, -0.2]
    for epoch in range(3):
        rows = H[4 * epoch: 4 * epoch + 4]
        for h in rows[:3]:
            assert h["weights"] == rows[0]["weights"] if epoch else h["weights"] == w0
        start = w0 if epoch == 0 else H[4 * epoch - 1]["weights"]
        total = np.sum([h["delta_w"] for h in rows], axis=0)
        close(rows[-1]["weights"], list(np.asarray(start) + total), 1e-12)
    e = got["epoch_error"]
    assert e[0] > e[1] > e[2]  # as the file's header says


def test_delta_rule_is_gradient_descent_by_finite_differences():
    # Δw = −η ∂E/∂w, ∂E/∂w by central differences of E(w) = ½ (d − σ(2 (w·x + b)))²
    x, d, b, eta, a = np.array([0.7, -1.1]), 0.25, 0.2, 0.3, 2.0
    w = np.array([0.4, 0.9])

    def E(w_, b_):
        return 0.5 * (d - sig(a * (w_ @ x + b_))) ** 2
    h = 1e-6
    g = np.array([(E(w + h * np.eye(2)[i], b) - E(w - h * np.eye(2)[i], b)) / (2 * h) for i in range(2)])
    gb = (E(w, b + h) - E(w, b - h)) / (2 * h)
    got = run({"kind": "delta_rule", "weights": w.tolist(), "bias": b, "learning_rate": eta, "activation": "sigmoid",
               "slope": a, "samples": [{"x": x.tolist(), "d": d}]})
    close(got["history"][0]["delta_w"], list(-eta * g), 1e-8)
    close(got["history"][0]["delta_b"], -eta * gb, 1e-8)


def test_delta_rule_rounded_by_hand():
    text = """kind: delta_rule
weights: [0.2, -0.3]
bias: 0.1
learning_rate: 0.5
activation: sigmoid
epochs: 2
samples: [{x: [1, 0.5], d: 1}, {x: [-0.5, 1], d: 0}]
rounding: 3
"""
    w, b, out = [0.2, -0.3], 0.1, []
    for _ in range(2):
        for x, d in (((1, 0.5), 1), ((-0.5, 1), 0)):
            v = r(w[0] * x[0] + w[1] * x[1] + b, 3)
            y = r(sig(v), 3)
            e = r(d - y, 3)
            dphi = r(y * (1 - y), 3)
            delta = r(e * dphi, 3)
            dw = [r(0.5 * delta * xi, 3) for xi in x]
            db = r(0.5 * delta, 3)
            w = [r(w[i] + dw[i], 3) for i in range(2)]
            b = r(b + db, 3)
            out.append((v, y, e, w, b))
    got = run(text)
    assert [(h["v"], h["y"], h["e"], h["weights"], h["bias"]) for h in got["history"]] == out


# -- hebbian ------------------------------------------------------------------------------------

def test_fausett_hebb_net_for_bipolar_and():
    # Fausett (1994) §2.2: Δw = x d, Δb = d from zero: (1, 1), 1 -> (0, 2), 0 -> (1, 1), −1 -> (2, 2), −2
    got = results("hebbian_seed_fausett_and.yaml")
    assert [h["weights"] for h in got["history"]] == [[1, 1], [0, 2], [1, 1], [2, 2]]
    assert [h["bias"] for h in got["history"]] == [1, 0, -1, -2]
    assert got["weights"] == [2, 2] and got["bias"] == -2
    assert got["outputs"] == [1, -1, -1, -1] and got["all_correct"] is True


def test_hebb_net_with_binary_targets_fails():
    # only x = (1, 1), d = 1 changes anything: w = (1, 1), b = 1, and v >= 1 fires for every input
    got = results("hebbian_binary_targets.yaml")
    assert got["weights"] == [1, 1] and got["bias"] == 1
    assert [h["delta_w"] for h in got["history"][1:]] == [[0, 0]] * 3
    assert got["outputs"] == [1, 1, 1, 1] and got["all_correct"] is False


def test_plain_hebb_by_hand():
    # η = 0.5, y = sgn(v): epoch 1: v = 0.7, 0.3, −0.35; epoch 2: v = 2.7, 1.175, −1.225
    got = results("hebbian_plain.yaml")
    close([h["v"] for h in got["history"]], [0.7, 0.3, -0.35, 2.7, 1.175, -1.225], 1e-12)
    close(got["weights"], [3.0, -0.7], 1e-12)
    close(got["bias"], 1.0, 1e-12)
    assert "all_correct" not in got  # no sample has d


def test_oja_converges_to_the_unit_first_principal_direction():
    got = results("hebbian_oja.yaml")
    data = yaml.safe_load((P / "hebbian_oja.yaml").read_text())
    X = np.array([s["x"] for s in data["samples"]], float)
    vals, vecs = np.linalg.eigh(X.T @ X / len(X))
    w = np.array(got["weights"])
    assert abs(np.linalg.norm(w) - 1) < 0.01
    assert abs(w @ vecs[:, -1]) / np.linalg.norm(w) > 0.999
    assert "bias" not in got and all("bias" not in h and "delta_b" not in h for h in got["history"])


def test_oja_by_hand_first_step():
    # w = (1, 0), x = (1, 0.5), η = 0.1: y = 1, Δw = 0.1 · 1 · ((1, 0.5) − 1 · (1, 0)) = (0, 0.05)
    got = results("hebbian_oja.yaml")
    close(got["history"][0]["delta_w"], [0, 0.05], 1e-15)
    close(got["history"][0]["weights"], [1, 0.05], 1e-15)


# -- hand rounding, step ids, check -----------------------------------------------------------

def test_neuron_rounded_by_hand():
    text = ("kind: neuron\nweights: [0.37, -1.21]\nbias: 0.05\nactivation: sigmoid\n"
            "inputs: [[1, 0.4], [-0.3, 0.9]]\nrounding: 2\n")
    want_v = [r(0.37 - 1.21 * 0.4 + 0.05, 2), r(-0.3 * 0.37 - 1.21 * 0.9 + 0.05, 2)]
    got = run(text)
    assert got["v"] == want_v and got["y"] == [r(sig(v), 2) for v in want_v]


@pytest.mark.parametrize("name", ["neuron_stochastic.yaml", "activation_seed.yaml", "delta_rule_sigmoid_batch.yaml",
                                  "hebbian_oja.yaml"])
def test_rounding_keeps_step_ids(name):
    data = json.loads(render_json(solve_file(str(P / name), rounding=3), full=True))
    for s in data["sections"]:
        for b in s["blocks"]:
            if b.get("type") == "step" and "id" in b:
                node = data["results"]
                from nnsolve.sheet import parse_path
                for part in parse_path(b["id"]):
                    node = node[part - 1] if isinstance(part, int) else node[part]
                np.testing.assert_array_equal(np.asarray(b["value"], float), np.asarray(node, float))


def test_check_marks_the_delta_rule_with_follow_through(write):
    answers = write("answers:\n  history[1].delta_w: [0.4, 0]\n  history[1].weights: [0.4, 0]\n"
                    "  history[2].e: 1.2\n  epoch_error[1]: 1.3882\n", "a.yaml")
    report = check(str(P / "delta_rule_seed.yaml"), answers).to_dict()
    status = {i["path"]: i["status"] for i in report["items"]}
    assert status["history[1].delta_w"] == "wrong"
    assert status["history[1].weights"] == "follow_through"
    assert status["history[2].e"] == "wrong"
    assert [i["diagnosis"] for i in report["items"] if i["path"] == "history[2].e"] == ["sign"]


def test_check_marks_neuron_activation_and_hebbian(write):
    a = write("answers:\n  v[4]: 0\n  y[4]: 1\n", "n.yaml")
    assert check(str(P / "neuron_seed_and.yaml"), a).to_dict()["summary"]["correct"] == 2
    a = write("answers:\n  values.sigmoid[1]: 0.269\n  derivatives.tanh[3]: 0.42\n", "act.yaml")
    assert check(str(P / "activation_seed.yaml"), a).to_dict()["summary"]["correct"] == 2
    a = write("answers:\n  history[2].weights: [0, 2]\n  weights: [2, 2]\n  bias: -2\n", "h.yaml")
    assert check(str(P / "hebbian_seed_fausett_and.yaml"), a).to_dict()["summary"]["correct"] == 3


# -- bad input ----------------------------------------------------------------------------------

def bad(run_cli, write, text, *needles, line=None):
    path = write(text)
    code, out, err = run_cli("run", path)
    assert code == 2, (code, out, err)
    assert "Traceback" not in err + out
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    msg = lines[0]
    assert msg.startswith(f"error: {path}:"), msg
    if line is not None:
        assert f"{path}:{line}:" in msg, msg
    for n in needles:
        assert n in msg, msg


NEURON = "kind: neuron\nweights: [1, 1]\n"


@pytest.mark.parametrize("text, needles, line", [
    (NEURON + "threshold: 2\nbias: -2\ntruth_table: 2\n", ("bias", "not both"), 4),
    (NEURON + "truth_table: 3\n", ("truth_table", "expected truth_table: 2"), 3),
    (NEURON + "truth_table: 2\ninputs: [[0, 1]]\n", ("truth_table", "not both"), 3),
    (NEURON + "inputs: [[0, 1], [1, 0, 1]]\n", ("inputs",), 3),
    (NEURON + "inputs: [[0, 1]]\nactivation: sigmod\n", ("activation", "did you mean 'sigmoid'"), 4),
    (NEURON + "inputs: [[0, 1]]\nactivation: softmax\n", ("activation",), 4),
    (NEURON + "truth_table: 2\ntargets: [0, 1]\n", ("targets", "4"), 4),
    (NEURON + "truth_table: 2\ntargets: [0, 0, 0, 2]\n", ("targets[3]", "0 or 1"), 4),
    (NEURON + "truth_table: 2\nactivation: sign\ntargets: [0, 0, 0, 1]\n", ("targets[0]", "-1 or 1"), 5),
    (NEURON + "truth_table: 2\ntemperature: 0.5\n", ("temperature", "stochastic"), 4),
    (NEURON + "truth_table: 2\nactivation: stochastic\ntemperature: 0\n", ("temperature", "positive"), 5),
    (NEURON + "truth_table: 2\nseed: 3\n", ("seed", "stochastic"), 4),
    (NEURON + "truth_table: 2\nactivation: tanh\nstrict: true\n", ("strict",), 5),
    (NEURON + "truth_table: 2\ntolerance: 0.5\n", ("tolerance", "targets"), 4),
    ("kind: neuron\nweights: [1, .nan]\ntruth_table: 2\n", ("weights",), 2),
    ("kind: neuron\ntruth_table: 2\n", ("weights",), None),
    (NEURON + "threshold: 1\n", ("inputs",), None),
])
def test_bad_neuron(run_cli, write, text, needles, line):
    bad(run_cli, write, text, *needles, line=line)


ACT = "kind: activation\nat: [0, 1]\n"


@pytest.mark.parametrize("text, needles, line", [
    (ACT + "functions: [sigmoid, tahn]\n", ("functions[1]", "did you mean 'tanh'"), 3),
    (ACT + "functions: [softmax]\n", ("functions[0]", "kind: softmax"), 3),
    (ACT + "functions: [sigmoid, logistic]\n", ("functions[1]", "twice"), 3),
    (ACT + "functions: [sigmoid, [relu]]\n", ("functions[1]",), 3),
    (ACT + "functions: [tanh]\nslope: 2\n", ("slope", "sigmoid"), 4),
    (ACT + "functions: [tanh]\ntemperature: 2\n", ("temperature", "stochastic"), 4),
    (ACT + "functions: [relu]\nstrict: true\n", ("strict",), 4),
    ("kind: activation\nfunctions: [relu]\nat: []\n", ("at", "empty"), 3),
    ("kind: activation\nfunctions: relu\nat: [1]\n", ("functions",), 2),
])
def test_bad_activation(run_cli, write, text, needles, line):
    bad(run_cli, write, text, *needles, line=line)


DELTA = "kind: delta_rule\nweights: [0, 0]\n"
SAMPLES = "samples:\n  - {x: [1, 0], d: 1}\n  - {x: [0, 1], d: -1}\n"


@pytest.mark.parametrize("text, needles, line", [
    (DELTA + SAMPLES, ("learning_rate",), None),
    (DELTA + "learning_rate: 0.1\nsamples:\n  - {x: [1, 0, 1], d: 1}\n", ("samples[0].x", "length 2"), 5),
    (DELTA + "learning_rate: 0.1\nsamples:\n  - {x: [1, 0]}\n", ("samples[0]", "'d'"), 5),
    (DELTA + "learning_rate: 0.1\nactivation: relu\n" + SAMPLES, ("activation", "linear"), 4),
    (DELTA + "learning_rate: 0.1\nslope: 2\n" + SAMPLES, ("slope", "sigmoid"), 4),
    (DELTA + "learning_rate: 0.1\nmode: minibatch\n" + SAMPLES, ("mode", "online"), 4),
    (DELTA + "learning_rate: 0.1\nepochs: 0\n" + SAMPLES, ("epochs",), 4),
    (DELTA + "learning_rate: -0.1\n" + SAMPLES, ("learning_rate", "positive"), 3),
    (DELTA + "learning_rate: 0.1\nepochs: 9000\nsamples:\n" + "  - {x: [1, 0], d: 1}\n" * 30, ("epochs",), 4),
])
def test_bad_delta_rule(run_cli, write, text, needles, line):
    bad(run_cli, write, text, *needles, line=line)


HEBB = "kind: hebbian\nweights: [0, 0]\n"


@pytest.mark.parametrize("text, needles, line", [
    (HEBB + "samples:\n  - {x: [1, 1], d: 1}\n  - {x: [1, -1]}\n", ("samples[1]", "'d'", "supervised"), 5),
    (HEBB + "rule: oja\nbias: 0.5\nsamples: [{x: [1, 1]}]\n", ("bias", "no bias"), 4),
    (HEBB + "activation: linear\nstrict: true\nsamples: [{x: [1, 1], d: 1}]\n", ("strict",), 4),
    (HEBB + "activation: sigmoid\nsamples: [{x: [1, 1], d: 1}]\n", ("activation", "sign"), 3),
    (HEBB + "rule: anti\nsamples: [{x: [1, 1], d: 1}]\n", ("rule", "supervised"), 3),
    (HEBB + "samples: [{x: [1, 1], d: one}]\n", ("samples[0].d",), 3),
    (HEBB + "samples: [{x: [1, 1], y: 1}]\n", ("samples[0].y", "unknown key 'y'"), 3),
])
def test_bad_hebbian(run_cli, write, text, needles, line):
    bad(run_cli, write, text, *needles, line=line)


# -- growth without bound, templates ------------------------------------------------------------

def test_delta_rule_that_diverges_stops_with_a_warning():
    # LMS with η ‖x‖² far above 2 multiplies the error by about (1 − η ‖x‖²) each presentation
    text = ("kind: delta_rule\nweights: [0, 0]\nlearning_rate: 5\nepochs: 500\n"
            "samples: [{x: [1, 2], d: 1}, {x: [2, -1], d: 0}]\n")
    w = solve_text(text)
    got = json.loads(render_json(w))["results"]
    assert len(got["history"]) < 1000 and all(math.isfinite(x) for x in got["weights"])
    assert len(got["epoch_error"]) == got["history"][-1]["epoch"]
    assert "grow without bound" in json.dumps(json.loads(render_json(w)), ensure_ascii=False)


def test_plain_hebb_with_a_linear_unit_grows_without_bound():
    text = ("kind: hebbian\nrule: plain\nactivation: linear\nweights: [1, 0]\nepochs: 500\n"
            "samples: [{x: [1, 2]}, {x: [2, -1]}]\n")
    got = run(text)
    assert len(got["history"]) < 1000 and max(abs(x) for x in got["weights"]) >= 1e100


@pytest.mark.parametrize("kind", ["neuron", "activation", "delta_rule", "hebbian"])
def test_new_template_and_schema(run_cli, kind):
    code, out, _ = run_cli("new", kind)
    assert code == 0 and f"kind: {kind}" in out
    assert solve_text(out).results
    code, out, _ = run_cli("schema", kind)
    assert code == 0 and json.loads(out)["properties"]["kind"]["const"] == kind
