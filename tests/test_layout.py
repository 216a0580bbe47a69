"""The layout pass (nnsolve.render.layout) and the renderer registry, and what issue #14
asks of every format: checked on every problem file in problems/ (whatever is there when
the tests run), never on exact working text.

- the terminal at 80 columns: no line longer than 80 cells, no trailing spaces when the
  output is redirected, no vector broken inside a table cell, matrices as matrices;
- no format writes trailing spaces; every format is in the registry;
- chains break at '=' with the rows under the first '=', long forms before + or −;
- a table wider than the page is split into tables that repeat its key column(s), and
  one column shows its numbers with one number of decimals;
- a vector's component lines carry their left-hand side.
"""
import io
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from rich.console import Console

from conftest import PROBLEMS, ROOT
from nnsolve import expr as E
from nnsolve.core import solve_file
from nnsolve.errors import InputError
from nnsolve.notation import needs_plain_scripts, to_unicode
from nnsolve.numfmt import NumberFormat
from nnsolve.render import layout as L
from nnsolve.render import registry, terminal
from nnsolve.working import Working

WIDTH = 80
_SOLVED = {}


def solved():
    """(name, Working) of every problem file that solves (one being edited may not)."""
    if not _SOLVED:
        for p in PROBLEMS:
            try:
                _SOLVED[p.name] = solve_file(str(p))
            except InputError:
                continue
    return list(_SOLVED.items())


def terminal_text(w, width=WIDTH, full=False) -> str:
    """What `nnsolve run` writes into a file or a pipe at WIDTH columns."""
    buf = io.StringIO()
    console = Console(file=buf, width=width, color_system=None, force_terminal=False)
    terminal.render(w, console, full=full)
    return buf.getvalue()


def table_cells(line: str):
    """The cells of one row of a rich table (between │ or ┃)."""
    if "│" not in line and "┃" not in line:
        return []
    return [c for c in re.split(r"[│┃]", line)[1:-1]]


_NUM = r"[−-]?\d+(?:\.\d+)?(?: × 10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)?"


def broken_vectors(text: str) -> list[str]:
    """Rows of a table in which a cell holds part of a vector broken over two lines of the
    cell: `[1, −1,` then `−1]` (an interval [0, ∞) is not one)."""
    bad = []
    for ln in text.splitlines():
        for c in table_cells(ln):
            c = c.strip()
            if (c.startswith("[") and c.endswith(",")) or re.fullmatch(rf"{_NUM}(?:, {_NUM})*\]", c):
                bad.append(ln)
    return bad


# -- every problem, every format ----------------------------------------------------------------

def test_terminal_fits_80_columns_without_trailing_spaces_or_broken_vectors():
    checked = 0
    problems = []
    for name, w in solved():
        text = terminal_text(w)
        for ln in text.splitlines():
            if L.text_width(ln) > WIDTH:
                problems.append(f"{name}: {L.text_width(ln)} cells: {ln!r}")
            if ln != ln.rstrip():
                problems.append(f"{name}: trailing spaces: {ln!r}")
        problems += [f"{name}: vector broken in a cell: {ln!r}" for ln in broken_vectors(text)]
        assert "[[" not in text, f"{name}: a matrix printed as a Python list"
        checked += 1
    assert checked >= 40
    assert not problems, "\n".join(problems[:30])


def test_every_format_without_trailing_spaces():
    names = registry.names()
    assert {"terminal", "markdown", "json", "html", "latex"} <= set(names)
    bad = []
    for name, w in solved():
        for fmt in names:
            text = registry.render(w, fmt)
            assert text.endswith("\n"), (name, fmt)
            bad += [f"{name} ({fmt}): {ln[-60:]!r}" for ln in text.splitlines() if ln != ln.rstrip()]
    assert not bad, "\n".join(bad[:20])


def test_markdown_components_carry_their_left_hand_side_and_tables_fit_the_page():
    from nnsolve.render import markdown
    for name, w in solved():
        md = markdown.render(w)
        assert not re.search(r"j = \d+:\\quad\s*&?=", md), name  # `j = 1: = …`
        assert not re.search(r"(?m)^j = \d+:", md), name
        for g in markdown.document(w).groups:
            for b in g.items:
                if isinstance(b, L.TableD) and len(b.columns) > 1:
                    for part in b.parts:
                        cols = part.columns
                        width = sum(max([L.measure_tex(str(b.columns[k]))] + [r[k].width for r in b.head + b.tail])
                                    for k in cols) + 3 * len(cols) + 1
                        # a part too wide holds only its key column(s) and one more
                        assert width <= L.LAYOUT.page_width or len(cols) <= 3, (name, b.title, width)


