"""kind: competitive, kind: nearest_neighbour and kind: graph (classical.md).

Expected numbers come from elsewhere than nnsolve: hand-derived cases worked in the tests,
published worked examples (S. Raschka's autograd notebook of seed 003's relu(w·x + b); the
"Problems on SOM" sheet), identities, central finite differences, and PyTorch (float64,
autograd for the graphs) kept as the fixture tests/reference/classical_memory_graph.json
by tests/reference/make_classical_memory_graph.py. tests/test_reference.py compares the
fixture's plain results; the mappings (graph gradients and nodes, competitive history) are
compared here.
"""
from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import ROOT
from nnsolve.core import solve_file, solve_text
from nnsolve.errors import InputError

REFERENCE = Path(__file__).resolve().parent / "reference" / "classical_memory_graph.json"
CASES = json.loads(REFERENCE.read_text(encoding="utf-8"))["cases"]
RTOL, ATOL = 1e-9, 1e-12
PROBLEMS = ROOT / "problems"


def solve(data: dict, **kw):
    return solve_text(yaml.safe_dump(data, sort_keys=False), "case.yaml", **kw)


def results(path: str, **kw):
    return solve_file(str(PROBLEMS / path), **kw).results


def sig(v):
    return 1 / (1 + math.exp(-v))


def rnd(x, n):
    """Half away from zero, on the decimal the number prints as (a calculator's rounding)."""
    return float(Decimal(f"{x:.15g}").quantize(Decimal(1).scaleb(-n), rounding=ROUND_HALF_UP))


def close(a, b, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=rtol, atol=atol)


# == PyTorch fixtures: the mappings ======================================================

@pytest.mark.parametrize("case", [c for c in CASES if c["problem"]["kind"] == "graph"], ids=lambda c: c["id"])
def test_graph_matches_torch_autograd(case):
    got = solve(case["problem"]).results
    close(got["value"], case["expected"]["value"])
    assert list(got["gradients"]) == list(case["objects"]["gradients"])
    for name, want in case["objects"]["gradients"].items():
        close(got["gradients"][name], want)
    nodes = case["objects"]["nodes"]
    assert len(got["nodes"]) == len(nodes)  # the same nodes, in the same forward order
    for g, w in zip(got["nodes"], nodes):
        close(g["value"], w["value"])
        close(g["grad"], w["grad"])


@pytest.mark.parametrize("case", [c for c in CASES if c["problem"]["kind"] == "competitive"],
                         ids=lambda c: c["id"])
def test_competitive_matches_torch(case):
    got = solve(case["problem"]).results
    assert len(got["history"]) == len(case["objects"]["history"])
    for g, w in zip(got["history"], case["objects"]["history"]):
        assert (g["epoch"], g["sample"], g["winner"]) == (w["epoch"], w["sample"], w["winner"])
        close(g["scores"], w["scores"])
        close(g["weights"], w["weights"])
    close(got["weights"], case["expected"]["weights"])
    assert got["clusters"] == case["expected"]["clusters"]


def test_the_fixture_covers_the_three_kinds():
    kinds = {c["problem"]["kind"] for c in CASES}
    assert kinds == {"graph", "competitive", "nearest_neighbour"}
    assert sum(c["problem"]["kind"] == "graph" for c in CASES) >= 20


# == graph ================================================================================

def test_seed_relu_published_values():
    # Raschka's STAT 453 notebook (the notes' code): a = F.relu(x*w + b) with x = 3, w = 2, b = 1
    # gives a = 7, grad(a, w) = (3,), grad(a, b) = (1,). By hand: u = 6, v = 7 > 0, so ReLU′ = 1,
    # ∂a/∂w = x = 3, ∂a/∂b = 1.
    got = results("graph_seed_relu.yaml")
    assert got["value"] == 7.0
    assert got["gradients"] == {"w": 3.0, "b": 1.0}
    assert [(n["name"], n["op"], n["expression"], n["value"], n["grad"]) for n in got["nodes"]] == [
        ("u", "mul", "w * x", 6.0, 1.0), ("v", "add", "u + b", 7.0, 1.0), ("a", "relu", "relu(v)", 7.0, 1.0)]


