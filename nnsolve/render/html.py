"""The HTML renderer: one self-contained page that works offline, on a phone and on paper.

- Mathematics as MathML (made here by latex2mathml from the same LaTeX the Markdown
  export writes): every current browser draws it, with no script, no font and no
  request to any server; the file has no external URL in any src or href.
- The answers first (every value of the results, at the file's precision), then the
  working; the per-step sections of a long problem fold into <details> (opened for
  printing).
- Tables are split by the layout pass to fit an A4 page; on a narrow screen a wide
  formula or table scrolls sideways instead of breaking.
"""
from __future__ import annotations

import html
import re
from functools import lru_cache

import numpy as np

from ..errors import visible
from ..notation import to_unicode
from ..numfmt import NumberFormat
from ..working import Working
from .layout import (LAYOUT, Cell, Chain, Document, Formula, Metrics, Para, Row, TableD, layout,
                     Rules, column_header, measure_tex, split_equals, with_rules)

OPEN_DETAILS_MOST = 3  # with more per-step sections than this, each folds into <details>
ANSWERS_SHORT = 4  # a result with more numbers goes into "All results" (folded)
ANSWERS_FIRST = 12  # at most this many short results in the box; the others are folded too

_INLINE_MATH = re.compile(r"\$([^$]+)\$")


@lru_cache(maxsize=4096)
def mathml(tex: str, display: bool = False) -> str:
    """LaTeX as MathML; text that latex2mathml cannot read shows as Unicode, never lost."""
    tex = " ".join(str(tex).split())
    if not tex:
        return ""
    if "\\frac" not in tex and "\\begin" not in tex and "\\sum" not in tex:
        # brackets around numbers need not stretch (stretchy ones get wide spaces in MathML)
        tex = re.sub(r"\\(?:left|right)(?:\.|(?=[()\[\]|]))", "", tex)
    try:
        from latex2mathml.converter import convert
        out = convert(tex, display="block" if display else "inline")
    except Exception:  # a construct it does not know: the Unicode form, as the terminal shows it
        return '<span class="math-text">' + html.escape(to_unicode(tex)) + "</span>"
    out = out.replace(' xmlns="http://www.w3.org/1998/Math/MathML"', "")
    # characters as themselves (a third of the page's size), the HTML ones kept escaped
    return _ENTITY.sub(_char, out)


_ENTITY = re.compile(r"&#x([0-9A-Fa-f]+);")


def _char(m) -> str:
    ch = chr(int(m.group(1), 16))
    return {"<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;"}.get(ch, ch)


def esc(text: str) -> str:
    return html.escape(visible(str(text), keep_newlines=True), quote=True)


def inline(text: str) -> str:
    """Text with $…$ inline math: the text escaped, the math as MathML."""
    text = visible(str(text), keep_newlines=True)
    out, pos = [], 0
    for m in _INLINE_MATH.finditer(text):
        out.append(html.escape(text[pos:m.start()]))
        out.append(mathml(m.group(1).strip()))
        pos = m.end()
    out.append(html.escape(text[pos:]))
    return "".join(out)


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", str(text).strip()) if p.strip()]


def _para(b: Para) -> str:
    cls = {"note": "note", "result": "result", "warning": "warning", "skipped": "skipped"}.get(b.kind, "text")
    out = []
    for p in _paragraphs(b.text):
        body = inline(p)
        if b.kind == "warning":
            body = "<strong>Warning:</strong> " + body
        out.append(f'<p class="{cls}">{body}</p>')
    return "\n".join(out)


def _pieces(text: str) -> str:
    """The parts of a row, each '= part' its own box: a narrow screen wraps them at '=',
    each wrapped part starting under the first '='."""
    return "".join('<span class="p"><span class="e">=</span>' + mathml(p) + "</span>" for p in split_equals(text))


