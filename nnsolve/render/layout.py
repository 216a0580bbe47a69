"""The one layout pass: what a Working looks like on a page, decided once for every format.

A renderer asks :func:`layout` for a display list and only translates its items to its own
syntax (rich text, Markdown, HTML, LaTeX). Every decision about *what* is shown and *how it
is broken up* lives here, with every threshold in one object (:data:`LAYOUT`):

- which sections show (a long problem keeps its first detailed sections and says so);
- how a step's chain wraps: ``lhs = symbolic`` on the first row, then one row per form
  when the chain is wider than the line, each row starting with ``=`` under the first
  ``=``; a single form still too wide breaks before a top-level ``+`` or ``−``;
- when a short vector is written one component per line (each line with its own
  left-hand side, ``(h_1)_2 = …``);
- when a long table keeps its head and tail, and when a table wider than the page is
  split into several narrower tables that repeat the first (key) column; a vector too
  wide for any cell is written as a column vector, never broken inside;
- one column of a table shows its numbers with one number of decimals (1.8000 next to
  2.4150, not 1.8).

The metric of a format (the number style, the width of a line and how a text is
measured) is the renderer's: see :class:`Metrics`.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np

from ..numfmt import NumberFormat
from ..working import Math, Section, Step, Table, Text, Working
from .formula import FormulaPrinter


@dataclass(frozen=True)
class Layout:
    """Every threshold of the layout, in one place."""
    component_lines: int = 4  # a vector step shows one line per component up to this size
    expand_most: int = 16  # a larger step's value is not written out with numbers put in
    cell_numbers: int = 64  # a step's value or a table cell with more numbers is written as its shape
    table_head: int = 20  # a long table shows these many rows first …
    table_tail: int = 5  # … and these many last
    detail_head: int = 3  # a long problem shows its first detailed sections …
    detail_most: int = 10  # … when it has more than this many (a short problem is worked in full)
    terminal_width: int = 80  # a terminal whose width is unknown
    page_width: int = 90  # characters of a printed line (A4, 10 pt): Markdown, HTML, LaTeX tables
    chain_width: int = 110  # LaTeX characters of a display row before it breaks (Markdown, LaTeX)


LAYOUT = Layout()


def fmt_for(style: str, precision: int) -> NumberFormat:
    return NumberFormat(precision=precision, style=style)


def shape_text(shape) -> str:
    return f"({'×'.join(map(str, shape))} values)"


def cell(c, params: Layout = LAYOUT):
    """A table cell as every renderer writes it: an array of more than ``cell_numbers``
    numbers by its shape (nobody reads a thousand numbers in a cell; the results hold them)."""
    if isinstance(c, np.ndarray) and c.dtype != object and c.size > params.cell_numbers:
        return shape_text(c.shape)
    if isinstance(c, list) and len(c) > params.cell_numbers:
        return shape_text(np.shape(c))
    return c



def _is_word(text: str) -> bool:
    """A header with words ('epoch', 'time step', 'W (rows: neurons)') reads as text, not
    as a product of italic letters; symbols (w, dw, \\Delta w, y_i) stay mathematics."""
    return not re.search(r"[\\_^{}]", text) and bool(re.search(r"[A-Za-z]{3,}", text))


def column_header(c, inline: Callable, word: Callable, math: Callable) -> str:
    """A table's column header in a renderer's terms: empty; text with $…$ (``inline``); words
    (``word``); or a symbol (``math``)."""
    c = "" if c is None else str(c)
    if not c.strip():
        return ""
    if "$" in c:
        return inline(c)
    return word(c) if _is_word(c) else math(c)

# -- steps ------------------------------------------------------------------------------------

@dataclass
class StepLines:
    symbolic: str  # LaTeX of the right-hand side
    forms: list[str]  # LaTeX, with numbers put in, then evaluated further
    value: str  # the value, formatted
    components: list[tuple[str, list[str], str]]  # (index, forms, value) per component


def step_lines(step: Step, printer: FormulaPrinter, params: Layout = LAYOUT) -> StepLines:
    e = step.expr
    comps = []
    size = e.size
    shape = np.shape(e.value)
    if step.components and 1 < size <= params.component_lines and len(shape) == 1:
        for j in range(size):
            comps.append((str(j + 1), printer.chain(e, j), printer.value(e, j)))
    if comps:
        # the whole-vector substitution is long and says nothing the component lines don't
        forms = []
    elif size > params.expand_most:
        forms = []  # too large to write out: the value (or a table) says it
    else:
        forms = printer.chain(e, substitute=step.substitute)
    value = printer.value(e) if size <= params.cell_numbers else shape_text(shape)
    return StepLines(printer.symbolic(e), forms, value, comps)


def component_lhs(lhs: str, j: str) -> str:
    """The left-hand side of component j of a vector: h -> h_{2}; h_{1} -> (h_{1})_{2}."""
    bare = re.sub(r"\{[^{}]*\}", "", re.sub(r"\{[^{}]*\}", "", lhs))
    if "_" in bare or not lhs.strip():
        return r"\left(" + lhs + r"\right)_{" + j + "}"
    return "{" + lhs + "}_{" + j + "}"


def visible_sections(sections: list[Section], full: bool, head: int | None = None, most: int | None = None):
    """Long problems (more than ``most`` per-step detail sections) show the first ``head``
    in full; yields (section, None) or (None, note about what was left out)."""
    head = LAYOUT.detail_head if head is None else head
    most = LAYOUT.detail_most if most is None else most
    detail = [s for s in sections if s.detail]
    if full or len(detail) <= most:
        for s in sections:
            yield s, None
        return
    shown = 0
    skipped = len(detail) - head
    noted = False
    for s in sections:
        if s.detail:
            shown += 1
            if shown > head:
                if not noted:
                    noted = True
                    yield None, (f"{skipped} more detailed sections are summarised in the tables below; "
                                 "run with --full to show every one")
                continue
        yield s, None


def table_rows(rows: list, full: bool, most: int | None = None, params: Layout = LAYOUT):
    """(head rows, tail rows, number left out between them) of a table: a table of more
    than ``most`` rows keeps its first and last rows unless ``full``."""
    head_n, tail_n = params.table_head, params.table_tail
    most = head_n + tail_n + 1 if most is None else most
    if full or len(rows) <= most:
        return rows, [], 0
    return rows[:head_n], rows[-tail_n:], len(rows) - head_n - tail_n


# -- breaking a chain --------------------------------------------------------------------------

_OPEN = re.compile(r"\\left[(\[.|]|\\begin\{[a-z]+\}|[({\[]")
_CLOSE = re.compile(r"\\right[)\].|]|\\end\{[a-z]+\}|[)}\]]")


def _top_level(tex: str):
    """Each index of TEX outside every bracket, brace and environment, and not inside a
    command's name."""
    depth, i = 0, 0
    while i < len(tex):
        m = _OPEN.match(tex, i)
        if m:
            depth += 1
            i = m.end()
            continue
        m = _CLOSE.match(tex, i)
        if m:
            depth = max(0, depth - 1)
            i = m.end()
            continue
        if tex[i] == "\\":  # any other command: skip its name
            i += len(re.match(r"\\(?:[A-Za-z]+|.)", tex[i:]).group(0))
            continue
        if depth == 0:
            yield i
        i += 1


