"""The Markdown renderer: the same working as the terminal, for notes and answer keys.

The dialect is the one GitHub, Jupyter, Obsidian and VS Code all render: ATX headings,
GitHub pipe tables, ``$…$`` inline and ``$$…$$`` display mathematics (KaTeX/MathJax).
Every formula comes from the same FormulaPrinter as the terminal, with LaTeX numbers,
so the two show the same thing. The text outside mathematics is escaped; in the
mathematics, backslash-punctuation commands that some readers take for Markdown escapes
(``\\\\`` between matrix rows, ``\\{``, ``\\,``) are spelled out (``\\cr``, ``\\lbrace``,
``\\thinspace``) and a ``|`` inside a table cell becomes ``\\vert`` (a pipe would split
the cell).
"""
from __future__ import annotations

import re

import numpy as np

from ..errors import visible
from ..numfmt import NumberFormat
from ..working import Math, Step, Table, Text, Working
from .common import StepLines, cell, fmt_for, step_lines, visible_sections
from .formula import FormulaPrinter

# A chain longer than this (LaTeX characters) is written one form per line.
LONG_CHAIN = 110

# $…$ inline math inside a solver's text (dollars paired in order, as the terminal does).
_INLINE_MATH = re.compile(r"\$([^$]+)\$")
# Characters that mean something to Markdown in running text.
_ESCAPE = re.compile(r"([\\`*\[\]<~|$#]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])|&(?=#?[A-Za-z0-9]+;))")


def _escape_text(text: str) -> str:
    """Plain text (no math) made literal for Markdown; control characters of the problem
    file (a terminal escape sequence in a title) shown escaped."""
    text = _ESCAPE.sub(r"\\\1", visible(text, keep_newlines=True))
    # A line that would start a list, quote or heading, or an ordered list item.
    text = re.sub(r"(?m)^(\s*)([-+=>])", r"\1\\\2", text)
    text = re.sub(r"(?m)^(\s*\d+)([.)])(?=\s|$)", r"\1\\\2", text)
    return text


def _math_inline(tex: str, in_table: bool = False) -> str:
    tex = portable(" ".join(tex.split()), in_table)  # a formula on one line
    return f"${tex}$" if tex else ""


# Backslash + punctuation is also a Markdown escape, and some readers (GitHub among them)
# apply it inside $…$ too: \\ between matrix rows turns into \, \{ into {, \, into a
# comma. Each has a spelled-out equivalent that every reader leaves alone.
_PORTABLE = {"\\\\": r"\cr", "\\,": r"\thinspace", "\\:": r"\medspace", "\\>": r"\medspace",
             "\\;": r"\thickspace", "\\!": r"\negthinspace", "\\{": r"\lbrace", "\\}": r"\rbrace",
             "\\|": r"\Vert"}


def portable(tex: str, in_table: bool = False) -> str:
    r"""LaTeX that reads the same in every Markdown reader: the commands of _PORTABLE
    spelled out (\\ becomes \cr, except \\[4pt]); in a table cell, where even inside $…$
    a pipe splits the cell, | becomes \vert."""
    def swap(m):
        tok = m.group(0)
        nxt = tex[m.end():m.end() + 1]
        if tok == "|":
            name = r"\vert" if in_table else tok
        elif tok == "\\\\" and nxt == "[":
            name = tok
        else:
            name = _PORTABLE.get(tok, tok)
        if name != tok and name[-1].isalpha() and nxt.isalpha():
            name += " "
        return name
    return re.sub(r"\\(?:[A-Za-z]+|.)|\|", swap, tex)


def inline(text: str, in_table: bool = False) -> str:
    """Text with $…$ inline math: the text escaped, the math kept (trimmed, one line)."""
    text = visible(text, keep_newlines=True)
    out, pos = [], 0
    for m in _INLINE_MATH.finditer(text):
        out.append(_escape_text(text[pos:m.start()]))
        tex = m.group(1).strip()
        if tex:
            out.append(_math_inline(tex, in_table))
        pos = m.end()
    out.append(_escape_text(text[pos:]))
    return "".join(out)


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]