def _row(r: Row, lhs_shown: bool = True) -> str:
    if r.kind == "first":
        return '<div class="row"><span class="l">' + mathml(r.lhs) + '</span><span class="r">' + _pieces(r.text) + "</span></div>"
    if r.kind == "eq":
        return '<div class="row"><span class="l"></span><span class="r">' + _pieces(r.text) + "</span></div>"
    return '<div class="row"><span class="l"></span><span class="r cont">' + mathml(r.text) + "</span></div>"


def _chain(c: Chain) -> str:
    out = ['<div class="step">']
    if c.label:
        out.append('<p class="label">' + inline(" ".join(c.label.split())) + "</p>")
    out.append('<div class="chain">')
    for st in c.steps:
        for r in st.rows:
            out.append(_row(r, True))
        for _, rows in st.components:
            for r in rows:
                out.append(_row(r, True))
    out.append("</div>")
    if c.note:
        out.append(_para(Para(c.note, "note")))
    out.append("</div>")
    return "\n".join(out)


def _header(c) -> str:
    return column_header(c, inline, esc, mathml)


def _cell(c: Cell) -> str:
    if c.kind == "empty":
        return ""
    if c.kind == "number":
        return mathml(c.text)
    text = c.text
    if isinstance(c.value, str):
        if "$" in text:
            return inline(text)
        if "\\" in text or "_" in text or "^" in text:
            return mathml(text)
    return esc(text)


def _table(t: TableD) -> str:
    out = []
    rows = t.head + t.tail
    for n, part in enumerate(t.parts):
        cap = inline(" ".join(t.title.split())) if t.title else ""
        if n:
            cap = (cap + " " if cap else "") + "(continued)"
        if cap:  # above the table, as wide as the text (a caption would wrap to a narrow table)
            out.append(f'<p class="caption">{cap}</p>')
        out.append('<div class="table-wrap"><table>')
        out.append("<thead><tr>" + "".join(f'<th scope="col">{_header(t.columns[k])}</th>' for k in part.columns)
                   + "</tr></thead><tbody>")
        for r in rows:
            out.append("<tr>" + "".join(f"<td>{_cell(r[k])}</td>" for k in part.columns) + "</tr>")
        out.append("</tbody></table></div>")
    if t.note:
        out.append(_para(Para(t.note, "note")))
    return "\n".join(out)


def _formula(b: Formula) -> str:
    if b.label:
        return '<li>' + inline(" ".join(b.label.split())) + ": " + mathml(b.tex) + "</li>"
    return '<div class="display">' + mathml(b.tex, display=True) + "</div>"


# -- the answers ------------------------------------------------------------------------------

def _leaves(v, path=""):
    """(path, value) for every number or array of numbers of the results."""
    if isinstance(v, dict):
        for k, x in v.items():
            yield from _leaves(x, f"{path}.{k}" if path else str(k))
        return
    if isinstance(v, (list, tuple)) and v and any(isinstance(x, (dict, list, tuple, np.ndarray)) for x in v):
        try:
            a = np.asarray(v, dtype=float)
            yield path, a
            return
        except (TypeError, ValueError):
            for i, x in enumerate(v):
                yield from _leaves(x, f"{path}[{i + 1}]")
            return
    if isinstance(v, (bool, np.bool_, str)) or v is None:
        yield path, v
        return
    try:
        yield path, np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        yield path, str(v)


def _value_text(v, fmt: NumberFormat) -> str:
    """A result value as numbers at the file's precision (plain text: easy to copy)."""
    if v is None:
        return "—"
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, str):
        return esc(v)
    a = np.asarray(v)
    if a.ndim == 0:
        return esc(fmt.scalar(a.item()))
    if a.ndim == 1:
        return esc("[" + ", ".join(fmt.scalar(x) for x in a) + "]")
    if a.ndim == 2:
        return "<br>".join(esc("[" + ", ".join(fmt.scalar(x) for x in r) + "]") for r in a)
    return "<br>".join(esc(fmt.value(x)) for x in a)  # one line per matrix: [1, 2; 3, 4]


