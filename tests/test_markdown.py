"""The Markdown export: every formula renders in KaTeX, every table is a GFM table with the
right columns, every result value can be read back, and nothing of the working is lost.

The exports checked: every file in problems/ (whatever is there when the tests run), the
template of every kind that exists (``nnsolve new KIND``), random small perceptron and mlp
problems, and a hand-built working with awkward cells (pipes, NaN, tiny numbers, …).
"""
import json
import os
import pathlib
import re
import shutil
import subprocess

import numpy as np
import pytest
from markdown_it import MarkdownIt

from conftest import PROBLEMS, ROOT
from nnsolve import expr as E
from nnsolve import kinds
from nnsolve.core import solve_file, solve_text
from nnsolve.errors import InputError
from nnsolve.given import template as new_template
from nnsolve.numfmt import NumberFormat
from nnsolve.render import markdown
from nnsolve.render.common import fmt_for, step_lines, visible_sections
from nnsolve.render.formula import FormulaPrinter
from nnsolve.working import Math, Step, Table, Text, Working

KATEX_SCRIPT = ROOT / "tests" / "katex" / "render.js"


# -- reading Markdown back --------------------------------------------------------------

def parser():
    return MarkdownIt("commonmark").enable("table")


def split_math(text: str):
    """Scan raw Markdown inline text: ([(tex, display)], the text outside mathematics).
    $$…$$ is display, $…$ inline (not empty, no space just inside the dollars);
    code spans and backslash escapes are skipped. An unbalanced $ is an error."""
    snippets, rest = [], []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n:
            rest.append(text[i:i + 2])
            i += 2
        elif c == "`":
            run = re.match(r"`+", text[i:]).group(0)
            j = text.find(run, i + len(run))
            j = n if j < 0 else j + len(run)
            rest.append(text[i:j])
            i = j
        elif text.startswith("$$", i):
            j = text.find("$$", i + 2)
            assert j >= 0, f"unclosed $$ in {text!r}"
            snippets.append((text[i + 2:j].strip(), True))
            i = j + 2
        elif c == "$":
            j = i + 1
            while j < n and (text[j] != "$" or text[j - 1] == "\\"):
                j += 1
            assert j < n, f"unbalanced $ in {text!r}"
            tex = text[i + 1:j]
            assert tex and tex == tex.strip(), f"inline math must not start or end with a space: {tex!r}"
            snippets.append((tex, False))
            i = j + 1
        else:
            rest.append(c)
            i += 1
    return snippets, "".join(rest)


def math_of(md: str):
    """Every formula of a Markdown document, and the text outside the formulas."""
    snippets, texts = [], []
    for t in parser().parse(md):
        if t.type == "inline":
            s, rest = split_math(t.content)
            snippets += s
            texts.append(rest)
    return snippets, texts


def tables_of(md: str):
    """[(header cells, [row cell counts])] for every table markdown-it finds."""
    out, cur, row = [], None, None
    for t in parser().parse(md):
        if t.type == "table_open":
            cur = [0, []]
        elif t.type == "tr_open":
            row = 0
        elif t.type in ("th_open", "td_open"):
            row += 1
        elif t.type == "tr_close":
            if cur[0] == 0:
                cur[0] = row
            else:
                cur[1].append(row)
        elif t.type == "table_close":
            out.append((cur[0], cur[1]))
    return out


def numbers(v):
    """Every number of a results value (dicts, lists, arrays), bools and text left out."""
    if isinstance(v, dict):
        for x in v.values():
            yield from numbers(x)
    elif isinstance(v, (list, tuple)):
        for x in v:
            yield from numbers(x)
    elif isinstance(v, np.ndarray):
        yield from numbers(v.tolist())
    elif isinstance(v, (bool, np.bool_, str)) or v is None:
        return
    elif isinstance(v, (int, float, np.number)):
        yield float(v)


# -- what is exported -------------------------------------------------------------------

def _random_perceptron(rng):
    n = int(rng.integers(2, 4))
    act = str(rng.choice(["step", "sign"]))
    labels = [0, 1] if act == "step" else [-1, 1]
    samples = "\n".join(
        f"  - {{x: {[float(v) for v in rng.integers(-2, 3, n)]}, d: {int(rng.choice(labels))}}}"
        for _ in range(int(rng.integers(2, 5))))
    return (f"kind: perceptron\nweights: {[float(v) for v in np.round(rng.normal(size=n), 2)]}\n"
            f"bias: {round(float(rng.normal()), 2)}\nlearning_rate: {float(rng.choice([0.1, 0.5, 1]))}\n"
            f"activation: {act}\nmax_epochs: {int(rng.integers(1, 6))}\nprecision: {int(rng.integers(0, 7))}\n"
            f"samples:\n{samples}\n")


