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

import functools
import re

from ..errors import visible
from ..working import Working
from .layout import (LAYOUT, Cell, Chain, Document, Formula, Metrics, Para, Row, TableD, layout,
                     Rules, column_header, measure_tex, with_rules)

# A chain longer than this (LaTeX characters) is written one form per line.
LONG_CHAIN = LAYOUT.chain_width

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


@functools.lru_cache(maxsize=16384)  # pure: a page writes the same formulas and numbers often
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


def _row_tex(r: Row, aligned: bool) -> str:
    if r.kind == "first":
        return (r.lhs + " &= " + r.text) if aligned else (r.lhs + " = " + r.text)
    if r.kind == "eq":
        return "&= " + r.text
    return r"&\quad " + r.text


def _rows_of(c: Chain) -> list[Row]:
    rows: list[Row] = []
    for st in c.steps:
        rows += st.rows
        for _, crows in st.components:
            rows += crows
    return rows


def _chain(c: Chain) -> list[str]:
    """A step (or consecutive steps under one label) as one aligned display."""
    out = []
    if c.label:
        out.append("**" + inline(" ".join(c.label.split())) + "**")
    rows = _rows_of(c)
    if len(rows) == 1:
        out.append(_display([_row_tex(rows[0], False)]))
    else:
        out.append(_display([_row_tex(r, True) for r in rows]))
    if c.note:
        out.append(_styled(c.note, "note"))
    return out


def _header(c) -> str:
    return column_header(c, lambda t: inline(t, in_table=True), _escape_text, lambda t: _math_inline(t, in_table=True))


def _cell(c: Cell) -> str:
    if c.kind == "empty":
        return ""
    if c.kind == "number":
        return _math_inline(c.text, in_table=True)
    text = c.text
    if not isinstance(c.value, str):
        return _escape_text(text)
    if "$" in text:
        return inline(text, in_table=True)
    if "\\" in text or "_" in text or "^" in text:
        return _math_inline(text, in_table=True)
    return _escape_text(text)


def _table(t: TableD) -> list[str]:
    out = []
    if t.title:
        out.append("**" + inline(" ".join(t.title.split())) + "**")
    if not t.columns:
        return out
    rows = t.head + t.tail
    for n, part in enumerate(t.parts):
        if n:
            out.append("*(continued: " + ", ".join(_header(t.columns[k]) or "–" for k in part.columns[1:]) + ")*")
        lines = ["| " + " | ".join(_header(t.columns[k]) for k in part.columns) + " |",
                 "|" + "|".join("---:" for _ in part.columns) + "|"]
        for r in rows:
            lines.append("| " + " | ".join(_cell(r[k]) for k in part.columns) + " |")
        out.append("\n".join(lines))
    if t.note:
        out.append(_styled(t.note, "note"))
    return out


def _math(b: Formula) -> str:
    if b.label:
        return "- " + inline(" ".join(b.label.split())) + ": " + _math_inline(b.tex)
    return _display([b.tex])


def _measure(tex: str) -> int:
    return len(tex)


METRICS = Metrics(style="latex", width=LAYOUT.chain_width, measure=_measure,
                  table_width=LAYOUT.page_width, measure_cell=measure_tex, every_row=True)


def document(working: Working, full: bool = False) -> Document:
    return layout(working, METRICS, full, lead=0, header_measure=measure_tex)


def render(working: Working, full: bool = False) -> str:
    """The working as a Markdown document (ends with a newline)."""
    doc = document(working, full)
    blocks: list[str] = ["# " + inline(doc.title)]
    for g in doc.groups:
        if g.title:
            blocks.append("#" * max(2, min(6, g.level)) + " " + inline(" ".join(g.title.split())))
        for b in with_rules(g.items):  # consecutive labelled formulas make one list
            if isinstance(b, Rules):
                blocks.append("\n".join(_math(f) for f in b))
            elif isinstance(b, Chain):
                blocks.extend(_chain(b))
            elif isinstance(b, TableD):
                blocks.extend(_table(b))
            elif isinstance(b, Para):
                if b.kind == "skipped":
                    blocks.append("*… " + _escape_text(b.text) + "*")
                    continue
                text = _styled(b.text, b.kind)
                if text:
                    blocks.append(text)
            elif isinstance(b, Formula):
                blocks.append(_math(b))
    return "\n\n".join(blocks) + "\n"


from .registry import register  # noqa: E402

register("markdown", render, extensions=(".md", ".markdown"), aliases=("md",), work="markdown",
         summary="for notes and answer keys ($…$ math, GitHub tables)")
