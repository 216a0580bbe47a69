"""nnsolve derive reads the library (nnsolve.nn): every activation and loss record is a
name of the catalogue, and a record with no hand-written plan is derived rule by rule
from its ``sympy`` text.

Expected values come from the records' own numpy ``value`` and ``derivative`` (written
independently of SymPy, as PyTorch defines them) and from SymPy's ``diff``."""
import json
import math
import os
import re
import subprocess
import sys

import numpy as np
import pytest

sp = pytest.importorskip("sympy")
from sympy.parsing.sympy_parser import parse_expr  # noqa: E402

from nnsolve.derive import catalogue, library  # noqa: E402
from nnsolve.nn import ACTIVATIONS, LOSSES, Activation  # noqa: E402
from nnsolve.nn import activations as act_module  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ELEMENTWISE = [n for n, a in ACTIVATIONS.items() if a.elementwise]
NEW = ["leaky_relu", "elu", "softplus", "silu", "gelu"]
POINTS = [-2.3, -0.7, 0.4, 1.9]  # away from the kink at 0
ENGINE_RULES = {"constant", "variable", "sum", "constant_multiple", "power", "product", "quotient", "chain",
                "exp", "exponential", "log", "trig", "hyperbolic", "sigmoid", "erf", "abs", "step", "piecewise",
                "rewrite"}


def derive_json(run_cli, *args):
    code, out, err = run_cli("derive", *args, "--format", "json")
    assert code == 0, err
    return json.loads(out)["results"]  # the Working's JSON: the derive contract is its results


def _x():
    return sp.Symbol("x")


def _functions():
    """For parse_expr: sigma, and every elementwise record by its name (its own sympy
    text), so that an identity naming a function (elu(x) + 1) can be evaluated."""
    u = sp.Symbol("u")
    out = {"sigma": sp.Lambda(u, 1 / (1 + sp.exp(-u)))}
    for name, a in ACTIVATIONS.items():
        if a.elementwise:
            out[name] = sp.Lambda(u, parse_expr(a.sympy, local_dict={"x": u}))
    out["swish"] = out["silu"]
    return out


def _at(expr, data, x, point):
    subs = {sp.Symbol(k): v for k, v in (data.get("parameters") or {}).items()}
    subs[x] = sp.Float(point, 30)
    return complex(sp.N(expr.subs(subs), 30))


def _numpy(f, point):
    return float(np.reshape(np.asarray(f(np.asarray([point])), dtype=float), -1)[0])


# -- the list is the library's -------------------------------------------------------------------

def test_list_shows_every_record(run_cli):
    code, out, _ = run_cli("derive", "--list", "--format", "json")
    assert code == 0
    listed = {e["name"]: e for e in json.loads(out)}
    for name, a in ACTIVATIONS.items():
        assert listed[name]["summary"] == a.summary
        assert set(a.aliases) <= set(listed[name]["aliases"])
    for name, l in LOSSES.items():
        assert l.summary in listed[name]["summary"]
        assert set(l.aliases) <= set(listed[name]["aliases"])
    assert set(listed) == set(ACTIVATIONS) | set(LOSSES) | set(library.CATALOGUE_ONLY)
    assert "swish" in listed["silu"]["aliases"] and "swish" not in listed
    code, out, _ = run_cli("derive", "--list")
    for name in listed:
        assert re.search(rf"^{name}\b", out, re.M), name


def test_aliases_and_catalogue_only_names():
    assert catalogue.lookup("swish") == "silu"
    assert catalogue.lookup("SiLU") == "silu"
    assert catalogue.lookup("Leaky-ReLU") == "leaky_relu"
    assert catalogue.lookup("sigmoid_a") == "sigmoid_a"
    assert catalogue.lookup("log_loss") == "bce"
    assert catalogue.lookup("x^2") is None


# -- every activation: the derivative is the record's ----------------------------------------------