def top_level_breaks(tex: str) -> list[int]:
    """Positions in TEX just before a top-level ' + ' or ' - ' (a binary plus or minus
    outside every bracket, brace and environment): where a long form may break."""
    return [i + 1 for i in _top_level(tex) if i > 0 and tex.startswith((" + ", " - ", " − "), i)]


class Rules(list):
    """Consecutive labelled formulas of a section (its rules): one list in every format."""


def with_rules(items):
    """ITEMS with each run of labelled formulas gathered into one Rules."""
    run = Rules()
    for b in items:
        if isinstance(b, Formula) and b.label:
            run.append(b)
            continue
        if run:
            yield run
            run = Rules()
        yield b
    if run:
        yield run


def _fold(tex: str, width: int, measure: Callable[[str], int]) -> list[str]:
    """Plain text still too wide, cut after a ', ' or '; ' (between the numbers of a
    vector or the rows of a matrix, never inside a number)."""
    out, cur = [], ""
    for tok in re.split(r"(?<=[,;]) ", tex):
        if cur and measure(cur + " " + tok) > width:
            out.append(cur)
            cur = tok
        else:
            cur = (cur + " " + tok) if cur else tok
    out.append(cur)
    return out


def split_equals(tex: str) -> list[str]:
    """TEX cut at each top-level ' = ' (outside brackets, braces and environments)."""
    out, start = [], 0
    for i in _top_level(tex):
        if i >= start and tex.startswith(" = ", i):
            out.append(tex[start:i])
            start = i + 3
    out.append(tex[start:])
    return [p.strip() for p in out]