def _answers(doc: Document) -> str:
    fmt = NumberFormat(doc.precision, "unicode")
    short, long = [], []
    for path, v in _leaves(doc.results):
        size = np.asarray(v).size if not isinstance(v, (str, bool, np.bool_)) and v is not None else 1
        # a history's records and longer values go to "All results" (folded)
        (short if size <= ANSWERS_SHORT and "[" not in path else long).append((path, v))
    if len(short) > ANSWERS_FIRST:
        # the box shows the final answers at a glance, not a wall: the last ones the working
        # computed (updated weights, the loss after, …); the earlier ones are folded too
        short, long = short[-ANSWERS_FIRST:], short[:-ANSWERS_FIRST] + long
    short = [f'<div class="ans"><code>{esc(p)}</code> <span class="num">{_value_text(v, fmt)}</span></div>'
             for p, v in short]
    long = [f'<tr><th scope="row"><code>{esc(p)}</code></th><td class="num">{_value_text(v, fmt)}</td></tr>'
            for p, v in long]
    if not short and not long:
        return ""
    out = ['<section class="answers"><h2>Answers</h2>']
    if short:
        out.append('<div class="answer-grid">' + "".join(short) + "</div>")
    if long:
        out.append(f"<details{' open' if not short else ''}><summary>All results ({len(long)} more "
                   f"{'value' if len(long) == 1 else 'values'})</summary>"
                   '<div class="table-wrap"><table class="results"><tbody>' + "".join(long)
                   + "</tbody></table></div></details>")
    out.append("</section>")
    return "\n".join(out)


CSS = """
:root { color-scheme: light; --ink: #1b1b1f; --muted: #5b5d66; --rule: #d5d7de; --accent: #2a4d8f; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; color: var(--ink); background: #fff; font: 16px/1.5 system-ui, -apple-system, "Segoe UI",
       Roboto, "Noto Sans", "DejaVu Sans", sans-serif; }
main { max-width: 52rem; margin: 0 auto; padding: 1rem 1rem 3rem; }
h1 { font-size: 1.6rem; line-height: 1.25; margin: .5rem 0 .25rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 .5rem; padding-bottom: .2rem; border-bottom: 1px solid var(--rule); }
h3 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
.kind { color: var(--muted); margin: 0 0 1rem; font-size: .9rem; }
math { font-size: 1.05em; }
math[display="block"] { margin: .3rem 0; }
.step { margin: .6rem 0 .9rem; break-inside: avoid; }
.label { font-weight: 600; margin: 0 0 .15rem; }
.chain { display: grid; grid-template-columns: max-content minmax(0, 1fr); column-gap: .4rem;
         row-gap: .15rem; align-items: baseline; overflow-x: auto; overflow-y: hidden; padding: .3rem 0 .3rem .8rem; }
.chain .row { display: contents; }
.chain .l { text-align: right; }
.chain .r { min-width: 0; display: flex; flex-wrap: wrap; column-gap: .45rem; row-gap: .1rem; align-items: baseline; }
.chain .p { white-space: nowrap; }
.chain .e { padding-right: .45rem; }
.chain .cont { padding-left: 1.8rem; display: block; }
.note { font-style: italic; color: #5a4a00; background: #fffbe6; border-left: 3px solid #e0c200;
        padding: .3rem .6rem; margin: .4rem 0; }
.result { font-weight: 600; }
.warning { background: #fdecea; border-left: 3px solid #c62828; padding: .3rem .6rem; }
.skipped { color: var(--muted); font-style: italic; }
.table-wrap { overflow-x: auto; overflow-y: hidden; margin: .5rem 0 1rem; max-width: 100%; }
table { border-collapse: collapse; font-size: .92rem; }
.caption { font-weight: 600; margin: .8rem 0 .1rem; break-after: avoid; }
.answer-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(19rem, 1fr)); gap: .15rem 1.5rem; }
.ans { display: flex; flex-wrap: wrap; gap: 0 .6rem; align-items: baseline; border-bottom: 1px solid #dde5f3; padding: .15rem 0;
       break-inside: avoid; }
.ans code { flex: 0 0 auto; min-width: 6rem; color: var(--muted); }
.ans .num { font-variant-numeric: tabular-nums; white-space: nowrap; overflow-x: auto; max-width: 100%; }
th, td { padding: .25rem .6rem; border-bottom: 1px solid var(--rule); text-align: right; vertical-align: middle; }
thead th { border-bottom: 2px solid var(--ink); }
table.results th { text-align: left; font-weight: normal; }
table.results td { font-variant-numeric: tabular-nums; text-align: left; white-space: nowrap; }
.answers { background: #f4f7fc; border: 1px solid #c9d6ee; border-radius: .4rem; padding: .2rem 1rem .6rem; }
.answers h2 { margin-top: .6rem; border: 0; }
details { margin: .6rem 0; }
details > summary { cursor: pointer; font-weight: 600; color: var(--accent); }
details.section > summary { font-size: 1.1rem; }
ul.rules { padding-left: 1.2rem; }
.math-text { font-style: italic; }
footer { color: var(--muted); font-size: .8rem; margin-top: 3rem; }
@media (max-width: 30rem) {
  body { font-size: 15px; }
  main { padding: .6rem .6rem 2rem; }
  .chain { padding-left: 0; }
  th, td { padding: .2rem .35rem; }
}
@media print {
  @page { size: A4; margin: 14mm 12mm; }
  body { font-size: 10pt; }
  main { max-width: none; padding: 0; }
  .table-wrap, .chain { overflow: visible; }
  table { font-size: 8.5pt; }
  h2, h3, caption, .label { break-after: avoid; }
  tr, .step { break-inside: avoid; }
  details > summary { list-style: none; color: var(--ink); }
  .answers { background: none; }
  a { color: inherit; text-decoration: none; }
}
"""