@pytest.mark.parametrize("name", ELEMENTWISE)
def test_derivative_equals_the_records_numpy_derivative(run_cli, name):
    rec = ACTIVATIONS[name]
    data = derive_json(run_cli, name)
    x = sp.Symbol(data["variable"])
    f, d = parse_expr(data["expression"]), parse_expr(data["derivative"])
    for p in POINTS:
        assert _at(f, data, x, p) == pytest.approx(_numpy(rec.value, p), abs=1e-12)
        assert _at(d, data, x, p) == pytest.approx(_numpy(rec.derivative, p), abs=1e-12), (name, p)
    if "identity" in data:
        ident = parse_expr(data["identity"], local_dict=_functions())
        for p in POINTS:
            assert _at(ident, data, x, p) == pytest.approx(_at(d, data, x, p), abs=1e-12), (name, p)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_the_generic_plan_works_for_every_record(name):
    """Even where a hand-written plan exists, the record alone is enough: its sympy text,
    rule by rule, gives the record's derivative."""
    from nnsolve.derive.command import _json
    rec = ACTIVATIONS[name]
    plan = library.activation_plan(rec).run()
    data = _json(plan, None)
    x = sp.Symbol(data["variable"])
    d = parse_expr(data["derivative"])
    truth = sp.diff(parse_expr(data["expression"]), x)
    for p in POINTS:
        assert _at(d, data, x, p) == pytest.approx(_numpy(rec.derivative, p), abs=1e-12)
        assert _at(d, data, x, p) == pytest.approx(_at(truth, data, x, p), abs=1e-12)
    assert all(s["rule"] in ENGINE_RULES | {"simplify", "identity"} for s in data["steps"])
    if rec.identity:
        assert data["identity"]
        ident = parse_expr(data["identity"], local_dict=_functions())
        for p in POINTS:
            assert _at(ident, data, x, p) == pytest.approx(_at(d, data, x, p), abs=1e-12)


@pytest.mark.parametrize("name", [n for n in ELEMENTWISE if ACTIVATIONS[n].identity])
def test_the_records_identity_is_the_one_derive_gives(run_cli, name):
    data = derive_json(run_cli, name)
    funcs = _functions()
    x = sp.Symbol(data["variable"])
    mine = parse_expr(data["identity"], local_dict=funcs)
    theirs = parse_expr(ACTIVATIONS[name].identity, local_dict={**funcs, "x": x})
    for p in POINTS:
        assert _at(mine, data, x, p) == pytest.approx(_at(theirs, data, x, p), abs=1e-12)


@pytest.mark.parametrize("name", [n for n in LOSSES if n not in ("mse", "bce", "cross_entropy")])
def test_losses_without_a_plan_are_derived_by_the_output(run_cli, name):
    data = derive_json(run_cli, name)
    assert data["variable"] == "y" and data["name"] == name
    y, d = sp.symbols("y d")
    e, g = parse_expr(data["expression"]), parse_expr(data["derivative"])
    assert sp.simplify(g - sp.diff(e, y)) == 0
    assert sp.simplify(e - parse_expr(LOSSES[name].sympy)) == 0


# -- the five: rule by rule, in every format --------------------------------------------------------

@pytest.mark.parametrize("name", NEW)
def test_new_activations_rule_by_rule(run_cli, name):
    data = derive_json(run_cli, name)
    rules = [s["rule"] for s in data["steps"] if s["rule"] in ENGINE_RULES]
    assert len(rules) >= 2, rules
    assert all(s["latex"] for s in data["steps"])
    for key in ("variable", "expression", "derivative"):
        parse_expr(data[key])
    code, out, err = run_cli("derive", name)
    assert code == 0, err
    assert "Rule by rule" in out and "rule" in out.lower()
    for raw in ("\\frac", "\\left", "\\cdot", "\\sigma", "\\begin", "\\text", "\\operatorname", "$"):
        assert raw not in out, (raw, out)
    code, out, err = run_cli("derive", name, "--format", "markdown")
    assert code == 0, err
    assert out.startswith("# ") and "$$" in out and "Rule by rule" in out


def test_gelu_uses_the_erf_rule(run_cli):
    data = derive_json(run_cli, "gelu")
    names = {s["rule"]: s["name"] for s in data["steps"]}
    assert names.get("erf") == "Error function rule" and "chain" in names and "product" in names
    erf_step = next(s for s in data["steps"] if s["rule"] == "erf")
    assert r"\operatorname{erf}" in erf_step["formula"] and r"\sqrt{\pi}" in erf_step["formula"]
    code, out, _ = run_cli("derive", "gelu")
    assert "Error function rule" in out and "Chain rule" in out
    data = derive_json(run_cli, "gelu", "--at", "x=0.5")
    assert data["derivative_value"] == pytest.approx(_numpy(ACTIVATIONS["gelu"].derivative, 0.5), abs=1e-12)
    assert data["value"] == pytest.approx(_numpy(ACTIVATIONS["gelu"].value, 0.5), abs=1e-12)
    code, out, err = run_cli("derive", "gelu", "--at", "x=0.5")
    assert code == 0, err and "erf" in out


