"""nnsolve derive builds a Working like every kind, and the defects of issue 14 are gone.

- the derivation is a Working (printer.py): every format comes from the shared renderers,
  the JSON's results are the derive contract;
- LaTeX stays LaTeX until a renderer sees it: no Unicode superscripts in Markdown math,
  the labels and titles typeset;
- steps are numbered as they nest (a step uses only its own sub-steps, or an earlier step);
- a derivative met twice is derived once (tanh's d/dx(e^{-x}));
- long displays are broken at a top-level =, + or ·, and no terminal line is wider than
  80 columns;
- a typed expression with a kink or a jump (relu(x), abs(x), Heaviside(x), …) says what
  happens there, as `derive relu` does;
- every Markdown formula renders in KaTeX (with NNSOLVE_KATEX_REQUIRED=1 it must run).

Expected facts come from the mathematics (one-sided derivatives worked by hand in the
tests), never from the printer's own output."""
import json
import os
import pathlib
import re
import shutil
import subprocess
import unicodedata

import pytest

sp = pytest.importorskip("sympy")

from nnsolve.derive import catalogue  # noqa: E402
from nnsolve.derive.printer import WIDTH, display_lines, split_top, width  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
NAMES = list(catalogue.ENTRIES)
TYPED = ["relu(x)", "abs(x)", "Heaviside(x)", "Max(0.01*x, x)", "Piecewise((x, x > 0), (alpha*x, True))",
         "x^2 sin(x)", "(x^2 + 1)/(x - 1)", "tanh(tanh(tanh(x)))", "x^x", "log(1+exp(-a*x))*sigma(b*x+c)",
         "1/(1+exp(-x))", "w*x + b"]
SHOWN = ["sigmoid", "tanh", "softmax", "relu(x)", "gelu"]  # the five read by hand for the issue


def derive(run_cli, *args):
    code, out, err = run_cli("derive", *args)
    assert code == 0, err
    return out


def results(run_cli, *args):
    return json.loads(derive(run_cli, *args, "--format", "json"))["results"]


def api(target, **kw):
    import nnsolve
    return nnsolve.derive(target, **kw)


# -- one Working, every renderer ------------------------------------------------------------------

def test_derive_is_a_working_and_every_format_is_the_renderers(run_cli):
    """The command's output is the shared renderer's output of the derivation's Working:
    no format is special-cased for derive (html and latex too once registered)."""
    from nnsolve.render import registry
    from nnsolve.working import Math, Step, Table, Text, Working
    w = api("sigmoid")
    assert isinstance(w, Working) and w.kind == "derive"
    for s in w.sections:
        assert all(isinstance(b, (Math, Step, Table, Text)) for b in s.blocks)
    for fmt in registry.names():
        text = registry.get(fmt).render(w, full=True)
        assert text.strip(), fmt
    assert derive(run_cli, "sigmoid", "--format", "markdown") == registry.get("markdown").render(w, full=True)
    data = json.loads(derive(run_cli, "sigmoid", "--format", "json"))
    assert data["kind"] == "derive" and data["sections"]
    assert data["results"]["derivative"] == w.results["derivative"]
    assert data["results"]["steps"] == w.results["steps"]


def test_unknown_format_is_an_input_error(run_cli):
    code, _, err = run_cli("derive", "x^2", "--format", "nonsense")
    assert code == 2 and "not a format" in err and len(err.strip().splitlines()) == 1


# -- LaTeX until a renderer sees it ----------------------------------------------------------------

SUPERSCRIPTS = set("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱʲᵀᵗˣ₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ")


def _math(md: str) -> list[tuple[str, bool]]:
    """The formulas of a Markdown document: ($$…$$ display, $…$ inline)."""
    out = []
    for m in re.finditer(r"\$\$\n(.*?)\n\$\$", md, re.S):
        out.append((m.group(1), True))
    rest = re.sub(r"\$\$\n.*?\n\$\$", "", md, flags=re.S)
    rest = rest.replace(r"\$", "")
    for m in re.finditer(r"\$([^$]+)\$", rest):
        out.append((m.group(1), False))
    return out


@pytest.mark.parametrize("name", NAMES + TYPED)
def test_markdown_has_latex_not_unicode_in_its_math_and_labels(run_cli, name):
    md = derive(run_cli, name, "--format", "markdown")
    formulas = _math(md)
    assert formulas
    for tex, _ in formulas:
        assert not SUPERSCRIPTS & set(tex), tex
    # outside the math, no formula written in Unicode (e⁻ˣ, ∂s_i): the labels are typeset
    prose = re.sub(r"\$\$\n.*?\n\$\$", "", md, flags=re.S)
    prose = re.sub(r"\$[^$]+\$", "", prose.replace(r"\$", ""))
    assert not SUPERSCRIPTS & set(prose.split("\n", 1)[1]), name  # the title line aside