def break_form(tex: str, width: int, measure: Callable[[str], int], fold: bool = False) -> list[str]:
    """A form too wide for WIDTH split before top-level + / − into pieces that fit (as far
    as the form allows); the pieces after the first start with their operator. FOLD (plain
    text only): a piece still too wide is cut between the numbers of a vector."""
    if measure(tex) <= width:
        return [tex]
    cuts = top_level_breaks(tex)
    if not cuts:
        return _fold(tex, width, measure) if fold else [tex]
    pieces, start, last_ok = [], 0, None
    for c in cuts + [len(tex)]:
        if measure(tex[start:c].strip()) <= width or last_ok is None:
            last_ok = c
            if c == len(tex):
                break
            continue
        pieces.append(tex[start:last_ok].strip())
        start = last_ok
        last_ok = c
    pieces.append(tex[start:].strip())
    pieces = [p for p in pieces if p]
    if fold:
        pieces = [q for p in pieces for q in (_fold(p, width, measure) if measure(p) > width else [p])]
    return pieces


@dataclass
class Row:
    """One row of a chain: ``first`` (lhs = text), ``eq`` (= text under the first =) or
    ``cont`` (the rest of a form that did not fit, indented under the form)."""
    kind: str
    text: str
    lhs: str = ""


def chain_rows(lhs: str, parts: list[str], width: int, measure: Callable[[str], int],
               fold: bool = False) -> list[Row]:
    """LHS = PARTS[0] = PARTS[1] = … on one row when it fits WIDTH, else one part per row,
    each row starting with '=' under the first '=' (a part too wide breaks at + / −)."""
    parts = [p for p in parts if p]
    if not parts:
        return [Row("first", "", lhs)]
    one = " = ".join(parts)
    if measure(lhs + " = " + one) <= width:
        return [Row("first", one, lhs)]
    room = max(20, width - measure(lhs) - 3)
    rows: list[Row] = []
    # Join consecutive short parts (σ(1.75) = 0.8520) while they fit; the first row keeps
    # the symbolic form alone so that the numbers line up under it.
    groups: list[str] = []
    for k, p in enumerate(parts):
        if groups and k > 1 and measure(groups[-1] + " = " + p) <= room:
            groups[-1] = groups[-1] + " = " + p
        else:
            groups.append(p)
    for k, g in enumerate(groups):
        pieces = break_form(g, room - 2, measure, fold)
        rows.append(Row("first" if k == 0 else "eq", pieces[0], lhs))
        rows += [Row("cont", p, lhs) for p in pieces[1:]]
    return rows


# -- the display list --------------------------------------------------------------------------

@dataclass
class Heading:
    text: str  # text with $…$ math
    level: int  # 1: the document's title


@dataclass
class Para:
    text: str  # text with $…$ math
    kind: str = "text"  # text | note | result | warning | skipped


@dataclass
class Chain:
    """One step (or several steps under one label): each with its rows."""
    label: str | None
    steps: list["ChainStep"]
    note: str | None = None


@dataclass
class ChainStep:
    lhs: str
    rows: list[Row]  # lhs = symbolic [= forms = value], wrapped
    components: list[tuple[str, list[Row]]]  # (index, rows with the component's lhs)
    value: str  # formatted value (style of the metrics)
    id: str | None = None
    step: Step | None = None
    precision: int = 4
    block: list[str] | None = None  # plain text: a matrix value as lines, written under the chain


@dataclass
class Formula:
    tex: str
    label: str | None = None