def _random_mlp(rng):
    sizes = [int(rng.integers(1, 4)) for _ in range(int(rng.integers(3, 5)))]
    layers = []
    for k in range(len(sizes) - 1):
        last = k == len(sizes) - 2
        act = str(rng.choice(["sigmoid", "tanh", "relu", "linear"] + (["softmax"] if last and sizes[-1] > 1 else [])))
        scale = float(rng.choice([1e-6, 0.5, 1.0, 3.0]))
        W = np.round(rng.normal(size=(sizes[k + 1], sizes[k])) * scale, 8).tolist()
        b = np.round(rng.normal(size=sizes[k + 1]), 3).tolist()
        layers.append(f"  - {{weights: {W}, bias: {b}, activation: {act}}}")
    softmax = "softmax" in layers[-1]
    if softmax:
        target = [0.0] * sizes[-1]
        target[int(rng.integers(0, sizes[-1]))] = 1.0
        loss = "cross_entropy"
    else:
        target = np.round(rng.uniform(0, 1, sizes[-1]), 2).tolist()
        loss = str(rng.choice(["half_sse", "mse"]))
    return (f"kind: mlp\ninput: {np.round(rng.normal(size=sizes[0]), 2).tolist()}\ntarget: {target}\n"
            f"layers:\n" + "\n".join(layers) + f"\nloss: {loss}\nlearning_rate: {float(rng.choice([0.05, 0.5, 1]))}\n"
            f"precision: {int(rng.integers(1, 7))}\n")


def awkward_working() -> Working:
    """Cells and text a renderer can get wrong: pipes, Markdown characters, NaN, ±∞,
    tiny and huge numbers, 3-D arrays, bools, None, rows of unequal length."""
    w = Working(kind="test", title="Pipes | stars * and _underscores_ <b>", precision=4)
    s = w.section("Odd $|x|$ section | title")
    s.text("A *literal* star, a [bracket](link), <html>, a | pipe, $\\lVert w \\rVert$ and a lone $ sign.")
    s.text("# not a heading\n\n- not a list\n\n1. not a list either", "note")
    s.text("Two\n\nparagraphs of a warning", "warning")
    s.text("A result: $y = 1$", "result")
    s.table(["a|b", "$|x|$", r"\lVert w \rVert", "time step", "", "x_1"],
            [["p|q", "$|y|$", np.array([1e-9, -2.5e9, 0.1234567]), True, None, np.nan],
             [np.array([[1, 2], [3, -4]]), np.inf, -np.inf, np.zeros((2, 2, 2)), "text with `code`"],
             [1, 2, 3, 4, 5, 6, 7]],
            title="A | title", note="a note | with pipe")
    x = E.Sym("x", [1.0, -2.0, 3.0, 0.5])
    y = s.step("Step | one", "y", E.tanh(x * 2.0), note="a *note*")
    s.step("", "z", E.Sum(E.odot(y, y)))
    s.step("Big", "Z", E.Sym("M", np.arange(100.0).reshape(10, 10)) @ E.Sym("v", np.ones(10)))
    s.step("Huge", "H", E.Outer(E.Sym("a", np.arange(10.0)), E.Sym("b", np.arange(10.0))))
    s.math(r"f(x) = \begin{cases} 1 & x \geq 0 \\ 0 & \text{else} \end{cases}")
    s.math(r"|a| \leq \|b\|", "a rule | with pipe")
    s.math("- x\n\n+ y\n* z\n1. w\n> v\n---\n===\n0.5")
    s.table([r"\Big|_{t}", "|x|", r"\|x\|_2"], [[r"\frac{a}{b}\Big|_{t=1}", "$|y| + \\|z\\|$", "text"]])
    w.results = {"y": y.value, "z": float(np.sum(y.value ** 2))}
    return w


def exports():
    """(name, working) for everything the tests export."""
    out = []
    for p in PROBLEMS:
        out.append((p.name, lambda p=p: solve_file(str(p))))
    for kind in kinds.available():
        template = new_template(kind)
        if template:
            out.append((f"template:{kind}", lambda t=template, k=kind: solve_text(t, f"template:{k}")))
    rng = np.random.default_rng(20240605)
    makers = [_random_perceptron] + ([_random_mlp] if "mlp" in kinds.available() else [])
    for k in range(8):
        for make in makers:
            text = make(rng)
            out.append((f"random:{make.__name__[8:]}:{k}", lambda t=text, k=k: solve_text(t, f"random{k}.yaml")))
    out.append(("awkward", awkward_working))
    return out