def test_run_redirected_has_no_trailing_spaces_at_columns_80(tmp_path):
    """The command itself, its output sent to a file, as a user would."""
    out = tmp_path / "out.txt"
    env = {**os.environ, "COLUMNS": "80"}
    env.pop("FORCE_COLOR", None)
    for p in ("mlp_softmax.yaml", "rnn_forward.yaml"):
        path = ROOT / "problems" / p
        if not path.exists():
            continue
        with open(out, "w") as fh:
            proc = subprocess.run([sys.executable, "-m", "nnsolve", "run", str(path)], stdout=fh,
                                  stderr=subprocess.PIPE, text=True, env=env, timeout=120)
        assert proc.returncode == 0, proc.stderr
        text = out.read_text(encoding="utf-8")
        assert text.strip()
        assert all(ln == ln.rstrip() for ln in text.splitlines())
        assert max(L.text_width(ln) for ln in text.splitlines()) <= 80


# -- the pieces of the layout -------------------------------------------------------------------

def measure(s: str) -> int:
    return len(s)


def test_a_chain_fits_on_one_row_or_breaks_at_equals_under_the_first():
    rows = L.chain_rows("y", ["a + b", "1 + 2", "3"], 40, measure)
    assert [(r.kind, r.text) for r in rows] == [("first", "a + b = 1 + 2 = 3")]
    rows = L.chain_rows("y", ["a + b", "1.0000 + 2.0000", "3.0000"], 16, measure)
    assert rows[0].kind == "first" and rows[0].text == "a + b"
    assert all(r.kind in ("eq", "cont") for r in rows[1:])
    # what the rows say, joined again, is the chain
    joined = " = ".join(r.text for r in rows if r.kind != "cont")
    assert joined.startswith("a + b = 1.0000")


def test_a_long_form_breaks_before_a_top_level_plus_or_minus_only():
    tex = r"\sigma\left(0.5 + 0.25\right) + 0.125 \cdot 3 - 0.0625 + 7"
    cuts = L.top_level_breaks(tex)
    assert all(tex[c] in "+-" for c in cuts)
    assert len(cuts) == 3  # not the + inside σ( … )
    pieces = L.break_form(tex, 30, measure)
    assert " ".join(pieces) == tex
    assert all(p.startswith(("+", "-")) for p in pieces[1:])


def test_fold_cuts_plain_text_between_numbers_never_inside_one():
    text = "[" + ", ".join(f"0.{k}123" for k in range(20)) + "]"
    pieces = L.break_form(text, 30, measure, fold=True)
    assert len(pieces) > 1 and " ".join(pieces) == text
    assert all(len(p) <= 30 for p in pieces)
    assert all(re.fullmatch(r"\[?(0\.\d+, )*0\.\d+[,\]]?", p) for p in pieces)


def test_a_wide_table_is_split_repeating_its_key_columns():
    w = Working(kind="test", title="wide")
    w.section("S").table(["epoch", "j"] + [f"c_{k}" for k in range(12)],
                         [[1, k] + [0.123456 * (k + 1) * m for m in range(12)] for k in range(3)])
    t = terminal_text(w, width=60)
    assert max(L.text_width(ln) for ln in t.splitlines()) <= 60
    doc = L.layout(w, terminal.metrics(58))
    table = doc.groups[0].items[0]
    assert len(table.parts) > 1
    assert all(p.columns[:2] == [0, 1] for p in table.parts)
    assert sorted({k for p in table.parts for k in p.columns}) == list(range(14))


def test_the_broken_vector_check_finds_one():
    assert broken_vectors("│ [1, −1,  │ 2 │\n│  −1]     │   │")
    assert not broken_vectors("│ [0, ∞) │ [1, −1, −1] │ 0.5 │")


def test_a_vector_too_wide_for_any_cell_stands_upright():
    w = Working(kind="test", title="tall")
    w.section("S").table(["t", "x"], [[1, np.linspace(0.1, 2.2, 30) + 1e-5]])
    text = terminal_text(w, width=60)
    assert not broken_vectors(text)
    assert max(L.text_width(ln) for ln in text.splitlines()) <= 60
    assert "⎡" in text and "⎣" in text


def test_one_column_one_number_of_decimals():
    w = Working(kind="test", title="decimals", precision=4)
    w.section("S").table(["t", "norm", "given"], [[1, 1.8, 0.5], [2, 2.41501234, 0.25], [3, 3.0, 1.0]])
    t = L.layout(w, terminal.metrics(78)).groups[0].items[0]
    col = [r[1].text for r in t.head]
    assert col == ["1.8000", "2.4150", "3.0000"]
    assert [r[2].text for r in t.head] == ["0.5", "0.25", "1"]  # all given: as given
    assert [r[0].text for r in t.head] == ["1", "2", "3"]


