"""The terminal renderer: rich tables and Unicode mathematics."""
from __future__ import annotations

import os
import re

from rich.console import Console, Group
from rich.padding import Padding
from rich.rule import Rule
from rich.table import Table as RichTable
from rich.text import Text as RichText

from ..errors import visible
from ..notation import needs_plain_scripts, to_unicode
from ..working import Working
from .layout import LAYOUT, Cell, Chain, ChainStep, Formula, Metrics, Para, TableD, layout, text_width


_STYLE = {"note": "italic yellow", "warning": "bold red", "result": "bold green", "text": ""}


def inline(text: str, plain: bool | None = None) -> str:
    """Text with $…$ inline math: the math turned into Unicode (its subscripts all Unicode or,
    when one has no Unicode form, all with _: never a mix in one paragraph); control
    characters of the problem file (a terminal escape sequence in a title) shown escaped."""
    if plain is None:
        plain = _plain_scripts(m.group(1) for m in re.finditer(r"\$([^$]+)\$", text))
    return visible(re.sub(r"\$([^$]+)\$", lambda m: to_unicode(m.group(1), plain_scripts=plain), text),
                   keep_newlines=True)


def _u(tex: str, plain: bool | None = None) -> str:
    return to_unicode(tex, plain_scripts=plain)


def _plain_scripts(texts) -> bool:
    """Whether a step's lines write their subscripts with _ (one of them has no Unicode
    subscript, as f in W_f): then every subscript of the step does, never a mix."""
    return any(needs_plain_scripts(t) for t in texts if t)


def _step(st: ChainStep, width: int) -> list:
    texts = [st.lhs] + [r.text for r in st.rows] + [r.lhs for _, rows in st.components for r in rows] \
        + [r.text for _, rows in st.components for r in rows]
    plain = _plain_scripts(texts)
    out = RichText()
    pad = ""
    for k, r in enumerate(st.rows):
        if k:
            out.append("\n")
        if r.kind == "first":
            lhs = _u(r.lhs, plain)
            pad = " " * text_width(lhs)
            out.append(lhs + " = ", style="bold")
        elif r.kind == "eq":
            out.append(pad + " = ")
        else:
            out.append(pad + "     ")
        last_row = k == len(st.rows) - 1 and not st.components
        text = _u(r.text, plain)
        if last_row and text.endswith(_u(st.value, plain)) and not st.step.expr.size > 64:
            value = _u(st.value, plain)
            out.append(text[:len(text) - len(value)])
            out.append(value, style="bold cyan")
        else:
            out.append(text)
    if st.block:  # a matrix value: its rows under one another, after '='
        for k, ln in enumerate(st.block):
            out.append("\n" + pad + (" = " if k == 0 else "   "))
            out.append(ln, style="bold cyan")
    for _, rows in st.components:
        cpad = ""
        for r in rows:
            out.append("\n")
            if r.kind == "first":
                lhs = _u(r.lhs, plain)
                cpad = " " * (text_width(lhs) + 2)
                out.append("  " + lhs + " = ")
            elif r.kind == "eq":
                out.append(cpad + " = ")
            else:
                out.append(cpad + "     ")
            out.append(_u(r.text, plain))
    return [out]


def _chain(c: Chain, width: int) -> list:
    parts = [RichText(inline(c.label), style="underline")] if c.label else []
    for st in c.steps:
        parts += [Padding(x, (0, 0, 0, 2)) for x in _step(st, width)]
    if c.note:
        parts.append(Padding(RichText(inline(c.note), style="italic yellow"), (0, 0, 0, 2)))
    return parts


def _cell_text(c: Cell) -> str:
    if c.kind == "empty":
        return ""
    if c.kind == "text":
        if isinstance(c.value, str):
            return inline(c.text) if "$" in c.text else visible(to_unicode(c.text) if "\\" in c.text or "_" in c.text else c.text)
        return c.text
    return c.text  # numbers: already written for the terminal (a matrix one row per line)