_CACHE = {}


def solved():
    """[(name, working)] solved once per test session; a problem that is an input error
    (a random one the kind rejects) is left out."""
    if "all" not in _CACHE:
        items = []
        for name, make in exports():
            try:
                items.append((name, make()))
            except InputError:
                if name.startswith("random:"):
                    continue
                raise
        _CACHE["all"] = items
    return _CACHE["all"]


def documents():
    """(name, working, full, markdown) for both the default and the --full export."""
    for name, w in solved():
        yield name, w, False, markdown.render(w)
        yield name, w, True, markdown.render(w, full=True)


# -- the acceptance tests ---------------------------------------------------------------

def _katex_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("NNSOLVE_KATEX_DIR") or ROOT / ".cache" / "katex")


def _node_and_katex() -> str:
    """The node executable, or skip (fail when NNSOLVE_KATEX_REQUIRED is set, as in CI)."""
    missing = pytest.fail if os.environ.get("NNSOLVE_KATEX_REQUIRED") else pytest.skip
    node = shutil.which("node")
    if not node:
        missing("node is not installed (KaTeX runs under Node.js)")
    kdir = _katex_dir()
    if not (kdir / "node_modules" / "katex" / "package.json").exists():
        missing(f"KaTeX not found in {kdir}/node_modules/katex; install it with "
                f"`npm install --prefix {kdir} katex@0.16` (or set NNSOLVE_KATEX_DIR)")
    return node


