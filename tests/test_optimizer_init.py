"""kind: optimizer and kind: init (building-blocks.md).

Expected numbers come from elsewhere than nnsolve: PyTorch (torch.optim and torch.nn.init in
float64, stored by tests/reference/make_optimizer_init.py as optimizer_init.json), hand
calculations written out here (the problem files' headers work the same numbers), small
loops of plain Python that restate each method's rule, and identities (Adam's first step
moves each parameter by ≈ η; gradient descent with given gradients ends at w0 − η Σ g;
clipping leaves a gradient of norm θ).
"""
from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from nnsolve.core import solve_file, solve_text
from nnsolve.render.json import render as render_json

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = ROOT / "problems"
FIXTURE = json.loads((ROOT / "tests" / "reference" / "optimizer_init.json").read_text(encoding="utf-8"))
RTOL, ATOL = 1e-9, 1e-12


def results_of(problem: dict | str) -> dict:
    text = problem if isinstance(problem, str) else yaml.safe_dump(problem, sort_keys=False)
    return json.loads(render_json(solve_text(text, "test.yaml")))["results"]


def file_results(name: str) -> dict:
    return json.loads(render_json(solve_file(str(PROBLEMS / name))))["results"]


def close(got, want, tol=1e-12):
    np.testing.assert_allclose(np.asarray(got, float), np.asarray(want, float), rtol=tol, atol=tol)


# -- PyTorch ------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", FIXTURE["cases"], ids=[c["id"] for c in FIXTURE["cases"]])
def test_matches_torch(case):
    got = results_of(case["problem"])
    for name, want in case["expected"].items():
        assert name in got, name
        g, w = np.asarray(got[name], float), np.asarray(want, float)
        assert g.shape == w.shape, (name, g.shape, w.shape)
        np.testing.assert_allclose(g, w, rtol=RTOL, atol=ATOL, err_msg=name)


def test_fixture_covers_every_torch_method_and_scheme():
    ids = {c["id"].split("/")[0] for c in FIXTURE["cases"]}
    assert {"gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam",
            "xavier_normal", "xavier_uniform", "he_normal", "he_uniform", "lecun_normal"} <= ids
    given = [c for c in FIXTURE["cases"] if "gradients" in c["problem"]]
    assert {c["problem"]["method"] for c in given} >= {"gd", "momentum", "adagrad", "rmsprop", "adam"}


# -- the problem files, by hand -------------------------------------------------------------------

def test_momentum_file_by_hand():
    r = file_results("optimizer_momentum.yaml")
    close(r["gradients"], [[-6, 20], [-5.4, 0], [-4.32, -18]])
    close(r["velocity"], [[-0.3, 1], [-0.54, 0.9], [-0.702, -0.09]])
    close(r["trajectory"], [[0, 0], [0.3, -1], [0.84, -1.9], [1.542, -1.81]])
    close(r["losses"], [19, 7.29, 12.7656, 8.686764])


def test_nesterov_file_by_hand():
    r = file_results("optimizer_nesterov.yaml")
    close(r["gradients"], [[-6, 20], [-4.86, -18], [-3.4506, 0]])
    close(r["velocity"], [[-0.3, 1], [-0.513, 0], [-0.63423, 0]])
    close(r["trajectory"], [[0, 0], [0.3, -1], [0.813, -1], [1.44723, -1]])
    close(r["losses"], [19, 7.29, 2.187 ** 2, 1.55277 ** 2])


def test_adaptive_gain_file_by_hand():
    r = file_results("optimizer_adaptive_gain.yaml")
    close(r["gains"][:2], [[1, 1], [1.05, 0.95]])
    close(r["trajectory"][:3], [[0, 0], [0.36, -1.2], [0.69264, -0.972]])
    # the rest by the notes' rule, restated here
    f = lambda w: ((w[0] - 3) ** 2 + 10 * (w[1] + 1) ** 2)
    grad = lambda w: np.array([2 * (w[0] - 3), 20 * (w[1] + 1)])
    w, gains, prev = np.zeros(2), np.ones(2), None
    traj, all_gains = [w], []
    for t in range(4):
        g = grad(w)
        if prev is not None:
            gains = np.where(g * prev > 0, gains + 0.05, np.where(g * prev < 0, gains * 0.95, gains))
        w = w - 0.06 * gains * g
        traj.append(w)
        all_gains.append(gains)
        prev = g
    close(r["trajectory"], traj)
    close(r["gains"], all_gains)
    close(r["losses"], [f(x) for x in traj])