@dataclass
class Cell:
    kind: str  # empty | text | math | number
    text: str  # text (maybe with $…$) or formula in the metrics' style
    lines: int = 1  # how many lines it takes (a column vector or a matrix)
    width: int = 0  # measured width of its widest line
    value: Any = None


@dataclass
class TablePart:
    columns: list[int]  # indices into the table's columns


@dataclass
class TableD:
    title: str | None
    columns: list[str]  # headers (LaTeX / text as given)
    head: list[list[Cell]]
    tail: list[list[Cell]]
    omitted: int
    parts: list[TablePart]  # one part, or several narrower tables repeating the key column
    note: str | None = None


@dataclass
class Group:
    """A section: a heading and its items; ``detail`` sections may fold away (HTML)."""
    title: str
    level: int
    detail: bool
    items: list = field(default_factory=list)


@dataclass
class Document:
    title: str
    kind: str
    groups: list[Group]
    results: dict
    precision: int
    skipped: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Metrics:
    """What a format's line is: the number style of its formulas, its width (characters)
    for chains and tables, and how a formula / a cell text is measured."""
    style: str  # unicode | latex
    width: int
    measure: Callable[[str], int]
    table_width: int | None = None  # default: width
    measure_cell: Callable[[str], int] | None = None  # default: measure
    fold: bool = False  # plain text: a form too wide even after + / − is cut between numbers
    every_row: bool = False  # a document (Markdown, HTML, LaTeX) shows every row of a long table


def title_of(w: Working) -> str:
    """The document's title: the problem's own title; without one, the kind's."""
    if w.title and str(w.title).strip():
        return " ".join(str(w.title).split())
    return f"nnsolve · {w.kind}"


def _fixed_columns(rows: list[list[Any]], fmt: NumberFormat) -> set[int]:
    """The columns whose numbers are shown with a mix of decimals (1.8 next to 2.4150):
    those are written with the precision's decimals throughout."""
    out = set()
    ncol = max((len(r) for r in rows), default=0)
    for k in range(ncol):
        decimals = set()
        for r in rows:
            if k >= len(r):
                continue
            c = cell(r[k])
            if isinstance(c, (str, bool, np.bool_)) or c is None:
                continue
            a = np.asarray(c)
            if a.dtype.kind not in "fi" or a.size == 0:
                continue
            for x in a.reshape(-1):
                s = fmt.scalar(x)
                if "10" in s and ("×" in s or "times" in s):
                    continue
                decimals.add(len(s.split(".")[1]) if "." in s else 0)
        if len(decimals) > 1 and fmt.precision in decimals:
            out.add(k)
    return out


def _cell(c, fmt: NumberFormat, metrics: Metrics, vertical: bool = False) -> Cell:
    c = cell(c)
    measure = metrics.measure_cell or metrics.measure
    if c is None:
        return Cell("empty", "", 1, 0)
    if isinstance(c, str):
        text = " ".join(c.split())
        return Cell("text", text, 1, measure(text), c)
    if isinstance(c, (bool, np.bool_)):
        s = fmt.scalar(c)
        return Cell("text", s, 1, len(s), c)
    a = np.asarray(c)
    if a.dtype == object or a.dtype.kind in "USO":
        text = " ".join(str(c).split())
        return Cell("text", text, 1, len(text), c)
    if a.ndim == 1 and a.size > 1:
        if vertical:  # a column vector: one number a line, never a row broken inside
            if metrics.style == "latex":
                items = [fmt.scalar(x) for x in a]
                return Cell("number", fmt.vector(a), a.size, max(measure(x) for x in items) + 2, a)
            lines = fmt.matrix_lines(a)
            return Cell("number", "\n".join(lines), len(lines), max(text_width(x) for x in lines), a)
        tex = fmt.row_vector(a)
        return Cell("number", tex, 1, measure(tex), a)
    if a.ndim == 2 and a.size > 1:
        if metrics.style == "latex":
            rows = [fmt.row_vector(r) for r in a]
            return Cell("number", fmt.matrix(a), a.shape[0], max(measure(r) for r in rows), a)
        lines = fmt.matrix_lines(a)  # a matrix as a matrix: one row a line, columns aligned
        return Cell("number", "\n".join(lines), len(lines), max(text_width(x) for x in lines), a)
    tex = fmt.value(a)
    return Cell("number", tex, 1, measure(tex), a)