def _styled(text: str, kind: str) -> str:
    """A Text block: note in italics, result in bold, warning as a quote; one paragraph
    per blank-line-separated part (emphasis cannot span paragraphs)."""
    out = []
    for p in _paragraphs(text):
        body = " ".join(inline(p).split("\n"))
        if kind == "note":
            out.append(f"*{body}*")
        elif kind == "result":
            out.append(f"**{body}**")
        elif kind == "warning":
            out.append(f"> **Warning:** {body}")
        else:
            out.append(body)
    return "\n\n".join(out)


# A line that would end the paragraph holding a $$…$$ formula (a list item, quote,
# heading, fence or setext underline) gets an empty group {} in front.
_BLOCK_START = re.compile(r"^(?:[-+*](?:\s|$)|>|#{1,6}(?:\s|$)|\d+[.)](?:\s|$)|```|~~~|[-=_*\s]+$)")


def _display(rows: list[str]) -> str:
    """A display formula; several rows are aligned at their '&', each row ending its line
    with \\\\ (there every reader keeps it)."""
    rows = [portable(r) for r in rows]
    if len(rows) == 1:
        body = rows[0]
    else:
        body = "\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"
    lines = [ln.strip() for ln in body.splitlines() if ln.strip()]  # a blank line ends a paragraph
    lines = ["{}" + ln if _BLOCK_START.match(ln) else ln for ln in lines]
    return "$$\n" + "\n".join(lines) + "\n$$"


def _value_tex(step: Step, lines: StepLines, fmt: NumberFormat) -> str:
    shape = np.shape(step.value)
    if step.expr.size > 64:  # as the terminal: too many to write out
        return r"\left(" + r" \times ".join(map(str, shape)) + r"\ \text{values}\right)"
    return lines.value


def _chain_rows(lead: str, forms: list[str], value: str) -> list[str]:
    """'lead &= form = form = value' on one row, or one form per row when long."""
    parts = forms + [value]
    lead = (lead + " &= ") if lead else "&= "
    if sum(len(p) for p in parts) <= LONG_CHAIN or len(parts) == 1:
        return [lead + " = ".join(parts)]
    rows = [lead + parts[0]]
    rows += ["&= " + p for p in parts[1:]]
    return rows


def _step_rows(b: Step, printer: FormulaPrinter, fmt: NumberFormat) -> list[str]:
    """The aligned rows of one step: lhs = symbolic, then the numbers put in, then the
    value; for a short vector, one row per component j (as the terminal)."""
    lines = step_lines(b, printer)
    value = _value_tex(b, lines, fmt)
    rows = [b.lhs + " &= " + lines.symbolic]
    if lines.components:
        for i, forms, v in lines.components:
            rows += _chain_rows(r"j = " + i + r":\quad", forms, v)
    elif lines.forms:
        rows += _chain_rows("", lines.forms, value)
    else:
        rows[0] += " = " + value
    return rows


def _steps(group: list[Step], printer: FormulaPrinter, fmt: NumberFormat) -> list[str]:
    """Consecutive steps under one label (the first step's) make one aligned display."""
    out = []
    if group[0].label:
        out.append("**" + inline(" ".join(group[0].label.split())) + "**")
    rows = []
    for b in group:
        rows += _step_rows(b, printer, fmt)
    if len(rows) == 1:
        rows = [rows[0].replace(" &= ", " = ", 1)]
    out.append(_display(rows))
    if group[-1].note:
        out.append(_styled(group[-1].note, "note"))
    return out


def _is_word(header: str) -> bool:
    """A header with words ('epoch', 'time step', 'W (rows: neurons)') reads as text, not
    as a product of italic letters; symbols (w, dw, \\Delta w, y_i) stay mathematics."""
    return not re.search(r"[\\_^{}]", header) and bool(re.search(r"[A-Za-z]{3,}", header))