def test_adaptive_gain_keeps_the_gain_where_a_gradient_is_zero():
    r = results_of({"kind": "optimizer", "method": "adaptive_gain", "gradients": [[1, 2], [0, -1], [3, -2]],
                    "start": {"a": 0, "b": 0}, "learning_rate": 1, "beta": 0.1})
    close(r["gains"], [[1, 1], [1, 0.9], [1, 1.0]])
    close(r["trajectory"][-1], [0 - 1 - 0 - 3, 0 - 2 + 0.9 + 2])


def test_rmsprop_notes_file_by_hand():
    r = file_results("optimizer_rmsprop_notes.yaml")
    # ε inside the root: w1 = −η g / √((1 − β) g² + ε)
    g = np.array([-6.0, 20.0])
    close(r["mean_square"][0], 0.1 * g ** 2)
    close(r["trajectory"][1], -0.1 * g / np.sqrt(0.1 * g ** 2 + 1e-8))
    close(np.abs(r["trajectory"][1]), [0.1 / math.sqrt(0.1)] * 2, 1e-8)


def test_rmsprop_epsilon_inside_and_outside_differ_as_written():
    base = {"kind": "optimizer", "method": "rmsprop", "gradients": [[0.01]], "start": {"w": 1},
            "learning_rate": 0.1, "beta": 0.9, "epsilon": 0.001}
    outside = results_of(base)["trajectory"][1][0]
    inside = results_of(dict(base, epsilon_placement="inside"))["trajectory"][1][0]
    ms = 0.1 * 0.01 ** 2
    assert outside == pytest.approx(1 - 0.1 * 0.01 / (math.sqrt(ms) + 0.001), abs=1e-15)
    assert inside == pytest.approx(1 - 0.1 * 0.01 / math.sqrt(ms + 0.001), abs=1e-15)
    assert abs(outside - inside) > 0.01


def test_adagrad_file_by_hand():
    r = file_results("optimizer_adagrad.yaml")
    close(r["accumulator"], [[4, 1], [5, 2], [6, 2.25]])
    want = [[1, 1], [0.5, 1.5], [0.5 - 0.5 / math.sqrt(5), 1.5 + 0.5 / math.sqrt(2)]]
    want.append([want[2][0] + 0.5 / math.sqrt(6), want[2][1] - 0.25 / 1.5])
    close(r["trajectory"], want, 1e-7)  # ε = 1e-8 in the denominators
    assert "losses" not in r


def test_adam_first_step_moves_each_parameter_by_eta():
    r = file_results("optimizer_adam.yaml")
    close(np.abs(r["trajectory"][1]), [0.1, 0.1], 1e-8)
    close(r["m_hat"][0], r["gradients"][0])
    close(r["v_hat"][0], np.square(r["gradients"][0]))
    rng = np.random.default_rng(7)
    for _ in range(5):
        g = rng.normal(0, 10 ** rng.uniform(-3, 3), size=4)
        got = results_of({"kind": "optimizer", "method": "adam", "gradients": [g.tolist()],
                          "start": {f"w{i}": 0 for i in range(4)}, "learning_rate": 0.01})
        step = -np.asarray(got["trajectory"][1])
        close(step, 0.01 * g / (np.abs(g) + 1e-8))
        assert np.allclose(np.abs(step), 0.01, rtol=1e-4)


def test_gd_with_given_gradients_sums_them():
    g = [[0.5, -2.0, 1.0], [1.5, 0.25, -1.0], [-0.75, 1.0, 2.0]]
    r = results_of({"kind": "optimizer", "method": "gd", "gradients": g, "start": {"x": 1, "y": 2, "z": 3},
                    "learning_rate": 0.2})
    close(r["trajectory"][-1], np.array([1, 2, 3]) - 0.2 * np.sum(g, axis=0))
    assert r["gradients"] == g