def _parts(widths: list[int], room: int, sep: int, nkey: int = 1) -> list[TablePart]:
    """Column groups that fit ROOM, each repeating the first NKEY columns (the keys)."""
    n = len(widths)
    if n <= 1 or sum(widths) + sep * n + 1 <= room:
        return [TablePart(list(range(n)))]
    nkey = max(1, min(nkey, n - 1))
    keys = list(range(nkey))
    base = sum(widths[:nkey]) + sep * nkey + 1
    parts, cur, used = [], list(keys), base
    for k in range(nkey, n):
        if len(cur) > nkey and used + widths[k] + sep > room:
            parts.append(TablePart(cur))
            cur, used = list(keys), base
        cur.append(k)
        used += widths[k] + sep
    parts.append(TablePart(cur))
    return parts


def _key_columns(cells: list[list["Cell"]], widths: list[int], room: int) -> int:
    """How many leading columns name a row (text or whole numbers: t, epoch, j, i), at
    most two: a table split into narrower tables repeats them in each."""
    n = 0
    for k in range(min(2, len(widths) - 1)):
        col = [r[k] for r in cells]
        def is_key(c):
            if c.kind in ("text", "empty"):
                return True
            v = np.asarray(c.value)
            return v.ndim == 0 and v.dtype.kind in "iu" or (v.ndim == 0 and float(v).is_integer())
        if col and all(is_key(c) for c in col) and sum(widths[:k + 1]) <= room // 3:
            n = k + 1
        else:
            break
    return max(1, n)


def table_display(b: Table, fmt: NumberFormat, metrics: Metrics, full: bool, params: Layout = LAYOUT,
                  header_measure: Callable[[str], int] | None = None) -> TableD:
    ncol = max([len(b.columns)] + [len(r) for r in b.rows])
    columns = list(b.columns) + [""] * (ncol - len(b.columns))
    head, tail, omitted = table_rows(b.rows, full or metrics.every_row, params=params)
    rows = list(head) + list(tail)
    fixed = _fixed_columns(rows, fmt)
    fixed_fmt = NumberFormat(fmt.precision, fmt.style, fixed=True)
    room = metrics.table_width or metrics.width
    sep = 3  # a cell's padding and its rule

    def build(vertical: set[int]):
        out = []
        for r in rows:
            r = list(r) + [None] * (ncol - len(r))
            out.append([_cell(c, fixed_fmt if k in fixed else fmt, metrics, k in vertical) for k, c in enumerate(r)])
        return out

    hm = header_measure or (metrics.measure_cell or metrics.measure)
    vertical: set[int] = set()
    cells = build(vertical)
    widths = [max([hm(str(columns[k] or ""))] + [row[k].width for row in cells]) for k in range(ncol)]
    # a column that cannot fit beside the key column even alone: its vectors stand upright
    key = widths[0] if ncol else 0
    wide = {k for k in range(1, ncol) if key + widths[k] + 2 * sep + 1 > room
            and any(row[k].kind == "number" and np.ndim(row[k].value) == 1 for row in cells)}
    if ncol == 1 and widths and widths[0] + sep + 1 > room:
        wide = {0}
    if wide:
        vertical = wide
        cells = build(vertical)
        widths = [max([hm(str(columns[k] or ""))] + [row[k].width for row in cells]) for k in range(ncol)]
    parts = _parts(widths, room, sep, _key_columns(cells, widths, room)) if ncol else [TablePart([])]
    return TableD(b.title, columns, cells[:len(head)], cells[len(head):], omitted, parts, b.note)