# Opens every folded section before printing (closed <details> would not print).
SCRIPT = ("window.addEventListener('beforeprint',function(){"
          "document.querySelectorAll('details').forEach(function(d){d.open=true;});});")


METRICS = Metrics(style="latex", width=LAYOUT.page_width, measure=measure_tex,
                  table_width=LAYOUT.page_width, measure_cell=measure_tex, every_row=True)


def render(working: Working, full: bool = False) -> str:
    """The working as one HTML page (UTF-8, ends with a newline)."""
    doc = layout(working, METRICS, full, lead=0, header_measure=measure_tex)
    details = sum(1 for s in working.sections if s.detail) > OPEN_DETAILS_MOST
    body = [f"<h1>{inline(doc.title)}</h1>",
            f'<p class="kind">nnsolve · {esc(doc.kind)}' + (f" · {esc(working.source.split('/')[-1])}"
                                                           if working.source else "") + "</p>"]
    answers = _answers(doc)
    if answers:
        body.append(answers)
    for g in doc.groups:
        parts: list[str] = []
        for b in with_rules(g.items):
            if isinstance(b, Rules):
                parts.append('<ul class="rules">' + "".join(_formula(f) for f in b) + "</ul>")
            elif isinstance(b, Chain):
                parts.append(_chain(b))
            elif isinstance(b, TableD):
                parts.append(_table(b))
            elif isinstance(b, Para):
                parts.append(_para(b))
            elif isinstance(b, Formula):
                parts.append(_formula(b))
        if not g.title:
            body.extend(parts)
            continue
        level = max(2, min(6, g.level))
        title = inline(" ".join(g.title.split()))
        if g.detail and details:
            body.append(f'<details class="section"><summary>{title}</summary>\n' + "\n".join(parts) + "\n</details>")
        else:
            body.append(f"<section><h{level}>{title}</h{level}>\n" + "\n".join(parts) + "\n</section>")
    body.append('<footer>Worked by nnsolve. Every number is rounded for display only; each step uses '
                'the full value.</footer>')
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{esc(doc.title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
            + "\n".join(body) + f"\n</main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n")


from .registry import register  # noqa: E402

register("html", render, extensions=(".html", ".htm"), work="markdown",
         summary="one self-contained page: MathML, answers first, prints on A4")