def test_sigmoid_labels_are_typeset(run_cli):
    md = derive(run_cli, "sigmoid", "--format", "markdown")
    assert "cancel $1 + e^{-x}$" in md and "cancel 1 + e⁻ˣ" not in md
    assert r"take out $\frac{1}{1 + e^{-x}}$" in md


def test_softmax_title_and_cases_are_typeset(run_cli):
    w = api("softmax")
    assert "_" not in w.title and "∂sᵢ/∂zⱼ" in w.title
    titles = [s.title for s in w.sections]
    assert "Case $i = j$" in titles and r"Case $i \neq j$" in titles
    out = derive(run_cli, "softmax")
    assert "∂s_i" not in out and "Case i ≠ j" in out
    md = derive(run_cli, "softmax", "--format", "markdown")
    assert "## Case $i \\neq j$" in md
    md = derive(run_cli, "bce", "--format", "markdown")
    assert r"First factor: $\frac{\partial L}{\partial \hat{y}}$" in md


def test_tanh_simplification_reason_is_latex(run_cli):
    md = derive(run_cli, "tanh", "--format", "markdown")
    assert "$(a + b)^{2} - (a - b)^{2} = 4ab$" in md


# -- nested numbering ------------------------------------------------------------------------------

def _check_nesting(steps):
    engine = [s for s in steps if "label" in s]
    labels = [s["label"] for s in engine]
    assert len(set(labels)) == len(labels)
    seen = set()
    for s in engine:
        label = s["label"]
        parent = label.rsplit(".", 1)[0] if "." in label else None
        assert parent is None or parent in seen, (label, "comes before its parent")
        for used in s.get("uses", []):
            assert used.startswith(label + ".") and used.count(".") == label.count(".") + 1, (label, used)
            assert used in labels
        if "same_as" in s:
            assert s["same_as"] in seen, (label, "refers to a later step")
        seen.add(label)
    return engine


@pytest.mark.parametrize("name", NAMES + TYPED)
def test_steps_are_numbered_as_they_nest(run_cli, name):
    """A step uses only its own sub-steps (1 uses 1.1, 1.2) or, for a repeat, an earlier
    step; every sub-step comes after its parent."""
    _check_nesting(results(run_cli, name)["steps"])


def test_sigmoid_step_one_uses_its_sub_steps(run_cli):
    steps = {s["label"]: s for s in results(run_cli, "sigmoid")["steps"] if "label" in s}
    assert steps["1"]["rule"] == "chain" and steps["1"]["uses"] == ["1.1", "1.2"]
    assert steps["1.1"]["rule"] == "power"  # d/du u^{-1}
    assert steps["1.2"]["rule"] == "sum"  # d/dx (1 + e^{-x})
    assert steps["1.2"]["uses"] == ["1.2.1", "1.2.2"]
    out = derive(run_cli, "sigmoid")
    assert "Step 1: Chain rule" in out and "Step 1.2: Sum rule" in out and "Step 1.2.2: Chain rule" in out
    md = derive(run_cli, "sigmoid", "--format", "markdown")
    assert "### Step 1.2.2: Chain rule" in md


def test_softmax_parts_are_numbered_apart(run_cli):
    steps = [s for s in results(run_cli, "softmax")["steps"] if "label" in s]
    firsts = {s["label"].split(".")[0] for s in steps}
    assert firsts == {"1", "2"}
    assert all(s["part"].startswith("Case") for s in steps)


# -- a derivative met twice is derived once ------------------------------------------------------

def test_tanh_derives_e_to_the_minus_x_once(run_cli):
    steps = results(run_cli, "tanh")["steps"]
    x = sp.Symbol("x")
    of = [s for s in steps if s.get("expression") and sp.sympify(s["expression"]) == sp.exp(-x)]
    derived = [s for s in of if s["rule"] != "reuse"]
    again = [s for s in of if s["rule"] == "reuse"]
    assert len(derived) == 1 and derived[0]["rule"] == "chain"
    assert len(again) == 1 and again[0]["same_as"] == derived[0]["label"]
    assert sp.sympify(again[0]["derivative"]) == -sp.exp(-x)
    out = derive(run_cli, "tanh")
    assert f"as in step {derived[0]['label']}" in out
    assert out.count("With u = −x") + out.count("With v = −x") == 1  # the chain rule for e⁻ˣ once