def test_relu_at_its_kink_has_derivative_zero_as_pytorch():
    got = solve({"kind": "graph", "expression": "relu(w*x + b)", "values": {"x": 1, "w": 1, "b": -1}}).results
    assert got["value"] == 0.0 and got["gradients"] == {"x": 0.0, "w": 0.0, "b": 0.0}


def test_weight_sharing_by_hand():
    # L = ½(y − σ(relu(w₁x) + tanh(w₁x)))²; u = w₁x feeds both branches:
    # ∂L/∂w₁ = (r − y) r(1 − r) (relu′(u) + 1 − tanh²u) x
    x, w1, y = 1.5, 0.4, 1.0
    u = w1 * x
    q = max(u, 0) + math.tanh(u)
    r = sig(q)
    want = (r - y) * r * (1 - r) * (1.0 + 1 - math.tanh(u) ** 2) * x
    got = results("graph_weight_sharing.yaml")
    close(got["value"], 0.5 * (y - r) ** 2)
    close(got["gradients"]["w_1"], want)
    first = got["nodes"][0]
    assert first["expression"] == "w_1 * x"  # one node for the two w₁·x of the text
    assert sum(n["expression"] == "w_1 * x" for n in got["nodes"]) == 1


def test_fully_connected_two_paths_by_hand():
    # ∂J/∂w₁ = ∂J/∂a · ∂a/∂a₃ · ∂a₃/∂a₁ · ∂a₁/∂w₁ + ∂J/∂a · ∂a/∂a₄ · ∂a₄/∂a₁ · ∂a₁/∂w₁ (the notes'
    # two paths, with a₁ = a₁⁽¹⁾ where the notes' second term has a₂⁽¹⁾)
    x, w1, w2, u11, u12, u21, u22, v1, v2, y = 1, 0.5, -0.3, 0.8, -0.4, 0.3, 0.9, 1.2, -0.7, 1
    a1, a2 = sig(w1 * x), sig(w2 * x)
    a3, a4 = sig(u11 * a1 + u12 * a2), sig(u21 * a1 + u22 * a2)
    a = sig(v1 * a3 + v2 * a4)
    dJ_da = a - y
    da_dz5 = a * (1 - a)
    path1 = dJ_da * da_dz5 * v1 * a3 * (1 - a3) * u11
    path2 = dJ_da * da_dz5 * v2 * a4 * (1 - a4) * u21
    want_w1 = (path1 + path2) * a1 * (1 - a1) * x
    got = results("graph_fully_connected.yaml")
    close(got["value"], 0.5 * (y - a) ** 2)
    close(got["gradients"]["w_1"], want_w1)
    close(got["gradients"]["v_1"], dJ_da * da_dz5 * a3)
    assert [n["name"] for n in got["nodes"]][:3] == ["z_1", "a_1", "m_11"] and got["nodes"][-1]["name"] == "J"


def test_logistic_bce_identity():
    # σ′ and the bce derivative combine: ∂L/∂w_i = (ŷ − y) x_i, ∂L/∂b = ŷ − y
    x1, x2, w1, w2, b, y = 2, -1, 0.3, 0.8, 0.1, 1
    yh = sig(w1 * x1 + w2 * x2 + b)
    got = results("graph_logistic_bce.yaml")
    close(got["value"], -math.log(yh))
    close([got["gradients"][k] for k in ("w_1", "w_2", "b")], [(yh - y) * x1, (yh - y) * x2, yh - y])


def _value(data, name, x):
    d = dict(data, values={**data["values"], name: x})
    return solve(d).results["value"]


FD_CASES = [c for c in CASES if c["problem"]["kind"] == "graph" and "kink" not in c["id"]][:14]


@pytest.mark.parametrize("case", FD_CASES, ids=lambda c: c["id"])
def test_graph_gradients_agree_with_central_differences(case):
    data = case["problem"]
    got = solve(data).results["gradients"]
    for name, g in got.items():
        x = float(data["values"][name])
        h = 1e-5 * max(1.0, abs(x))
        fd = (_value(data, name, x + h) - _value(data, name, x - h)) / (2 * h)
        assert fd == pytest.approx(g, rel=1e-5, abs=1e-7), name