def test_gd_clip_file_by_hand():
    r = file_results("optimizer_gd_clip.yaml")
    norm = math.sqrt(2 ** 2 + 50 ** 2)
    close(r["gradients"][0], [-2 * 5 / norm, 50 * 5 / norm])
    close(r["trajectory"][1], [0.1 * 2 * 5 / norm, 1 - 0.1 * 50 * 5 / norm])
    for g in r["gradients"]:
        assert np.linalg.norm(g) <= 5 + 1e-12
    assert np.linalg.norm(r["gradients"][0]) == pytest.approx(5, abs=1e-12)


def test_clip_leaves_a_small_gradient_alone():
    r = results_of({"kind": "optimizer", "method": "momentum", "gradients": [[3, 4], [30, 40]],
                    "start": {"a": 0, "b": 0}, "learning_rate": 0.1, "clip": 5})
    assert r["gradients"][0] == [3, 4]  # ‖g‖ = 5 = θ: not more than θ
    close(r["gradients"][1], [3, 4])  # rescaled by 5/50


def test_functions_the_ops_do_not_write_out():
    # relu and |x| (Heaviside and sign in the gradient), a piecewise function, a cube root
    r = results_of({"kind": "optimizer", "method": "gd", "function": "relu(w1 - 1) + Abs(w2)",
                    "start": {"w1": 3, "w2": -2}, "learning_rate": 0.5})
    close(r["gradients"], [[1, -1]])
    close(r["trajectory"][1], [2.5, -1.5])
    close(r["losses"], [4, 3])
    r = results_of({"kind": "optimizer", "method": "gd", "function": "Piecewise((w^2, w > 0), (-w, True))",
                    "start": {"w": 2}, "learning_rate": 0.1, "steps": 2})
    close(r["trajectory"], [[2], [1.6], [1.28]])
    r = results_of({"kind": "optimizer", "method": "gd", "function": "w^(1/3) + sqrt(w)", "start": {"w": 8},
                    "learning_rate": 1})
    close(r["gradients"], [[1 / 3 * 8 ** (-2 / 3) + 0.5 / math.sqrt(8)]])


def test_hand_rounding_of_momentum():
    def rd(x):
        from decimal import ROUND_HALF_UP, Decimal
        return float(Decimal(f"{x:.15g}").quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    text = (PROBLEMS / "optimizer_momentum.yaml").read_text(encoding="utf-8") + "rounding: 2\n"
    text = text.replace("steps: 3", "steps: 5").replace("learning_rate: 0.05", "learning_rate: 0.033")
    w, dw, traj = [0.0, 0.0], [0.0, 0.0], [[0.0, 0.0]]
    for _ in range(5):
        g = [rd(2 * w[0] - 6), rd(20 * w[1] + 20)]
        dw = [rd(0.9 * dw[i] + 0.033 * g[i]) for i in range(2)]
        w = [rd(w[i] - dw[i]) for i in range(2)]
        traj.append(w)
    assert results_of(text)["trajectory"] == traj


# -- initialisation -------------------------------------------------------------------------------

def test_init_files_by_hand():
    r = file_results("init_seed_lecun.yaml")  # the notes' w · √(1/m), m = 4
    assert r["variance"] == 0.25 and r["scale"] == 0.5
    close(r["weights"], 0.5 * np.array([[0.8, -1.4, 0.2, 2.0], [-0.6, 1.0, -0.3, 0.4]]))
    r = file_results("init_xavier_normal.yaml")
    close([r["variance"], r["scale"]], [0.4, math.sqrt(0.4)])
    close(r["weights"], math.sqrt(2 / 5) * np.array([[0.5, -1.2, 0.3], [1.1, 0.2, -0.7]]))
    r = file_results("init_xavier_uniform.yaml")
    close([r["variance"], r["scale"]], [0.4, math.sqrt(6 / 5)])
    close(r["weights"], math.sqrt(6 / 5) * np.array([[0.5, -1.0, 0.3], [0.9, 0.2, -0.7]]))
    r = file_results("init_he_uniform.yaml")
    close([r["variance"], r["scale"]], [1 / 3, 1])
    r = file_results("init_he_normal_seed.yaml")
    close([r["variance"], r["scale"]], [0.25, 0.5])
    close(r["weights"], 0.5 * np.random.default_rng(0).standard_normal((4, 8)))


def test_init_seed_uniform_draws_and_shape_from_draws():
    r = results_of({"kind": "init", "scheme": "he_uniform", "fan_in": 5, "fan_out": 3, "seed": 11})
    close(r["weights"], math.sqrt(6 / 5) * np.random.default_rng(11).uniform(-1, 1, (3, 5)))
    r = results_of({"kind": "init", "scheme": "xavier_normal", "draws": [[1, 2], [3, 4], [5, 6]]})
    close(r["variance"], 2 / (2 + 3))  # fan_in = 2 columns, fan_out = 3 rows
    r = results_of({"kind": "init", "scheme": "lecun_normal", "draws": [0.5, -1.5, 2.0]})
    close(r["weights"], [np.array([0.5, -1.5, 2.0]) / math.sqrt(3)])  # one row: fan_out 1, fan_in 3


# -- SymPy only where the spec says --------------------------------------------------------------

def _imports_sympy(*args) -> bool:
    code = ("import sys\nfrom click.testing import CliRunner\nfrom nnsolve.cli import cli\n"
            "r = CliRunner().invoke(cli, sys.argv[1:])\nassert r.exit_code == 0, r.output\n"
            "print('sympy' in sys.modules)\n")
    p = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-2000:]
    return p.stdout.strip() == "True"