def test_a_repeated_derivative_keeps_the_right_result(run_cli):
    """A reuse step's derivative is the one of the step it names, and the whole derivative
    still equals SymPy's."""
    data = results(run_cli, "sin(x)^2 + cos(sin(x)) + sin(x)")
    x = sp.Symbol("x", real=True)
    steps = {s["label"]: s for s in data["steps"] if "label" in s}
    reused = [s for s in steps.values() if s["rule"] == "reuse"]
    assert reused
    for s in reused:
        assert s["derivative"] == steps[s["same_as"]]["derivative"]
    d = sp.sympify(data["derivative"], locals={"x": x})
    assert sp.simplify(d - sp.diff(sp.sin(x) ** 2 + sp.cos(sp.sin(x)) + sp.sin(x), x)) == 0


# -- long displays break ----------------------------------------------------------------------------

def test_split_top_only_splits_outside_groups():
    tex = r"\frac{a + b}{c} + \left(d + e\right) = f \cdot g"
    assert split_top(tex, (" = ",)) == [("", r"\frac{a + b}{c} + \left(d + e\right)"), (" = ", r"f \cdot g")]
    assert split_top(tex, (" + ", " - ")) == [("", r"\frac{a + b}{c}"), (" + ", r"\left(d + e\right) = f \cdot g")]
    cases = r"\begin{cases}a + b&\text{if }x = 0\\c&\text{otherwise}\end{cases} + 1"
    assert [p for _, p in split_top(cases, (" + ", " = "))] == [cases[:-4], "1"]


def _balanced(tex: str) -> bool:
    depth = 0
    for ch in re.sub(r"\\[{}]", "", tex):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0 and tex.count(r"\left") == tex.count(r"\right")


def test_display_lines_break_at_equals_then_plus():
    forms = [r"\frac{d}{dx}\left(" + "x" * 30 + r"\right)", "a" * 40, " + ".join(["b" * 20] * 5)]
    lines = display_lines(" = ".join(forms))
    assert lines[0].startswith(r"\frac{d}{dx}") and all(width(ln) <= WIDTH for ln in lines)
    assert lines[1].startswith("= ")
    assert any(ln.startswith(r"\quad + ") for ln in lines)  # the long sum went on at a +
    assert all(_balanced(ln) for ln in lines)
    assert display_lines("a = b") == ["a = b"]


@pytest.mark.parametrize("name", NAMES + TYPED)
def test_every_display_line_is_balanced_and_short_where_it_can_be(name):
    from nnsolve.working import Math
    w = api(name)
    for s in w.sections:
        for b in s.blocks:
            if isinstance(b, Math):
                assert _balanced(b.tex), b.tex
                if width(b.tex) > WIDTH:  # only a single form with no top-level + or ·
                    assert len(split_top(b.tex.removeprefix("= "), (" = ", " + ", " - ", r" \cdot "))) == 1, b.tex


def _columns(line: str) -> int:
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
               for c in line)


@pytest.mark.parametrize("name", NAMES + TYPED[:6])
def test_no_terminal_line_is_wider_than_80(run_cli, monkeypatch, name):
    monkeypatch.setenv("COLUMNS", "80")
    out = derive(run_cli, name)
    for line in out.splitlines():
        assert _columns(line) <= 80, line