def test_a_variable_and_a_node_used_several_times():
    # a = (x − y)²/x − x: u = x − y is one node squared; x feeds u, p = v/x and a.
    # ∂a/∂x = 2(x − y)/x − (x − y)²/x² − 1, ∂a/∂y = −2(x − y)/x
    x, y = 1.7, -0.4
    got = solve({"kind": "graph", "expression": "(x - y)**2 / x - x", "values": {"x": x, "y": y}}).results
    close(got["gradients"]["x"], 2 * (x - y) / x - (x - y) ** 2 / x ** 2 - 1)
    close(got["gradients"]["y"], -2 * (x - y) / x)
    # x * x: one node with x in both slots, local derivative x + x
    got = solve({"kind": "graph", "expression": "x*x", "values": {"x": 3}}).results
    assert got["value"] == 9.0 and got["gradients"] == {"x": 6.0}
    # powers: x**0 = 1 has derivative 0 (even at 0), x**-2 has −2 x**-3
    got = solve({"kind": "graph", "expression": "x**0 + y**-2", "values": {"x": 0, "y": 2}}).results
    assert got["value"] == 1.25 and got["gradients"] == {"x": 0.0, "y": -0.25}


def test_a_single_variable_and_wrt_order():
    got = solve({"kind": "graph", "expression": "x", "values": {"x": 2.5}}).results
    assert got == {"value": 2.5, "gradients": {"x": 1.0}, "nodes": []}
    got = solve({"kind": "graph", "expression": "w*x + b", "values": {"x": 2, "w": 3, "b": 1},
                 "wrt": "b"}).results
    assert got["gradients"] == {"b": 1.0}
    got = solve({"kind": "graph", "expression": "w*x + b", "values": {"b": 1, "w": 3, "x": 2}}).results
    assert list(got["gradients"]) == ["b", "w", "x"]  # the order of values
    assert got["gradients"] == {"b": 1.0, "w": 2.0, "x": 3.0}


def test_node_names():
    got = solve({"kind": "graph", "expression": "half_sse(d, sigmoid(w*x))",
                 "values": {"x": 1, "w": 0, "d": 1}}).results
    assert [n["name"] for n in got["nodes"]] == ["u", "v", "L"]  # a loss at the top is L
    close(got["value"], 0.5 * 0.25)
    close(got["gradients"]["w"], (0.5 - 1) * 0.25 * 1)
    got = solve({"kind": "graph", "expression": "u*a + v", "values": {"u": 1, "a": 2, "v": 3}}).results
    names = [n["name"] for n in got["nodes"]]
    assert len(set(names)) == 2 and not {"u", "a", "v"} & set(names)  # names never clash with variables
    got = solve({"kind": "graph", "expression": "relu(w*x + b)", "values": {"x": 3, "w": 2, "b": 1},
                 "names": ["z", "s", "y"]}).results
    assert [n["name"] for n in got["nodes"]] == ["z", "s", "y"]


def test_the_working_shows_the_chain_rule_and_sums_over_shared_nodes():
    w = solve_file(str(PROBLEMS / "graph_weight_sharing.yaml"))
    data = w.to_dict(full=True)
    steps = {b["id"]: b for s in data["sections"] for b in s["blocks"] if b.get("type") == "step" and b.get("id")}
    shared = steps["nodes[1].grad"]  # ∂L/∂u: two terms, one per branch
    assert shared["symbolic"].count("+") == 1 and "∂L/∂v" in shared["symbolic"] and "∂L/∂p" in shared["symbolic"]
    text = w.to_markdown(full=True)
    assert "Used more than once" in text and "Local derivatives" in text
    seed = solve_file(str(PROBLEMS / "graph_seed_relu.yaml")).to_markdown(full=True)
    assert r"\frac{\partial a}{\partial v} \cdot \frac{\partial v}{\partial u} \cdot \frac{\partial u}{\partial w}" in seed