def test_erf_rule_on_a_typed_expression(run_cli):
    data = derive_json(run_cli, "erf(x^2)")
    x = sp.Symbol("x", real=True)
    d = parse_expr(data["derivative"], local_dict={"x": x})
    assert sp.simplify(d - 4 * x * sp.exp(-x ** 4) / sp.sqrt(sp.pi)) == 0
    assert "erf" in [s["rule"] for s in data["steps"]]


@pytest.mark.parametrize("name,left,right,taken", [
    ("relu", 0.0, 1.0, 0.0), ("leaky_relu", 0.01, 1.0, 0.01), ("elu", 1.0, 1.0, 1.0)])
def test_kinks_follow_pytorch(name, left, right, taken):
    """The generic plan of a record with cases: the one-sided derivatives at 0, and the
    value PyTorch takes there (the record's derivative at 0)."""
    rec = ACTIVATIONS[name]
    plan = library.activation_plan(rec).run()
    kink = plan.extra["at_zero"]
    assert (kink["left"], kink["right"], kink["convention"]) == pytest.approx((left, right, taken))
    assert kink["convention"] == _numpy(rec.derivative, 0.0)
    assert kink["differentiable"] is (left == right)
    note = plan.notes[0][0]
    assert "PyTorch" in note and f"= {taken:g}" in note
    assert "piecewise" in [s.node.rule for s in plan.parts[0].derivation.steps()]


def test_kink_at_zero_on_the_command_line(run_cli):
    data = derive_json(run_cli, "leaky_relu", "--at", "x=0")
    assert data["one_sided_derivatives"] == pytest.approx({"left": 0.01, "right": 1.0})
    assert data["derivative_value"] == pytest.approx(0.01)
    data = derive_json(run_cli, "elu", "--at", "x=0")
    assert data["derivative_value"] == pytest.approx(1.0)
    code, out, _ = run_cli("derive", "leaky_relu")
    assert "PyTorch" in out


# -- adding an activation is one record ------------------------------------------------------------

def _record(name, sympy_text, value, derivative, identity=None, **kw):
    return Activation(name, f"{name}, a test record", rf"\mathrm{{{name}}}", sympy_text.replace("**", "^"),
                      "?", value=value, derivative=derivative, prime=lambda v, y: derivative(v),
                      sympy=sympy_text, identity=identity, **kw)


def test_one_record_is_enough(run_cli, monkeypatch):
    cube = _record("cube", "x**3", lambda v: np.asarray(v, dtype=float) ** 3,
                   lambda v: 3 * np.asarray(v, dtype=float) ** 2)
    expo = _record("expo", "exp(2*x)", lambda v: np.exp(2 * np.asarray(v, dtype=float)),
                   lambda v: 2 * np.exp(2 * np.asarray(v, dtype=float)), identity="2*expo(x)")
    monkeypatch.setitem(act_module.ACTIVATIONS, "cube", cube)
    monkeypatch.setitem(act_module.ACTIVATIONS, "expo", expo)

    code, out, _ = run_cli("derive", "--list")
    assert "cube" in out and "expo" in out
    data = derive_json(run_cli, "cube")
    x = sp.Symbol(data["variable"])
    assert data["name"] == "cube"
    assert sp.simplify(parse_expr(data["derivative"]) - 3 * x ** 2) == 0
    assert "power" in [s["rule"] for s in data["steps"]]
    data = derive_json(run_cli, "cube", "--at", "x=2")
    assert data["derivative_value"] == pytest.approx(12.0)
    for fmt in ("terminal", "markdown"):
        code, out, err = run_cli("derive", "cube", "--format", fmt)
        assert code == 0 and "Power rule" in out, err

    data = derive_json(run_cli, "expo")
    assert data["identity"] == "2*expo(x)"
    ident = parse_expr(data["identity"], local_dict={"expo": lambda u: sp.exp(2 * u)})
    assert sp.simplify(ident - parse_expr(data["derivative"])) == 0
    assert data["steps"][-1]["rule"] == "identity"
    code, out, _ = run_cli("derive", "expo")
    assert code == 0 and "expo" in out