def _header(c) -> str:
    c = "" if c is None else str(c)
    if not c.strip():
        return ""
    if "$" in c:
        return inline(c, in_table=True)
    if _is_word(c):
        return _escape_text(c)
    return _math_inline(c, in_table=True)


def _cell(c, fmt: NumberFormat) -> str:
    c = cell(c)
    if c is None:
        return ""
    if isinstance(c, str):
        c = " ".join(c.split())
        if "$" in c:
            return inline(c, in_table=True)
        if "\\" in c or "_" in c or "^" in c:
            return _math_inline(c, in_table=True)
        return _escape_text(c)
    if isinstance(c, (bool, np.bool_)):
        return fmt.scalar(c)
    a = np.asarray(c)
    if a.dtype == object or a.dtype.kind in "USO":
        return _escape_text(" ".join(str(c).split()))
    if a.ndim == 1 and a.size > 1:
        tex = fmt.row_vector(a)  # a vector in a row of a table: in brackets, in one line
    else:
        tex = fmt.value(a)
    return _math_inline(tex, in_table=True)


def _table(b: Table, fmt: NumberFormat) -> list[str]:
    ncol = max([len(b.columns)] + [len(r) for r in b.rows])
    columns = list(b.columns) + [""] * (ncol - len(b.columns))
    out = []
    if b.title:
        out.append("**" + inline(" ".join(b.title.split())) + "**")
    if ncol == 0:
        return out
    lines = ["| " + " | ".join(_header(c) for c in columns) + " |",
             "|" + "|".join("---:" for _ in columns) + "|"]
    for r in b.rows:
        cells = [_cell(c, fmt) for c in r] + [""] * (ncol - len(r))
        lines.append("| " + " | ".join(cells) + " |")
    out.append("\n".join(lines))
    if b.note:
        out.append(_styled(b.note, "note"))
    return out


def _math(b: Math) -> str:
    if b.label:
        return "- " + inline(" ".join(b.label.split())) + ": " + _math_inline(b.tex)
    return _display([b.tex])


def render(working: Working, full: bool = False) -> str:
    """The working as a Markdown document (ends with a newline)."""
    fmt = fmt_for("latex", working.precision)
    printer = FormulaPrinter(fmt)
    heading = f"nnsolve · {working.kind}" + (f" — {working.title}" if working.title else "")
    blocks: list[str] = ["# " + inline(" ".join(heading.split()))]
    for s, skipped in visible_sections(working.sections, full):
        if skipped:
            blocks.append("*… " + _escape_text(skipped) + "*")
            continue
        level = max(2, min(6, s.level))
        blocks.append("#" * level + " " + inline(" ".join(s.title.split())))
        pending_rules: list[str] = []  # consecutive labelled formulas make one list
        group: list[Step] = []  # consecutive steps: the first labelled, the rest not
        for b in s.blocks:
            if isinstance(b, Math) and b.label:
                pending_rules.append(_math(b))
                continue
            if pending_rules:
                blocks.append("\n".join(pending_rules))
                pending_rules = []
            if isinstance(b, Step) and group and not b.label and not group[-1].note:
                group.append(b)
                continue
            if group:
                blocks.extend(_steps(group, printer, fmt))
                group = []
            if isinstance(b, Step):
                group.append(b)
            elif isinstance(b, Table):
                blocks.extend(_table(b, fmt))
            elif isinstance(b, Text):
                text = _styled(b.text, b.kind)
                if text:
                    blocks.append(text)
            elif isinstance(b, Math):
                blocks.append(_math(b))
        if pending_rules:
            blocks.append("\n".join(pending_rules))
        if group:
            blocks.extend(_steps(group, printer, fmt))
    return "\n\n".join(blocks) + "\n"