def test_tanh_quotient_is_one_form_per_line(run_cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    out = derive(run_cli, "tanh")
    block = out[out.index("Step 1: Quotient rule"):out.index("Step 1.1:")]
    rows = [ln.strip() for ln in block.splitlines()[2:] if ln.strip()]
    assert rows[0] == "d/dx((eˣ − e⁻ˣ)/(eˣ + e⁻ˣ))" and all(r.startswith("= ") for r in rows[1:])


# -- kinks of typed expressions ------------------------------------------------------------------------

@pytest.mark.parametrize("text,left,right,gives", [
    ("relu(x)", 0, 1, 0),  # max(0, x): slopes 0 and 1; the cases give x ≤ 0 -> 0
    ("Max(0, x)", 0, 1, 0),
    ("abs(x)", -1, 1, 0),  # sign(0) = 0
    ("Max(0.01*x, x)", 0.01, 1, 1),  # the cases of Max: x >= x/100 at 0 -> 1
    ("Piecewise((x, x > 0), (0.2*x, True))", 0.2, 1, 0.2),
])
def test_typed_kinks_are_noted(run_cli, text, left, right, gives):
    data = results(run_cli, text)
    k = data["at_zero"]
    assert k["continuous"] is True and k["differentiable"] is False
    assert (k["left"], k["right"], k["formula_gives"]) == pytest.approx((left, right, gives))
    out = derive(run_cli, text)
    result = out[out.index("\nResult"):]
    assert "At x = 0 the left derivative is" in result and "no derivative there" in result
    at = results(run_cli, text, "--at", "x=0")
    assert at["one_sided_derivatives"] == pytest.approx({"left": left, "right": right})
    assert at["derivative_value"] == pytest.approx(gives)


def test_relu_typed_says_what_derive_relu_says(run_cli):
    typed = derive(run_cli, "relu(x)")
    named = derive(run_cli, "relu")
    for out in (typed, named):
        assert "At x = 0 the left derivative is 0 and the right derivative is 1" in out
        assert "PyTorch" in out and "subgradient" in out


def test_a_step_function_jumps(run_cli):
    data = results(run_cli, "Heaviside(x)")
    assert data["at_zero"]["continuous"] is False and data["at_zero"]["differentiable"] is False
    out = derive(run_cli, "Heaviside(x)")
    assert "jumps from 0 to 1" in out and "not continuous" in out


def test_a_kink_away_from_zero(run_cli):
    data = results(run_cli, "relu(x - 1)")
    assert data["kinks"] == [pytest.approx({"at": 1.0, "continuous": True, "left": 0.0, "right": 1.0,
                                            "differentiable": False, "formula_gives": 0.0})]
    assert "at_zero" not in data
    assert "At x = 1 the left derivative is 0" in derive(run_cli, "relu(x - 1)")


def test_smooth_pieces_meet(run_cli):
    data = results(run_cli, "Piecewise((x^2, x > 0), (0, True))")
    assert data["at_zero"]["differentiable"] is True and data["at_zero"]["left"] == 0.0
    assert "differentiable there" in derive(run_cli, "Piecewise((x^2, x > 0), (0, True))")


def test_no_kink_note_without_cases(run_cli):
    data = results(run_cli, "x^2 sin(x)")
    assert "kinks" not in data and "at_zero" not in data


# -- KaTeX ----------------------------------------------------------------------------------------------

def _katex():
    missing = pytest.fail if os.environ.get("NNSOLVE_KATEX_REQUIRED") else pytest.skip
    node = shutil.which("node")
    kdir = pathlib.Path(os.environ.get("NNSOLVE_KATEX_DIR") or ROOT / ".cache" / "katex")
    if not node:
        missing("node is not installed (KaTeX runs under Node.js)")
    if not (kdir / "node_modules" / "katex" / "package.json").exists():
        missing(f"KaTeX not found in {kdir}/node_modules/katex")
    return node, kdir


def test_every_derive_formula_renders_in_katex(run_cli, tmp_path):
    node, kdir = _katex()
    snippets, seen = [], set()
    for args in [(n,) for n in NAMES + TYPED] + [("sigmoid", "--at", "x=0.5"), ("softmax", "--at", "z=1,2,3"),
                                                  ("relu(x)", "--at", "x=0"), ("abs(x)", "--at", "x=0")]:
        name = " ".join(args)
        md = derive(run_cli, *args, "--format", "markdown")
        for tex, display in _math(md):
            if (tex, display) not in seen:
                seen.add((tex, display))
                snippets.append({"tex": tex, "display": display, "where": name})
    assert len(snippets) > 200
    data = tmp_path / "snippets.json"
    data.write_text(json.dumps(snippets), encoding="utf-8")
    proc = subprocess.run([node, str(ROOT / "tests" / "katex" / "render.js"), str(data)], capture_output=True,
                          text=True, env={**os.environ, "NNSOLVE_KATEX_DIR": str(kdir)}, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    assert report["checked"] == len(snippets)
    failures = "\n".join(f"{f['where']}: {f['error']}\n    {f['tex'][:300]}" for f in report["failures"][:20])
    assert not report["failures"], f"{len(report['failures'])} formulas KaTeX cannot render:\n{failures}"


def test_kinks_of_a_max_of_three_lines(run_cli):
    """max(0, x, 2x − 1): slopes 0, 1, 2; the lines cross at x = 0 (0 and x) and x = 1
    (x and 2x − 1); at x = 1/2 the larger one is x on both sides: no kink there."""
    data = results(run_cli, "Max(0, x, 2*x - 1)")
    assert [k["at"] for k in data["kinks"]] == [0.0, 1.0]
    assert [(k["left"], k["right"]) for k in data["kinks"]] == [(0.0, 1.0), (1.0, 2.0)]


def test_json_keeps_the_contract_keys_at_the_top(run_cli):
    """problem-format.md: stdout is one JSON object with variable, expression, derivative,
    steps and identity; the Working's own keys stand beside them."""
    import json as _json
    code, out, _ = run_cli("derive", "sigmoid", "--format", "json")
    assert code == 0
    d = _json.loads(out)
    for key in ("variable", "expression", "derivative", "steps", "identity"):
        assert key in d and d[key] == d["results"][key]
    assert d["identity"] == "sigma(x)*(1 - sigma(x))"
    assert all("rule" in s and "latex" in s for s in d["steps"])