def _step_display(b: Step, printer: FormulaPrinter, metrics: Metrics, params: Layout, lead: int) -> ChainStep:
    lines = step_lines(b, printer, params)
    if metrics.style == "latex" and b.expr.size > params.cell_numbers:  # too many to write out
        shape = np.shape(b.value)
        lines.value = r"\left(" + r" \times ".join(map(str, shape)) + r"\ \text{values}\right)"
    width = metrics.width - lead
    comps = []
    if lines.components:
        rows = [Row("first", lines.symbolic, b.lhs)]
        for i, forms, v in lines.components:
            clhs = component_lhs(b.lhs, i)
            comps.append((i, chain_rows(clhs, forms + [v], width - 2, metrics.measure, metrics.fold)))
    else:
        value = np.asarray(b.value)
        block = None
        if (metrics.style != "latex" and value.ndim == 2 and value.shape[0] > 1
                and value.size <= params.cell_numbers and value.dtype.kind in "fiub"):
            block = printer.fmt.matrix_lines(value)  # a matrix as a matrix, not a list of lists
            parts = [lines.symbolic] + lines.forms
        else:
            parts = [lines.symbolic] + lines.forms + [lines.value]
        rows = chain_rows(b.lhs, parts, width, metrics.measure, metrics.fold)
        return ChainStep(b.lhs, rows, comps, lines.value, b.id, b, printer.fmt.precision, block)
    return ChainStep(b.lhs, rows, comps, lines.value, b.id, b, printer.fmt.precision)


def layout(w: Working, metrics: Metrics, full: bool = False, params: Layout = LAYOUT,
           lead: int = 2, header_measure=None) -> Document:
    """The display list of W for a format with METRICS (LEAD: the indent of a chain)."""
    fmt = fmt_for(metrics.style, w.precision)
    printer = FormulaPrinter(fmt)
    groups: list[Group] = []
    skipped = []
    for s, skip in visible_sections(w.sections, full, params.detail_head, params.detail_most):
        if skip:
            skipped.append(skip)
            groups.append(Group("", 0, False, [Para(skip, "skipped")]))
            continue
        g = Group(s.title, max(2, s.level), s.detail)
        chain: Chain | None = None
        for b in s.blocks:
            if isinstance(b, Step):
                # consecutive steps under one label (the first step's) make one chain
                if chain is not None and not b.label and chain.note is None:
                    chain.steps.append(_step_display(b, printer, metrics, params, lead))
                    chain.note = b.note
                    continue
                chain = Chain(b.label, [_step_display(b, printer, metrics, params, lead)], b.note)
                g.items.append(chain)
                continue
            chain = None
            if isinstance(b, Table):
                g.items.append(table_display(b, fmt, metrics, full, params, header_measure))
            elif isinstance(b, Text):
                g.items.append(Para(b.text, b.kind))
            elif isinstance(b, Math):
                g.items.append(Formula(b.tex, b.label))
        groups.append(g)
    return Document(title_of(w), w.kind, groups, w.results, w.precision, skipped)


def with_params(**changes) -> Layout:
    return replace(LAYOUT, **changes)


# -- measuring -----------------------------------------------------------------------------------

_BMATRIX = re.compile(r"\\begin\{[bp]?matrix\}(.*?)\\end\{[bp]?matrix\}", re.S)


@functools.lru_cache(maxsize=16384)
def text_width(text: str) -> int:
    """Columns TEXT takes on a terminal (combining marks take none, wide characters two)."""
    import unicodedata
    n = 0
    for ch in text:
        if unicodedata.combining(ch) or ch in "\u200b\u200d":
            continue
        n += 2 if unicodedata.east_asian_width(ch) in "WF" else 1
    return n


def measure_tex(tex) -> int:
    """About how many characters a formula takes once typeset: a matrix by its widest row."""
    return _measure_tex(str(tex))


@functools.lru_cache(maxsize=16384)  # a page measures the same formulas and numbers many times
def _measure_tex(tex: str) -> int:
    from ..notation import to_unicode

    def widest(m):
        rows = [r.split("&") for r in re.split(r"\\\\|\\cr", m.group(1))]
        best = max(rows, key=lambda r: sum(len(c.strip()) for c in r))
        return "[" + ", ".join(c.strip() for c in best) + "]"
    text = str(tex)
    for _ in range(3):
        text = _BMATRIX.sub(widest, text)
    if "$" in text:
        text = text.replace("$", "")
    return text_width(to_unicode(text))