def test_a_record_that_the_safe_parser_refuses_is_an_input_error(run_cli, monkeypatch):
    bad = _record("bad", "__import__('os')", lambda v: v, lambda v: v)
    monkeypatch.setitem(act_module.ACTIVATIONS, "bad", bad)
    code, _, err = run_cli("derive", "bad")
    assert code == 2 and "library" in err and "Traceback" not in err


# -- the safe parser reads what the records need ------------------------------------------------------

def test_piecewise_is_read_safely(run_cli):
    from nnsolve.derive.safe_parse import check
    assert check("Piecewise((x, x > 0), (0.01 x, True))").text == \
        "Piecewise ( ( x , x > 0 ) , ( 0.01 * x , True ) )"
    data = derive_json(run_cli, "Piecewise((x^2, x >= 1), (2x - 1, True))")
    x = sp.Symbol("x", real=True)
    assert "piecewise" in [s["rule"] for s in data["steps"]]
    d = parse_expr(data["derivative"], local_dict={"x": x})
    assert d.subs(x, 3) == 6 and d.subs(x, -1) == 2
    for text in ("x > 0", "x == 0", "x = 1", "True", "(x, 1)", "Piecewise(x, True)", "Piecewise((x, 0 < x < 1))",
                 "Piecewise((x, x != 0))", "Piecewise((x, x > 0, 1))", "x + True", "gelu(x)", "cube(x)",
                 "Piecewise((x, __import__('os')))", "Piecewise((x, x.real > 0))"):
        code, _, err = run_cli("derive", text)
        assert code == 2 and "Allowed" in err, text


# -- speed and imports ------------------------------------------------------------------------------

def test_library_and_list_do_not_import_sympy():
    code = ("import sys\n"
            "import nnsolve.nn\n"
            "assert 'sympy' not in sys.modules, 'nnsolve.nn imported sympy'\n"
            "from nnsolve.cli import cli\n"
            "try:\n    cli(['derive', '--list'], prog_name='nnsolve')\n"
            "except SystemExit:\n    pass\n"
            "from nnsolve.derive import library\n"
            "library.entries(); library.lookup('gelu')\n"
            "assert 'sympy' not in sys.modules, 'sympy imported'\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr


# -- the README's table ----------------------------------------------------------------------------

def _readme():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as fh:
        return fh.read()


def test_readme_table_is_the_librarys():
    text = _readme()
    i, j = text.find(library.BEGIN), text.find(library.END)
    assert 0 <= i < j, "the README has no table of activations and losses"
    assert text[i:j + len(library.END)] == library.readme_table(), \
        "README.md's table differs from the library: run python -m nnsolve.derive.library --write README.md"
    rows = [line for line in text[i:j].splitlines() if line.startswith("| `")]
    assert [re.match(r"\| `([^`]+)`", r).group(1) for r in rows] == list(ACTIVATIONS) + list(LOSSES)
    # its own section, just before "Derivatives, rule by rule"
    assert text.rfind("\n## ", 0, i) == text.find("\n## Activations and losses")
    assert text.find("\n## ", j) == text.find("\n## Derivatives, rule by rule")


def test_readme_table_follows_a_new_record(monkeypatch):
    cube = _record("cube", "x**3", lambda v: np.asarray(v, dtype=float) ** 3,
                   lambda v: 3 * np.asarray(v, dtype=float) ** 2)
    before = library.readme_table()
    monkeypatch.setitem(act_module.ACTIVATIONS, "cube", cube)
    after = library.readme_table()
    assert after != before and "| `cube` |" in after


def test_readme_ranges():
    table = library.readme_table()
    row = {re.match(r"\| `([^`]+)`", line).group(1): line for line in table.splitlines() if line.startswith("| `")}
    assert r"$(0, 1)$" in row["sigmoid"] and r"$(-1, 1)$" in row["tanh"]
    assert r"$[0, \infty)$" in row["relu"] and r"$(-1, \infty)$" in row["elu"]
    assert r"$[-0.2785, \infty)$" in row["silu"]
    assert not math.isinf(ACTIVATIONS["gelu"].range[0])