def test_matrices_are_matrices_in_the_terminal():
    fmt = NumberFormat(4, "unicode")
    assert fmt.matrix([[1, 2], [3, -4]]) == "[1, 2; 3, −4]"
    assert fmt.matrix_lines([[1, 2], [3, -4]]) == ["⎡1   2⎤", "⎣3  −4⎦"]
    assert fmt.column([1, 2]) == "[1; 2]"
    w = Working(kind="test", title="m")
    s = w.section("S")
    a, b = E.Sym("a", np.array([0.1, 0.2])), E.Sym("h", np.array([0.3, 0.4, 0.5]))
    s.step("outer", r"\Delta W", E.Outer(a, b))
    text = terminal_text(w)
    assert "[0.1; 0.2] [0.3, 0.4, 0.5]" in text  # a column times a row, not two lists
    assert "⎡" in text and "⎣" in text and "[[" not in text


def test_component_lines_have_a_left_hand_side():
    assert L.component_lhs("h", "2") == "{h}_{2}"
    assert L.component_lhs("h_{1}", "2") == r"\left(h_{1}\right)_{2}"
    assert L.component_lhs(r"\delta^{(2)}", "1") == r"{\delta^{(2)}}_{1}"


def test_subscripts_are_all_unicode_or_all_underscores_in_one_line():
    assert needs_plain_scripts("W_f x_{1}") and not needs_plain_scripts("W_i x_{1}")
    assert to_unicode("W_f x_{1} + U_f h_{t-1}", plain_scripts=True) == "W_f x_1 + U_f h_(t−1)"
    assert to_unicode(r"W_i x_{1}") == "Wᵢ x₁"
    assert to_unicode(r"\sqrt{x}") == "√x" and to_unicode(r"\sqrt{a + b}") == "√(a + b)"
    w = Working(kind="test", title="s")
    w.section("S").step("gate", "f_{1}", E.Sym("W_f", 0.5) * E.Sym("x_{1}", 2.0))
    line = [ln for ln in terminal_text(w).splitlines() if "=" in ln][0]
    assert "f_1 = W_f x_1" in line


def test_the_title_is_the_problems_own():
    for name, w in solved()[:10]:
        if w.title:
            for fmt in ("markdown", "terminal", "html", "latex"):
                text = registry.render(w, fmt)
                assert "nnsolve · " + w.kind + " — " not in text, (name, fmt)
            assert registry.render(w, "markdown").startswith("# ")


def test_the_registry_finds_formats_by_name_alias_and_extension():
    assert registry.get("md").name == "markdown" and registry.get("tex").name == "latex"
    assert registry.by_extension(".html").name == "html" and registry.by_extension(".tex").name == "latex"
    assert registry.by_extension(".json").name == "json" and registry.by_extension(".xyz") is None
    with pytest.raises(KeyError):
        registry.get("nope")


def test_a_new_format_is_one_registration(run_cli, tmp_path):
    registry.register("shout", lambda w, full=False: (w.title or "").upper() + "\n", extensions=(".shout",))
    try:
        problem = str(ROOT / "problems" / "lstm_seed.yaml")
        code, out, err = run_cli("run", problem, "--format", "shout")
        assert code == 0 and out.strip() == "LSTM FORWARD PASS (SEED 000)", err
        code, _, err = run_cli("export", problem, "-o", str(tmp_path / "x.shout"))
        assert code == 0, err
        assert (tmp_path / "x.shout").read_text().startswith("LSTM")
    finally:
        registry._REGISTRY.pop("shout", None)


def test_unknown_format_is_a_usage_error(run_cli):
    code, _, err = run_cli("run", str(ROOT / "problems" / "lstm_seed.yaml"), "--format", "pdf")
    assert code == 2 and "not a format" in err and "html" in err


def test_no_doubled_brackets_or_sqrt_as_a_name_in_the_terminal():
    """0.5 · ((1 − 0.5227)²) and sqrt(…) were in the working once (issue #14)."""
    bad = []
    for name, w in solved():
        text = terminal_text(w)
        bad += [f"{name}: {m.group(0)}" for m in re.finditer(r"\(\([^()]*\)[²³⁴]\)", text)]
        bad += [f"{name}: sqrt(" for _ in re.finditer(r"(?<![A-Za-z_])sqrt\(", text)]
    assert not bad, "\n".join(bad[:10])


def test_split_equals_only_at_the_top_level():
    tex = r"\sigma\left(a = b\right) = 0.5 = \begin{bmatrix}1 = 2\end{bmatrix}"
    assert L.split_equals(tex) == [r"\sigma\left(a = b\right)", "0.5", r"\begin{bmatrix}1 = 2\end{bmatrix}"]
