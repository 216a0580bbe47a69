"""The terminal renderer: rich tables and Unicode mathematics."""
from __future__ import annotations

import re

from rich.console import Console, Group
from rich.padding import Padding
from rich.rule import Rule
from rich.table import Table as RichTable
from rich.text import Text as RichText

from ..errors import visible
from ..notation import to_unicode
from ..numfmt import NumberFormat
from ..working import Math, Step, Table, Text, Working
from .common import cell, fmt_for, step_lines, table_rows, visible_sections
from .formula import FormulaPrinter


_STYLE = {"note": "italic yellow", "warning": "bold red", "result": "bold green", "text": ""}


def inline(text: str) -> str:
    """Text with $…$ inline math: the math turned into Unicode; control characters of the
    problem file (a terminal escape sequence in a title) shown escaped, never sent."""
    return visible(re.sub(r"\$([^$]+)\$", lambda m: to_unicode(m.group(1)), text), keep_newlines=True)


def _cell(c, fmt: NumberFormat) -> str:
    c = cell(c)
    if isinstance(c, str):
        return inline(c) if "$" in c else visible(to_unicode(c) if "\\" in c or "_" in c else c)
    if c is None:
        return ""
    return fmt.value(c)


def _step(b: Step, printer: FormulaPrinter) -> list:
    lines = step_lines(b, printer)
    lhs = to_unicode(b.lhs)
    pad = " " * (len(lhs) + 1)
    out = RichText()
    out.append(lhs + " = ", style="bold")
    out.append(to_unicode(lines.symbolic))
    if lines.components:
        for i, forms, value in lines.components:
            out.append(f"\n  j = {i}: ")
            out.append(" = ".join([to_unicode(f) for f in forms] + [to_unicode(value)])
                       if forms else to_unicode(value), style="")
            out.append("")
    else:
        chain = [to_unicode(f) for f in lines.forms]
        if chain:
            out.append("\n" + pad + "= " + " = ".join(chain))
            out.append(" = ")
        else:
            out.append(" = ")
        out.append(to_unicode(lines.value), style="bold cyan")
    parts = [RichText(inline(b.label), style="underline")] if b.label else []
    parts.append(Padding(out, (0, 0, 0, 2)))
    if b.note:
        parts.append(Padding(RichText(inline(b.note), style="italic yellow"), (0, 0, 0, 2)))
    return parts


def _table(b: Table, fmt: NumberFormat, full: bool) -> list:
    t = RichTable(title=inline(b.title) if b.title else None, title_justify="left", header_style="bold")
    for c in b.columns:  # a narrow column wraps its numbers (fold), never cuts digits off (…)
        t.add_column(visible(to_unicode(c)), justify="right", overflow="fold")
    head, tail, omitted = table_rows(b.rows, full)
    for r in head:
        t.add_row(*[_cell(c, fmt) for c in r])
    if omitted:
        t.add_row(*(["⋮"] * len(b.columns)))
        for r in tail:
            t.add_row(*[_cell(c, fmt) for c in r])
    note = f"{omitted} rows not shown; --full shows them all" if omitted else None
    out = [t]
    if b.note:
        out.append(RichText(inline(b.note), style="italic"))
    if note:
        out.append(RichText(note, style="dim"))
    return out


def renderables(w: Working, full: bool = False) -> list:
    fmt = fmt_for("unicode", w.precision)
    printer = FormulaPrinter(fmt)
    out: list = []
    heading = visible(f"nnsolve · {w.kind}" + (f" — {w.title}" if w.title else ""))
    out.append(Rule(RichText(heading, style="bold"), style="blue"))
    for s, skipped in visible_sections(w.sections, full):
        if skipped:
            out.append(RichText("… " + skipped, style="dim"))
            continue
        out.append(RichText(""))
        out.append(RichText(inline(s.title), style="bold magenta" if s.level <= 2 else "bold"))
        for b in s.blocks:
            if isinstance(b, Step):
                out.extend(_step(b, printer))
            elif isinstance(b, Table):
                out.extend(_table(b, fmt, full))
            elif isinstance(b, Text):
                out.append(RichText(inline(b.text), style=_STYLE.get(b.kind, "")))
            elif isinstance(b, Math):
                label = (inline(b.label) + ": ") if b.label else ""
                out.append(Padding(RichText(label + to_unicode(b.tex)), (0, 0, 0, 2)))
    return out


def render(w: Working, console: Console | None = None, full: bool = False) -> None:
    console = console or Console()
    console.print(Group(*renderables(w, full)))