def test_sympy_only_for_an_optimizer_function():
    assert _imports_sympy("run", "problems/optimizer_momentum.yaml")
    assert not _imports_sympy("run", "problems/optimizer_adagrad.yaml", "-f", "json")
    assert not _imports_sympy("run", "problems/init_xavier_normal.yaml")
    for kind in ("optimizer", "init"):
        assert not _imports_sympy("schema", kind)
        assert not _imports_sympy("new", kind)
    # the files test_cli.py leaves out of its no-SymPy run are exactly those with a function
    with_function = {p.name for p in PROBLEMS.glob("*.yaml")
                     if (d := yaml.safe_load(p.read_text(encoding="utf-8"))).get("kind") == "optimizer"
                     and "function" in d}
    assert with_function == {p.name for p in PROBLEMS.glob("optimizer_*.yaml")} - {"optimizer_adagrad.yaml"}


def test_every_method_and_scheme_has_a_problem_file():
    kinds = [yaml.safe_load(p.read_text(encoding="utf-8")) for p in PROBLEMS.glob("*.yaml")]
    assert {d["method"] for d in kinds if d["kind"] == "optimizer"} == {
        "gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adaptive_gain"}
    assert {d["scheme"] for d in kinds if d["kind"] == "init"} == {
        "xavier_normal", "xavier_uniform", "he_normal", "he_uniform", "lecun_normal"}


# -- the working ---------------------------------------------------------------------------------------

def test_working_states_the_conventions(run_cli):
    code, out, _ = run_cli("run", str(PROBLEMS / "optimizer_nesterov.yaml"), "-f", "markdown")
    assert code == 0 and "nesterov=True" in out and "look-ahead" in out
    code, out, _ = run_cli("run", str(PROBLEMS / "optimizer_rmsprop_notes.yaml"), "-f", "markdown")
    assert "inside" in out and "PyTorch" in out
    code, out, _ = run_cli("run", str(PROBLEMS / "optimizer_momentum.yaml"), "-f", "json")
    data = json.loads(out)
    titles = [s["title"] for s in data["sections"]]
    assert "The function and its gradient" in titles and "Step by step" in titles
    steps = [b for s in data["sections"] for b in s["blocks"] if b.get("type") == "step"]
    assert any(b.get("id") == "gradients[1][1]" and b["value"] == -6 for b in steps)
    assert any(b.get("id") == "trajectory[4]" for b in steps)  # every step written out (3 steps)
    table = next(b for s in data["sections"] if s["title"] == "Step by step" for b in s["blocks"])
    assert len(table["rows"]) == 3
    code, out, _ = run_cli("run", str(PROBLEMS / "init_seed_lecun.yaml"), "-f", "markdown")
    assert "lecun_normal" in out and "kaiming_normal" in out


def test_long_runs_show_the_first_steps_and_a_table(run_cli, write):
    path = write("kind: optimizer\nmethod: adam\nfunction: 'x^2 + 3*y^2'\nstart: {x: 1, y: 1}\n"
                 "learning_rate: 0.01\nsteps: 40\n")
    code, out, _ = run_cli("run", path)
    assert code == 0
    assert "Step t = 3" in out and "Step t = 4\n" not in out and "Step by step" in out
    code, out, _ = run_cli("run", path, "-f", "json")
    assert len(json.loads(out)["results"]["trajectory"]) == 41