def test_every_formula_renders_in_katex(tmp_path):
    node = _node_and_katex()
    kdir = _katex_dir()
    snippets, seen = [], set()
    for name, _, full, md in documents():
        for tex, display in math_of(md)[0]:
            if (tex, display) not in seen:
                seen.add((tex, display))
                snippets.append({"tex": tex, "display": display, "where": name + (" --full" if full else "")})
    assert len(snippets) > 50
    data = tmp_path / "snippets.json"
    data.write_text(json.dumps(snippets), encoding="utf-8")
    proc = subprocess.run([node, str(KATEX_SCRIPT), str(data)], capture_output=True, text=True,
                          env={**os.environ, "NNSOLVE_KATEX_DIR": str(kdir)}, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    assert report["checked"] == len(snippets)
    failures = "\n".join(f"{f['where']}: {f['error']}\n    {f['tex'][:300]}" for f in report["failures"][:20])
    assert not report["failures"], f"{len(report['failures'])} formulas KaTeX cannot render:\n{failures}"


def test_katex_script_reports_failures(tmp_path):
    """The checker itself: a broken formula is reported, a good one is not."""
    node = _node_and_katex()
    proc = subprocess.run([node, str(KATEX_SCRIPT)], input=json.dumps(
        ["x_1", {"tex": r"\frac{1}", "display": True, "where": "bad"}]),
        capture_output=True, text=True, env={**os.environ, "NNSOLVE_KATEX_DIR": str(_katex_dir())})
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert report["checked"] == 2 and [f["where"] for f in report["failures"]] == ["bad"]


def expected_tables(w: Working, full: bool):
    """The tables of the layout pass: a table wider than the page is split into parts that
    each repeat its key column(s) and together hold every column."""
    from nnsolve.render.layout import TableD
    out = []
    n_tables = 0
    for g in markdown.document(w, full).groups:
        for b in g.items:
            if isinstance(b, TableD) and b.columns:
                n_tables += 1
                covered = set()
                for part in b.parts:
                    covered |= set(part.columns)
                    out.append((len(part.columns), [len(part.columns)] * (len(b.head) + len(b.tail))))
                assert covered == set(range(len(b.columns)))
    expected = sum(1 for s, _ in visible_sections(w.sections, full) if s is not None
                   for b in s.blocks if isinstance(b, Table) and max([len(b.columns)] + [len(r) for r in b.rows]))
    assert n_tables == expected  # no table lost
    return out


def test_tables_parse_as_gfm_tables():
    checked = 0
    for name, w, full, md in documents():
        assert tables_of(md) == expected_tables(w, full), name
        checked += len(expected_tables(w, full))
    assert checked > 10


def test_no_stray_latex_or_dollars_outside_math():
    """Dollars are balanced, and no LaTeX command is left in the text (a solver's label
    or text that forgot its $…$ shows as raw LaTeX in every reader)."""
    stray = set()
    for name, _, _, md in documents():
        _, texts = math_of(md)  # asserts balanced dollars
        for t in texts:
            for m in re.finditer(r"\\[A-Za-z]+", t):
                stray.add(f"{name}: {t[max(0, m.start() - 30):m.end() + 30].strip()!r}")
    assert not stray, "LaTeX outside $…$:\n" + "\n".join(sorted(stray)[:20])


def test_math_survives_markdown_escaping():
    """No backslash-punctuation command that a reader may take for a Markdown escape
    (GitHub turns \\\\ into \\ and \\{ into { even inside $…$): \\\\ only at the end of a
    line of a display formula."""
    bad = set()
    for name, _, _, md in documents():
        for tex, display in math_of(md)[0]:
            for m in re.finditer(r"\\\\(?!\n)|\\[,:;!{}|>]", tex):
                if not (m.group(0) == "\\\\" and tex[m.end():m.end() + 1] == "["):
                    bad.add(f"{name}: {m.group(0)} in {tex[max(0, m.start() - 40):m.end() + 20]!r}")
    assert not bad, "\n".join(sorted(bad)[:20])


def _paths(v, path=""):
    """(result name, number) for every number of results; list indices dropped."""
    if isinstance(v, dict):
        for k, x in v.items():
            yield from _paths(x, f"{path}.{k}" if path else k)
    elif isinstance(v, (list, tuple, np.ndarray)):
        for x in list(v):
            yield from _paths(x, path)
    else:
        for x in numbers(v):
            yield path, x


def _missing(w):
    md = markdown.render(w)
    fmt = NumberFormat(w.precision, "latex")
    missing = {}
    for path, x in _paths(w.results):
        s = fmt.scalar(x)
        # a column of a table writes all its numbers with the same decimals: 1.8 may read 1.8000
        pad = r"0*" if "." in s else r"(?:\.0+)?"
        if not re.search(r"(?<![\d.])" + re.escape(s) + pad + r"(?!\d)", md):
            missing.setdefault(path, []).append(s)
    return missing


def _worked(name):
    for n, w in solved():
        if n == name:
            return w
    pytest.skip(f"{name} is not a valid problem")


READ_BACK = [name for name, _ in exports() if name != "awkward"]


@pytest.mark.parametrize("name", READ_BACK)
def test_results_read_back_from_markdown(name):
    """Every number in results appears, at the file's precision, in its Markdown."""
    w = _worked(name)
    missing = _missing(w)
    assert not missing, "result values missing from the Markdown: " + "; ".join(
        f"{k}: {', '.join(v[:6])}" for k, v in missing.items())


def test_nothing_of_the_working_is_lost():
    """Every section title, step (symbolic form, each form with numbers, value), text,
    formula and table title the terminal shows is in the Markdown too."""
    from nnsolve.render.layout import component_lhs
    for name, w, full, md in documents():
        printer = FormulaPrinter(fmt_for("latex", w.precision))
        md = re.sub(r" \\\\\n&\\quad ", " ", md)  # a long form broken before + or −, joined again
        for s, skipped in visible_sections(w.sections, full):
            if skipped:
                assert markdown._escape_text(skipped) in md
                continue
            assert markdown.inline(" ".join(s.title.split())) in md, name
            for b in s.blocks:
                if isinstance(b, Step):
                    P = markdown.portable
                    lines = step_lines(b, printer)
                    assert P(b.lhs + " &= " + lines.symbolic) in md or P(b.lhs + " = " + lines.symbolic) in md, name
                    for f in lines.forms:
                        assert P(f) in md, (name, f)
                    if b.expr.size <= 64 and not lines.components:
                        assert P(lines.value) in md, (name, lines.value)
                    for i, forms, v in lines.components:
                        assert P(component_lhs(b.lhs, i)) in md and all(P(f) in md for f in forms) and P(v) in md
                    if b.label:
                        assert markdown.inline(b.label) in md
                    if b.note:
                        assert markdown.inline(b.note) in md
                elif isinstance(b, Text):
                    for p in markdown._paragraphs(b.text):
                        assert markdown.inline(p) in md, (name, p)
                elif isinstance(b, Math):
                    if b.label:
                        assert markdown.portable(" ".join(b.tex.split())) in md, (name, b.tex)
                    else:
                        assert all(markdown.portable(ln.strip()) in md for ln in b.tex.splitlines()), (name, b.tex)
                elif isinstance(b, Table):
                    if b.title:
                        assert markdown.inline(b.title) in md
        if not full:
            hidden = [s for s in w.sections if s.detail]
            assert len(hidden) <= 10 or "--full" in md


def test_full_shows_every_detail_section():
    w = Working(kind="test", title=None)
    for t in range(1, 13):  # more than LAYOUT.detail_most (10): a short problem is worked in full
        w.section(f"Time step $t = {t}$", level=3, detail=True).step("Gate", f"h_{{{t}}}", E.Sym("x", t) * 2.0)
    w.section("Summary").table(["t", "h"], [[t, 2.0 * t] for t in range(1, 13)])
    short, full = markdown.render(w), markdown.render(w, full=True)
    assert "### Time step $t = 3$" in short and "### Time step $t = 4$" not in short
    assert "9 more detailed sections" in short and "--full" in short
    assert all(f"### Time step $t = {t}$" in full for t in range(1, 11))
    assert "| $10$ | $20$ |" in short  # tables keep every row


def test_awkward_text_and_cells():
    md = markdown.render(awkward_working())
    assert md.endswith("\n") and md.startswith("# Pipes \\| stars")  # the problem's own title
    assert r"a \| pipe" in md and r"\*literal\*" in md and r"\<html>" in md and r"lone \$ sign" in md
    assert "$\\vert x\\vert$" in md  # a pipe inside a cell's formula
    assert r"\begin{bmatrix}1 & 2 \cr 3 & -4\end{bmatrix}" in md  # no \\ inside a line
    assert not re.search(r"\\\\(?!\n)", md), "\\\\ only at the end of a line"
    assert r"\lVert w \rVert" in md and r"\Vert x\Vert_2" in md
    assert "\\# not a heading" in md and "\\- not a list" in md and "1\\. not a list" in md
    tokens = parser().parse(md)
    assert not [t for t in tokens if t.type in ("bullet_list_open", "ordered_list_open", "html_block")
                and t.map and "not a list" in md.splitlines()[t.map[0]]]
    headings = [t for t in tokens if t.type == "heading_open"]
    assert [h.tag for h in headings] == ["h1", "h2"]
    assert "$$\n{}- x\n{}+ y\n{}* z\n{}1. w\n{}> v\n{}---\n{}===\n0.5\n$$" in md
    assert "(10 \\times 10\\ \\text{values})" in md.replace(r"\left", "").replace(r"\right", "")


def test_run_format_markdown_matches_renderer(run_cli):
    for p in PROBLEMS[:3]:
        code, out, err = run_cli("run", str(p), "--format", "markdown")
        assert code == 0, err
        assert out == markdown.render(solve_file(str(p)))


# -- text is escaped so that Markdown reads back exactly the text -----------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_TEXT = st.text(alphabet="ab1 .-+*_`[]()<>!&#;|\\~=:'\"é", min_size=1, max_size=40).filter(lambda t: t.strip())
# a text cell (a cell with \\, _ or ^ is LaTeX, as in the terminal)
_CELL = st.text(alphabet="ab1 .-+*`[]()<>!&#;|~=:'\"é", min_size=1, max_size=40).filter(lambda t: t.strip())


def _plain(md: str) -> str:
    """The text markdown-it reads from a document (inline text, code spans as their code)."""
    out = []
    for t in parser().parse(md):
        if t.type == "inline":
            for c in t.children or []:
                if c.type in ("text", "code_inline"):
                    out.append(c.content)
                elif c.type in ("softbreak", "hardbreak"):
                    out.append(" ")
                elif c.type not in ("em_open", "em_close", "strong_open", "strong_close"):
                    out.append(f"<{c.type}>")
            out.append("\n")
    return "".join(out)


def _norm(t: str) -> str:
    return " ".join(t.split())


@settings(max_examples=60, deadline=None)
@given(_TEXT, st.sampled_from(["text", "note", "result", "warning"]))
def test_text_reads_back_exactly(text, kind):
    md = markdown._styled(text, kind)
    got = _plain(md)
    if kind == "warning":
        got = got.replace("Warning:", "", 1)
    assert _norm(got) == _norm(text), md


@settings(max_examples=60, deadline=None)
@given(_TEXT, _CELL)
def test_headings_and_cells_read_back_exactly(title, cell):
    w = Working(kind="k", title=None)
    w.section(title).table(["value", "more"], [[cell, "x"]])
    md = markdown.render(w)
    tokens = parser().parse(md)
    assert [t.tag for t in tokens if t.type == "heading_open"] == ["h1", "h2"]
    assert tables_of(md) == [(2, [2])]
    lines = _plain(md).splitlines()
    assert _norm(lines[1]) == _norm(title)
    assert _norm(lines[4]) == _norm(cell), md