def test_graph_hand_rounding():
    # seed-like with decimals, every written number to 2 d.p.:
    # u = 0.37 · 1.3 = 0.481 -> 0.48; v = 0.48 + 0.25 = 0.73; a = σ(0.73) = 0.6748 -> 0.67;
    # ∂a/∂v = a(1 − a) = 0.67 · 0.33 = 0.2211 -> 0.22; ∂a/∂u = 0.22 · 1 = 0.22; ∂a/∂w = 0.22 · 1.3 = 0.286 -> 0.29
    got = solve({"kind": "graph", "expression": "sigmoid(w*x + b)", "values": {"x": 1.3, "w": 0.37, "b": 0.25},
                 "wrt": ["w", "b"], "rounding": 2}).results
    assert [n["value"] for n in got["nodes"]] == [0.48, 0.73, 0.67]
    assert got["gradients"] == {"w": rnd(0.22 * 1.3, 2), "b": 0.22}


def test_graph_run_never_imports_sympy():
    code = ("import sys\nfrom click.testing import CliRunner\nfrom nnsolve.cli import cli\n"
            f"r = CliRunner().invoke(cli, ['run', {str(PROBLEMS / 'graph_fully_connected.yaml')!r}, '--format', 'json'])\n"
            "assert r.exit_code == 0, r.output\n"
            "print('sympy' in sys.modules)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.strip() == "False"


def test_graph_marking_carries_errors_forward(run_cli, write):
    answers = write("answers:\n  nodes[1].value: 6\n  nodes[2].value: 8\n  nodes[3].value: 8\n"
                    "  gradients.w: 3\n", "answers.yaml")
    code, out, _ = run_cli("check", str(PROBLEMS / "graph_seed_relu.yaml"), answers, "--format", "json")
    report = json.loads(out)
    assert code == 1
    assert [i["status"] for i in report["items"]] == ["correct", "wrong", "follow_through", "correct"]


# == competitive ==========================================================================

def test_competitive_spec_example_by_hand():
    # x1 = [0.1, 0.9]: d1 = √(0.01 + 0.09) = √0.1, d2 = √(0.49 + 0.25) = √0.74 -> neuron 1 wins,
    # w1 = [0.2, 0.6] + 0.5([0.1, 0.9] − [0.2, 0.6]) = [0.15, 0.75].
    # x2 = [0.9, 0.2]: d1 = √(0.5625 + 0.3025) = √0.865, d2 = √(0.01 + 0.04) = √0.05 -> neuron 2,
    # w2 = [0.8, 0.4] + 0.5([0.9, 0.2] − [0.8, 0.4]) = [0.85, 0.3].
    got = results("competitive_seed.yaml")
    h = got["history"]
    close(h[0]["scores"], [math.sqrt(0.1), math.sqrt(0.74)])
    close(h[1]["scores"], [math.sqrt(0.865), math.sqrt(0.05)])
    assert [e["winner"] for e in h] == [1, 2] and [e["updated"] for e in h] == [[1], [2]]
    close(h[0]["weights"], [[0.15, 0.75], [0.8, 0.4]])
    close(got["weights"], [[0.15, 0.75], [0.85, 0.3]])
    assert got["clusters"] == [1, 2]
    assert (h[1]["epoch"], h[1]["sample"]) == (1, 2)


def test_competitive_published_som_first_step():
    # "Problems on SOM": D(1) = 1.114675, D(2) = 1.11018 for x1 = [1, 0, 0, 1]; unit 2 wins and
    # w2(new) = w2 + 0.5(x1 − w2) = (0.65, 0.125, 0.1, 0.6).
    h = results("competitive_som_published.yaml")["history"]
    assert h[0]["scores"][0] == pytest.approx(1.114675, abs=5e-7)
    assert h[0]["scores"][1] == pytest.approx(1.11018, abs=5e-6)
    assert h[0]["winner"] == 2
    close(h[0]["weights"][1], [0.65, 0.125, 0.1, 0.6])
    close(h[0]["weights"][0], [0.2, 0.3, 0.15, 0.3])


def test_competitive_fausett_som_epoch_by_hand():
    # The classic SOM exercise (Fausett, Fundamentals of Neural Networks, ch. 4): vectors
    # (1,1,0,0), (0,0,0,1), (1,0,0,0), (0,0,1,1); units w1 = (.2,.6,.5,.9), w2 = (.8,.4,.7,.3);
    # α = 0.6, no neighbours. Squared distances by hand: x1: 1.86 vs 0.98 -> unit 2,
    # w2 = (.92,.76,.28,.12); x2: 0.66 vs 2.2768 -> unit 1, w1 = (.08,.24,.20,.96);
    # x3: 1.8656 vs 0.6768 -> unit 2, w2 = (.968,.304,.112,.048); x4: 0.7056 vs 2.724 -> unit 1,
    # w1 = (.032,.096,.680,.984).
    got = solve({"kind": "competitive", "weights": [[0.2, 0.6, 0.5, 0.9], [0.8, 0.4, 0.7, 0.3]],
                 "learning_rate": 0.6,
                 "samples": [[1, 1, 0, 0], [0, 0, 0, 1], [1, 0, 0, 0], [0, 0, 1, 1]]}).results
    assert [e["winner"] for e in got["history"]] == [2, 1, 2, 1]
    close([s ** 2 for s in got["history"][0]["scores"]], [1.86, 0.98])
    close(got["weights"], [[0.032, 0.096, 0.68, 0.984], [0.968, 0.304, 0.112, 0.048]])


def _competitive_by_hand(W, X, eta, radius, epochs, dot=False, decimals=None):
    """The rule in plain Python; with ``decimals`` every written number rounded as by hand
    (each squared-difference sum under the root, each root, each updated component)."""
    W = [list(map(float, w)) for w in W]
    R = (lambda v: rnd(v, decimals)) if decimals is not None else (lambda v: v)
    hist = []
    for _ in range(epochs):
        for x in X:
            if dot:
                s = [R(sum(a * b for a, b in zip(w, x))) for w in W]
                c = max(range(len(W)), key=lambda j: (s[j], -j))
            else:
                s = [R(math.sqrt(R(sum((a - b) ** 2 for a, b in zip(x, w))))) for w in W]
                c = min(range(len(W)), key=lambda j: (s[j], j))
            for j in range(len(W)):
                if abs(j - c) <= radius:
                    W[j] = [R(w + eta * (a - w)) for w, a in zip(W[j], x)]
            hist.append((s, c + 1, [w[:] for w in W]))
    return W, hist


def test_competitive_som_line_rounded_by_hand():
    data = yaml.safe_load((PROBLEMS / "competitive_som_line.yaml").read_text(encoding="utf-8"))
    W, hist = _competitive_by_hand(data["weights"], data["samples"], 0.4, 1, 2, decimals=3)
    got = results("competitive_som_line.yaml")
    assert [(e["scores"], e["winner"], e["weights"]) for e in got["history"]] == hist
    assert got["weights"] == W
    assert got["history"][0]["updated"] == [2, 3, 4]  # winner 3, radius 1


def test_competitive_dot_by_hand():
    data = yaml.safe_load((PROBLEMS / "competitive_dot.yaml").read_text(encoding="utf-8"))
    W, hist = _competitive_by_hand(data["weights"], data["samples"], 0.5, 0, 2, dot=True)
    got = results("competitive_dot.yaml")
    assert [e["winner"] for e in got["history"]] == [h[1] for h in hist]
    close([e["scores"] for e in got["history"]], [h[0] for h in hist])
    close(got["weights"], W)


def test_competitive_ties_and_neighbourhoods():
    # equal distances: the lowest j wins
    got = solve({"kind": "competitive", "weights": [[0, 1], [1, 0]], "learning_rate": 0.5,
                 "samples": [[0.5, 0.5]]}).results
    assert got["history"][0]["winner"] == 1
    # winner at the end of the line: only the neighbours that exist; a radius beyond the line moves all
    base = {"kind": "competitive", "weights": [[0], [1], [2], [3]], "learning_rate": 1, "samples": [[-1]]}
    got = solve(dict(base, radius=1)).results
    assert got["history"][0]["updated"] == [1, 2]
    assert got["weights"] == [[-1.0], [-1.0], [2.0], [3.0]]  # η = 1: the updated neurons jump to x
    got = solve(dict(base, radius=10)).results
    assert got["weights"] == [[-1.0]] * 4
    # one input per sample: a flat list of weights is one weight per neuron
    got = solve({"kind": "competitive", "weights": [0, 5], "learning_rate": 0.5, "samples": [4, 1]}).results
    assert got["weights"] == [[0.5], [4.5]] and got["clusters"] == [2, 1]


def test_competitive_batch_of_epochs_identity():
    # two epochs are one epoch run twice: the second starts from the first's final weights
    first = solve({"kind": "competitive", "weights": [[0.1, 0.9], [0.7, 0.2], [0.4, 0.4]], "learning_rate": 0.3,
                   "radius": 1, "samples": [[1, 0], [0, 1], [0.5, 0.5]]}).results
    second = solve({"kind": "competitive", "weights": first["weights"], "learning_rate": 0.3, "radius": 1,
                    "samples": [[1, 0], [0, 1], [0.5, 0.5]]}).results
    both = solve({"kind": "competitive", "weights": [[0.1, 0.9], [0.7, 0.2], [0.4, 0.4]], "learning_rate": 0.3,
                  "radius": 1, "epochs": 2, "samples": [[1, 0], [0, 1], [0.5, 0.5]]}).results
    assert both["weights"] == second["weights"]
    assert [e["epoch"] for e in both["history"]] == [1, 1, 1, 2, 2, 2]


def test_competitive_marking(run_cli, write):
    answers = write("answers:\n  history[1].scores[1]: 0.316\n  history[1].weights[1]: [0.15, 0.75]\n"
                    "  weights[2]: [0.85, 0.3]\n  clusters[2]: 2\n", "answers.yaml")
    code, out, _ = run_cli("check", str(PROBLEMS / "competitive_seed.yaml"), answers, "--format", "json")
    assert code == 0 and json.loads(out)["summary"]["correct"] == 4


# == nearest neighbour ====================================================================

def test_nearest_neighbour_spec_example_by_hand():
    # z = [2, 2]: d = (1, √5, √2) -> sample 1, class A; z = [4, 4]: d = (√13, 1, √18) -> sample 2, B
    got = results("nearest_neighbour_seed.yaml")
    close(got["distances"], [[1, math.sqrt(5), math.sqrt(2)], [math.sqrt(13), 1, math.sqrt(18)]])
    assert got["neighbours"] == [[1], [2]] and got["prediction"] == ["A", "B"]


def test_knn_vote_ties_by_hand():
    # Manhattan distances by hand:
    # z = [1, 0]: 1, 1, 4, 5, 1, 4 -> samples 1, 2, 5 (classes 1, 2, 3): a three-way tie, the nearest (1) wins
    # z = [2, 2]: 4, 2, 3, 2, 2, 3 -> samples 2, 4, 5 (2, 2, 3): class 2
    # z = [4, 0]: 4, 2, 7, 4, 4, 1 -> samples 6, 2, then 1 of the three at 4 (classes 1, 2, 1): class 1
    got = results("nearest_neighbour_knn_vote.yaml")
    assert got["distances"] == [[1, 1, 4, 5, 1, 4], [4, 2, 3, 2, 2, 3], [4, 2, 7, 4, 4, 1]]
    assert got["neighbours"] == [[1, 2, 5], [2, 4, 5], [6, 2, 1]]
    assert got["prediction"] == [1, 2, 1]
    assert all(isinstance(p, int) for p in got["prediction"])  # a number stays a number


def test_knn_tie_goes_to_the_nearest_of_the_tied_classes():
    # k = 4: votes B, A, A, B (nearest first) -> a 2-2 tie; B has the nearest member
    data = {"kind": "nearest_neighbour", "k": 4, "queries": [[0]],
            "samples": [{"x": [2], "d": "A"}, {"x": [1], "d": "B"}, {"x": [3], "d": "A"}, {"x": [4], "d": "B"},
                        {"x": [9], "d": "A"}]}
    got = solve(data).results
    assert got["neighbours"] == [[2, 1, 3, 4]] and got["prediction"] == ["B"]
    # labels 1 and 1.0 are one class, written as the first of them
    data = {"kind": "nearest_neighbour", "k": 3, "queries": [[0]],
            "samples": [{"x": [1], "d": 1}, {"x": [2], "d": "one"}, {"x": [3], "d": 1.0}]}
    assert solve(data).results["prediction"] == [1]


def test_one_query_written_flat():
    data = {"kind": "nearest_neighbour", "queries": [3, 4],
            "samples": [{"x": [0, 0], "d": "far"}, {"x": [3, 3], "d": "near"}]}
    got = solve(data).results
    assert got["prediction"] == ["near"] and got["distances"] == [[5.0, 1.0]]


def test_nearest_neighbour_rounding_and_marking(run_cli, write):
    got = results("nearest_neighbour_seed.yaml", rounding=2)
    assert got["distances"] == [[1.0, 2.24, 1.41], [3.61, 1.0, 4.24]]
    answers = write("answers:\n  distances[1][2]: 2.236\n  distances[2][1]: 3.606\n", "answers.yaml")
    code, out, _ = run_cli("check", str(PROBLEMS / "nearest_neighbour_seed.yaml"), answers, "--format", "json")
    assert code == 0 and json.loads(out)["summary"]["correct"] == 2


# == bad input: exit 2, one located line ==================================================

COMPETITIVE = "kind: competitive\nweights: [[0.2, 0.6], [0.8, 0.4]]\nlearning_rate: 0.5\nsamples: [[0.1, 0.9], [0.9, 0.2]]\n"
NN = "kind: nearest_neighbour\nsamples:\n  - {x: [1, 2], d: A}\n  - {x: [3, 4], d: B}\nqueries: [[2, 2]]\n"
GRAPH = "kind: graph\nexpression: \"relu(w*x + b)\"\nvalues: {x: 3, w: 2, b: 1}\n"

BAD = [
    # competitive
    (COMPETITIVE.replace("[[0.2, 0.6], [0.8, 0.4]]", "abc"), "weights", "matrix"),
    (COMPETITIVE.replace("[[0.2, 0.6], [0.8, 0.4]]", "[[0.2, 0.6], [0.8]]"), "weights", "different lengths"),
    (COMPETITIVE.replace("learning_rate: 0.5", "learning_rate: -1"), "learning_rate", "positive"),
    (COMPETITIVE.replace("learning_rate: 0.5\n", ""), "", "learning_rate"),
    (COMPETITIVE + "similarity: cosine\n", "similarity", "distance, dot"),
    (COMPETITIVE + "radius: -1\n", "radius", "≥ 0"),
    (COMPETITIVE + "radius: wide\n", "radius", "whole number"),
    (COMPETITIVE + "epochs: 0\n", "epochs", "≥ 1"),
    (COMPETITIVE.replace("[0.9, 0.2]]", "[0.9, 0.2, 1]]"), "samples[1]", "length 2"),
    (COMPETITIVE.replace("[0.9, 0.2]]", "[0.9, .nan]]"), "samples[1][1]", "NaN"),
    (COMPETITIVE.replace("samples: [[0.1, 0.9], [0.9, 0.2]]", "samples: []"), "samples", "at least 1"),
    (COMPETITIVE + "samples2: 1\n", "samples2", "unknown key"),
    (COMPETITIVE.replace("[0.9, 0.2]]", "[0.9, 0.2], [0, 0]]") + "epochs: 10000\n", "epochs", "presentations"),
    # nearest_neighbour
    (NN.replace("d: B}", "}"), "samples[1]", "missing key 'd'"),
    (NN.replace("[3, 4]", "[3, 4, 5]"), "samples[1].x", "length 2"),
    (NN.replace("d: B", "d: true"), "samples[1].d", "quotes"),
    (NN.replace("d: B", "d: [B]"), "samples[1].d", "name or a number"),
    (NN.replace("d: B", "d: B, w: 1"), "samples[1].w", "unknown key"),
    (NN.replace("queries: [[2, 2]]", "queries: [[2, 2, 2]]"), "queries[0]", "length 2"),
    (NN + "k: 3\n", "k", "k ≤ 2"),
    (NN + "k: 0\n", "k", "≥ 1"),
    (NN + "metric: cosine\n", "metric", "euclidean, manhattan"),
    # graph
    (GRAPH.replace("relu(w*x + b)", "sin(w*x + b)"), "expression", "sin is not a function"),
    (GRAPH.replace("relu(w*x + b)", "__import__(w)"), "expression", "not allowed"),
    (GRAPH.replace("relu(w*x + b)", "relu(w*x + )"), "expression", "well-formed"),
    (GRAPH.replace("relu(w*x + b)", "relu(w*x + b"), "expression", "not closed"),
    (GRAPH.replace("relu(w*x + b)", "half_sse(w*x + b)"), "expression", "half_sse takes 2 arguments"),
    (GRAPH.replace("relu(w*x + b)", "w**x"), "expression", "exponent must be a number"),
    (GRAPH.replace("relu(w*x + b)", "w**0.5 + x + b"), "expression", "whole number"),
    (GRAPH.replace("relu(w*x + b)", "2 + 3"), "expression", "no variables"),
    (GRAPH.replace("relu(w*x + b)", "x.real"), "expression", "'.'"),
    (GRAPH.replace("{x: 3, w: 2, b: 1}", "{x: 3, w: 2}"), "values", "missing a value for b"),
    (GRAPH.replace("{x: 3, w: 2, b: 1}", "{x: 3, w: 2, b: 1, c: 4}"), "values.c", "does not use 'c'"),
    (GRAPH.replace("{x: 3, w: 2, b: 1}", "{x: 3, w: two, b: 1}"), "values.w", "the value of w"),
    (GRAPH.replace("{x: 3, w: 2, b: 1}", "[3, 2, 1]"), "values", "mapping"),
    (GRAPH.replace("{x: 3, w: 2, b: 1}", "{x: 3, w: 2, b: 1, weight: 4}"), "values.weight", "cannot be a variable"),
    (GRAPH + "wrt: [w, y]\n", "wrt[1]", "'y' is not one"),
    (GRAPH + "wrt: [w, w]\n", "wrt[1]", "twice"),
    (GRAPH + "names: [u, v]\n", "names", "expected 3 names"),
    (GRAPH + "names: [u, x, a]\n", "names[1]", "is a variable"),
    (GRAPH + "names: [u, u, a]\n", "names[1]", "twice"),
    (GRAPH.replace("relu(w*x + b)", "log(w*x - b - 5)"), "values", "logarithm"),
    (GRAPH.replace("relu(w*x + b)", "sqrt(w*x - 6) + b"), "values", "derivative"),
    (GRAPH.replace("relu(w*x + b)", "w*x / (b - 1)"), "values", "division"),
    (GRAPH.replace("relu(w*x + b)", "bce(b, w*x)"), "values", "between 0 and 1"),
    (GRAPH + "wrtt: [w]\n", "wrtt", "did you mean 'wrt'"),
]


@pytest.mark.parametrize("text, key, words", BAD, ids=[f"{i}:{b[1]}" for i, b in enumerate(BAD)])
def test_bad_input_is_one_located_line(run_cli, write, text, key, words):
    path = write(text)
    code, out, err = run_cli("run", path)
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    m = re.match(r"^error: (.+?):(\d+):(\d+): (.*)$", lines[0])
    assert m and m.group(1) == path, lines[0]
    rest = m.group(4)
    if key:
        assert rest.startswith(key + ": "), rest
    assert words in rest, rest


def test_input_errors_from_the_api():
    with pytest.raises(InputError) as err:
        solve({"kind": "graph", "expression": "exp(x)", "values": {"x": 1000}})
    assert "not a finite number" in str(err.value)