def test_check_marks_with_follow_through(run_cli, write):
    answers = write("answers:\n  gradients[1]: [-6, 20]\n  velocity[1]: [-0.3, 1]\n  gradients[2]: [-5.4, 2]\n"
                    "  velocity[2]: [-0.54, 1.0]\n  trajectory[3]: [0.84, -2.0]\ntolerance: {decimals: 2}\n",
                    "answers.yaml")
    code, out, _ = run_cli("check", str(PROBLEMS / "optimizer_momentum.yaml"), answers, "-f", "json")
    items = {i["path"]: i["status"] for i in json.loads(out)["items"]}
    assert code == 1
    assert items == {"gradients[1]": "correct", "velocity[1]": "correct", "gradients[2]": "wrong",
                     "velocity[2]": "follow_through", "trajectory[3]": "follow_through"}


# -- bad input: exit 2, one located line ------------------------------------------------------------

OPT = """kind: optimizer
method: momentum
function: "(w1 - 3)**2 + w2**2"
start: {w1: 0, w2: 0}
learning_rate: 0.1
steps: 2
"""
OPT_G = """kind: optimizer
method: gd
gradients: [[1, 2], [3, 4]]
start: {w1: 0, w2: 0}
learning_rate: 0.1
"""
INIT = """kind: init
scheme: xavier_normal
fan_in: 3
fan_out: 2
draws: [[0.5, -1.2, 0.3], [1.1, 0.2, -0.7]]
"""