def _table(t: TableD) -> list:
    out = []
    for n, part in enumerate(t.parts):
        title = inline(t.title) if t.title else None
        if n:
            title = (title + " " if title else "") + "(continued)"
        if title:  # above the table, as wide as the page (a narrow table would wrap it)
            out.append(RichText(title, style="italic"))
        rt = RichTable(header_style="bold")
        for k in part.columns:
            rt.add_column(visible(to_unicode(t.columns[k])), justify="right", no_wrap=True, overflow="fold")
        for r in t.head:
            rt.add_row(*[_cell_text(r[k]) for k in part.columns])
        if t.omitted:
            rt.add_row(*(["⋮"] * len(part.columns)))
            for r in t.tail:
                rt.add_row(*[_cell_text(r[k]) for k in part.columns])
        out.append(rt)
    if t.note:
        out.append(RichText(inline(t.note), style="italic"))
    if t.omitted:
        out.append(RichText(f"{t.omitted} rows not shown; --full shows them all", style="dim"))
    return out


def _measure(tex: str) -> int:
    return text_width(to_unicode(tex))


def metrics(width: int) -> Metrics:
    return Metrics(style="unicode", width=width, measure=_measure, table_width=width,
                   measure_cell=_measure_cell, fold=True)


def _measure_cell(text: str) -> int:
    return max((text_width(to_unicode(ln) if "\\" in ln else ln) for ln in str(text).split("\n")), default=0)


def renderables(w: Working, full: bool = False, width: int | None = None) -> list:
    width = width or LAYOUT.terminal_width
    doc = layout(w, metrics(width - 2), full, lead=2, header_measure=lambda c: text_width(to_unicode(c)))
    out: list = []
    out.append(Rule(RichText(visible(doc.title), style="bold"), style="blue"))
    for g in doc.groups:
        if not g.title:
            for b in g.items:
                out.append(RichText("… " + b.text, style="dim"))
            continue
        out.append(RichText(""))
        out.append(RichText(inline(g.title), style="bold magenta" if g.level <= 2 else "bold"))
        for b in g.items:
            if isinstance(b, Chain):
                out.extend(_chain(b, width))
            elif isinstance(b, TableD):
                out.extend(_table(b))
            elif isinstance(b, Para):
                out.append(RichText(inline(b.text), style=_STYLE.get(b.kind, "")))
            elif isinstance(b, Formula):  # one line: its label's math and the formula agree
                tex = b.tex
                plain = _plain_scripts([tex] + re.findall(r"\$([^$]+)\$", b.label or ""))
                label = (inline(b.label, plain) + ": ") if b.label else ""
                out.append(Padding(RichText(label + to_unicode(tex, plain_scripts=plain)), (0, 0, 0, 2)))
    return out


def render(w: Working, console: Console | None = None, full: bool = False) -> None:
    """Print the working on CONSOLE (standard output); written to a file or a pipe, with
    no trailing spaces."""
    console = console or Console()
    group = Group(*renderables(w, full, console.width))
    if console.is_terminal:
        console.print(group)
        return
    with console.capture() as cap:
        console.print(group)
    console.out(strip_trailing(cap.get()), end="", highlight=False)


_TRAILING = re.compile(r"[ \t]+((?:\x1b\[[0-9;]*m)*)$")


def strip_trailing(text: str) -> str:
    """Every line without the spaces rich pads it with (before any closing colour code)."""
    return "\n".join(_TRAILING.sub(r"\1", ln) for ln in text.split("\n"))


def to_text(w: Working, full: bool = False, width: int | None = None) -> str:
    """The terminal's working as plain text (no colours), WIDTH columns (COLUMNS, else 80)."""
    import io
    if width is None:
        try:
            width = int(os.environ.get("COLUMNS", "")) or LAYOUT.terminal_width
        except ValueError:
            width = LAYOUT.terminal_width
    buf = io.StringIO()
    console = Console(file=buf, width=width, color_system=None, force_terminal=False, legacy_windows=False)
    with console.capture() as cap:
        console.print(Group(*renderables(w, full, width)))
    return strip_trailing(cap.get())


def _emit(w: Working, full: bool = False) -> None:
    render(w, full=full)


from .registry import register  # noqa: E402

register("terminal", to_text, aliases=("text",), work="terminal",
         summary="rich working with Unicode mathematics", emit=_emit)