BAD = [
    (OPT.replace("method: momentum", "method: momentun"), "method", "did you mean 'momentum'"),
    (OPT.replace('"(w1 - 3)**2 + w2**2"', '"w1 +* 2"'), "function", "not a well-formed expression"),
    (OPT.replace('"(w1 - 3)**2 + w2**2"', '"__import__(w1)"'), "function", "not allowed"),
    (OPT.replace('"(w1 - 3)**2 + w2**2"', '"w1.real"'), "function", "attribute"),
    (OPT.replace('"(w1 - 3)**2 + w2**2"', '"w1^2 + x"'), "function", "start does not give"),
    (OPT.replace('"(w1 - 3)**2 + w2**2"', "[1, 2]"), "function", "expected"),
    (OPT + "gradients: [[1, 2]]\n", "gradients", "not both"),
    (OPT.replace('function: "(w1 - 3)**2 + w2**2"\n', ""), "", "missing key 'function'"),
    (OPT_G.replace("[[1, 2], [3, 4]]", "[[1, 2], [3]]"), "gradients[1]", "length 2"),
    (OPT_G.replace("[[1, 2], [3, 4]]", "[[1, 2], [3, x]]"), "gradients[1][1]", "expected a number"),
    (OPT_G.replace("[[1, 2], [3, 4]]", "5"), "gradients", "expected a list of gradients"),
    (OPT_G.replace("method: gd", "method: nesterov"), "gradients", "look-ahead"),
    (OPT_G + "steps: 3\n", "steps", "2 gradients are given"),
    (OPT.replace("start: {w1: 0, w2: 0}", "start: [0, 0]"), "start", "a mapping of parameter names"),
    (OPT.replace("start: {w1: 0, w2: 0}", "start: {}"), "start", "an empty mapping"),
    (OPT.replace("start: {w1: 0, w2: 0}", "start: {w1: zero, w2: 0}"), "start.w1", "expected a number"),
    (OPT_G.replace("start: {w1: 0, w2: 0}", "start: {w1: 0, 2w: 0}"), "start.2w", "not a parameter name"),
    (OPT.replace("start: {w1: 0, w2: 0}", "start: {w1: 0, w2: 0, e: 1}"), "start.e", "constants"),
    (OPT.replace("start: {w1: 0, w2: 0}", "start:"), "start", "missing key 'start'"),
    (OPT.replace("learning_rate: 0.1", "learning_rate: -0.1"), "learning_rate", "positive"),
    (OPT.replace("learning_rate: 0.1\n", ""), "", "missing key 'learning_rate'"),
    (OPT.replace("steps: 2", "steps: 0"), "steps", "≥ 1"),
    (OPT.replace("steps: 2", "steps: 1.5"), "steps", "whole number"),
    (OPT + "momentum: 1.5\n", "momentum", "≤ 1"),
    (OPT.replace("method: momentum", "method: adam") + "momentum: 0.9\n", "momentum", "momentum and nesterov"),
    (OPT + "beta: 0.9\n", "beta", "rmsprop and adaptive_gain"),
    (OPT + "beta1: 0.9\n", "beta1", "adam"),
    (OPT.replace("method: momentum", "method: adam") + "beta1: 1\n", "beta1", "less than 1"),
    (OPT.replace("method: momentum", "method: adam") + "beta2: high\n", "beta2", "expected"),
    (OPT + "epsilon: 1.0e-8\n", "epsilon", "adagrad, rmsprop and adam"),
    (OPT.replace("method: momentum", "method: adagrad") + "epsilon: -1\n", "epsilon", "≥ 0"),
    (OPT.replace("method: momentum", "method: rmsprop") + "epsilon_placement: under\n", "epsilon_placement",
     "outside, inside"),
    (OPT + "epsilon_placement: inside\n", "epsilon_placement", "rmsprop"),
    (OPT + "clip: 0\n", "clip", "positive"),
    (OPT_G.replace("method: gd", "method: adagrad").replace("[[1, 2], [3, 4]]", "[[0, 1]]") + "epsilon: 0\n",
     "epsilon", "divides by √G = 0"),
    (OPT + "momentm: 0.9\n", "momentm", "did you mean 'momentum'"),
    (OPT.replace('"(w1 - 3)**2 + w2**2"', '"log(w1) + w2"'), "function", "at the start, losses[1]"),
    (OPT.replace('"(w1 - 3)**2 + w2**2"', '"sqrt(w1) + w2"').replace("{w1: 0,", "{w1: 0.25,")
     .replace("learning_rate: 0.1", "learning_rate: 1"), "function", "at step 1, losses[2] is not a finite number"),
    (OPT.replace("learning_rate: 0.1", "learning_rate: 10").replace("steps: 2", "steps: 400"), "learning_rate",
     "diverge"),
    (INIT.replace("xavier_normal", "xavier"), "scheme", "expected one of"),
    (INIT.replace("fan_in: 3", "fan_in: 0"), "fan_in", "≥ 1"),
    (INIT.replace("fan_in: 3", "fan_in: three"), "fan_in", "whole number"),
    (INIT.replace("fan_out: 2", "fan_out: 3"), "draws", "3 × 3"),
    (INIT.replace("[1.1, 0.2, -0.7]", "[1.1, 0.2]"), "draws", "different lengths"),
    (INIT.replace("[1.1, 0.2, -0.7]", "[1.1, 0.2, x]"), "draws[1][2]", "expected a number"),
    (INIT.replace("xavier_normal", "he_uniform"), "draws[0][1]", "U(−1, 1)"),
    (INIT + "seed: 3\n", "seed", "not both"),
    (INIT.replace("draws: [[0.5, -1.2, 0.3], [1.1, 0.2, -0.7]]", "seed: -1"), "seed", "≥ 0"),
    (INIT.replace("draws: [[0.5, -1.2, 0.3], [1.1, 0.2, -0.7]]", "seed: 1").replace("fan_in: 3\n", ""),
     "", "missing key 'fan_in'"),
    (INIT.replace("draws: [[0.5, -1.2, 0.3], [1.1, 0.2, -0.7]]\n", ""), "", "missing key 'draws'"),
    (INIT.replace("fan_in: 3", "fan_in: 1000").replace("fan_out: 2", "fan_out: 1000").replace(
        "draws: [[0.5, -1.2, 0.3], [1.1, 0.2, -0.7]]", "seed: 1"), "fan_in", "weights"),
]

LINE = re.compile(r"^error: (?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?:(?P<path>[\w.\[\]]+): )?(?P<msg>.+)$")


@pytest.mark.parametrize("text, path, words", BAD, ids=[f"{i}:{p or 'top'}" for i, (_, p, _) in enumerate(BAD)])
def test_bad_input_is_one_located_line(run_cli, write, text, path, words):
    f = write(text)
    code, out, err = run_cli("run", f)
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    m = LINE.match(lines[0])
    assert m, lines[0]
    assert m.group("file") == f
    assert (m.group("path") or "") == path, lines[0]
    assert words in m.group("msg"), lines[0]
