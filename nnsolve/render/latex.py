r"""The LaTeX renderer: a standalone document (amsmath, booktabs, longtable) that compiles
with pdflatex, and that a teacher can \input into an answer key.

Standalone: ``pdflatex lstm.tex``. In an answer key whose preamble loads amsmath, amssymb,
booktabs and longtable, define ``\nnsolvebody`` before ``\input``: the file then skips its
own preamble and \end{document} and gives only its body::

    \def\nnsolvebody{}
    \input{lstm.tex}

The body also lies between the lines ``% nnsolve: body begins`` and ``% nnsolve: body
ends``, for a script that cuts it out. Text is escaped for LaTeX, and Unicode characters
that pdflatex cannot typeset (σ, →, ⊙, subscript digits) are written as commands.
"""
from __future__ import annotations

import re
import unicodedata

import numpy as np

from ..errors import visible
from ..notation import GREEK
from ..numfmt import NumberFormat
from ..working import Working
from .layout import (LAYOUT, Cell, Chain, Document, Formula, Metrics, Para, Row, TableD, layout,
                     Rules, column_header, measure_tex, with_rules)

CHAIN_WIDTH = 80  # characters of a typeset display line on A4 at 11 pt before a chain breaks
ANSWERS_SHORT = 4  # results with more numbers are not repeated in the answers
LONG_TABLE = 35  # a table of more rows is a longtable (breaks across pages; needs two runs to align)

# Unicode -> math-mode LaTeX (the reverse of nnsolve.notation, and a few more).
_MATH = {v: "\\" + k + " " for k, v in GREEK.items() if k != "varphi"}
_MATH.update({"⊙": r"\odot ", "·": r"\cdot ", "×": r"\times ", "⊗": r"\otimes ", "→": r"\to ",
              "←": r"\leftarrow ", "≥": r"\geq ", "≤": r"\leq ", "≠": r"\neq ", "≈": r"\approx ",
              "∞": r"\infty ", "…": r"\ldots ", "⋯": r"\cdots ", "∈": r"\in ", "‖": r"\| ",
              "ᵀ": r"^{\top}", "′": "'", "±": r"\pm ", "¬": r"\neg ", "⌊": r"\lfloor ", "⌋": r"\rfloor ",
              "ℓ": r"\ell ", "⋆": r"\star ", "∘": r"\circ ", "∼": r"\sim ", "−": "-", "√": r"\surd ",
              "Σ": r"\Sigma ", "∑": r"\sum ", "∏": r"\prod ", "∂": r"\partial ", "∇": r"\nabla ",
              "∩": r"\cap ", "∪": r"\cup ", "⇒": r"\Rightarrow ", "⇔": r"\Leftrightarrow ", "∀": r"\forall ",
              "∃": r"\exists ", "∅": r"\emptyset ", "⟨": r"\langle ", "⟩": r"\rangle ", "∝": r"\propto ",
              "°": r"^{\circ}", "∣": r"\mid ", "⊂": r"\subset ", "⊆": r"\subseteq ", "∉": r"\notin ",
              "≡": r"\equiv ", "≪": r"\ll ", "≫": r"\gg ", "⊥": r"\perp ", "∗": "*", "ε": r"\varepsilon ",
              "ϵ": r"\epsilon ", "ˣ": "^{x}", "ⁿ": "^{n}", "ⁱ": "^{i}", "ʲ": "^{j}", "ᵗ": "^{t}"})
_MATH.update({c: "_{" + d + "}" for d, c in zip("0123456789+-=()", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎")})
_MATH.update({c: "_{" + d + "}" for d, c in zip("aehijklmnoprstuvx", "ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ")})
_MATH.update({c: "^{" + d + "}" for d, c in zip("0123456789+-=()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾")})
# Text-mode characters T1 encoding has (Latin-1 letters pass through), and some more.
_TEXT = {"–": "--", "—": "---", "‘": "`", "’": "'", "“": "``", "”": "''", "•": r"\textbullet{}",
         "§": r"\S{}", "¶": r"\P{}", "©": r"\copyright{}", "€": "EUR", "\u00a0": "~", "′": "'",
         "…": r"\ldots{}"}
_ACCENTS = {"\u0303": "~", "\u0302": "^", "\u0304": "=", "\u0301": "'", "\u0300": "`", "\u0308": '"',
            "\u0307": "."}
_MATH_ACCENTS = {"\u0303": "tilde", "\u0302": "hat", "\u0304": "bar", "\u0301": "acute", "\u0300": "grave",
                 "\u0308": "ddot", "\u0307": "dot"}
_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
            "^": r"\^{}", "_": r"\_", "%": r"\%", "~": r"\textasciitilde{}", "<": r"\textless{}",
            ">": r"\textgreater{}", "|": r"\textbar{}"}


def _latin(ch: str) -> bool:
    return ord(ch) < 0x250 and unicodedata.category(ch)[0] in "LNPSZ" and ch not in "×·±°µ¬"


def tex_text(s: str) -> str:
    """Plain text (no math) made safe for pdflatex in text mode."""
    out = []
    s = visible(str(s))
    i = 0
    while i < len(s):
        ch = s[i]
        nxt = s[i + 1] if i + 1 < len(s) else ""
        if nxt in _ACCENTS and ch.isalpha() and ch.isascii():
            out.append("\\" + _ACCENTS[nxt] + "{" + ch + "}")
            i += 2
            continue
        i += 1
        if ch in _SPECIAL:
            out.append(_SPECIAL[ch])
        elif ch.isascii():
            out.append(ch)
        elif ch in _TEXT:
            out.append(_TEXT[ch])
        elif ch in _MATH:
            out.append("$" + _MATH[ch].strip() + "$")
        elif unicodedata.combining(ch):
            continue
        elif _latin(ch):
            out.append(ch)
        else:
            base = unicodedata.normalize("NFKD", ch)
            plain = "".join(c for c in base if c.isascii())
            out.append(plain if plain else "?")
    return "".join(out)


def tex_math(s: str) -> str:
    """A formula (LaTeX, maybe with Unicode in it) made safe for pdflatex in math mode."""
    out = []
    s = str(s)
    i = 0
    while i < len(s):
        ch = s[i]
        nxt = s[i + 1] if i + 1 < len(s) else ""
        if nxt in _MATH_ACCENTS and not ch.isspace():
            base = _MATH.get(ch, ch).strip() if not ch.isascii() else ch
            out.append("\\" + _MATH_ACCENTS[nxt] + "{" + base + "}")
            i += 2
            continue
        i += 1
        if ch.isascii():
            out.append(ch)
        elif ch in _MATH:
            out.append(_MATH[ch])
        elif unicodedata.combining(ch):
            continue
        else:
            base = unicodedata.normalize("NFKD", ch)
            plain = "".join(c for c in base if c.isascii())
            out.append(r"\text{" + tex_text(ch) + "}" if not plain else plain)
    text = "".join(out)
    # \text{…} takes text: escape it there
    text = re.sub(r"\\text\{([^{}]*)\}", lambda m: r"\text{" + _text_arg(m.group(1)) + "}", text)
    return text


def _text_arg(s: str) -> str:
    return re.sub(r"(?<!\\)([&#%])", r"\\\1", s)


_INLINE_MATH = re.compile(r"\$([^$]+)\$")


def inline(text: str) -> str:
    """Text with $…$ math: text escaped, math kept (made safe)."""
    text = visible(str(text), keep_newlines=True)
    out, pos = [], 0
    for m in _INLINE_MATH.finditer(text):
        out.append(tex_text(text[pos:m.start()]))
        tex = " ".join(m.group(1).split())
        if tex:
            out.append("$" + tex_math(tex) + "$")
        pos = m.end()
    out.append(tex_text(text[pos:]))
    return " ".join("".join(out).split())


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", str(text).strip()) if p.strip()]


def _para(b: Para) -> str:
    out = []
    for p in _paragraphs(b.text):
        body = inline(p)
        if b.kind == "note":
            out.append(r"\emph{" + body + "}")
        elif b.kind == "result":
            out.append(r"\textbf{" + body + "}")
        elif b.kind == "warning":
            out.append(r"\textbf{Warning:} " + body)
        elif b.kind == "skipped":
            out.append(r"\emph{\ldots{} " + body + "}")
        else:
            out.append(body)
    return "\n\n".join(out)


def _row(r: Row) -> str:
    if r.kind == "first":
        return tex_math(r.lhs) + " &= " + tex_math(r.text)
    if r.kind == "eq":
        return "&= " + tex_math(r.text)
    return r"&\quad " + tex_math(r.text)


def _chain(c: Chain) -> str:
    out = []
    if c.label:
        out.append(r"\noindent\textbf{" + inline(" ".join(c.label.split())) + "}")
    rows = []
    for st in c.steps:
        rows += st.rows
        for _, crows in st.components:
            rows += crows
    out.append("\\begin{align*}\n" + " \\\\\n".join(_row(r) for r in rows) + "\n\\end{align*}")
    if c.note:
        out.append(_para(Para(c.note, "note")))
    return "\n".join(out)


def _header(c) -> str:
    return column_header(c, inline, tex_text, lambda t: "$" + tex_math(t) + "$")


def _cell(c: Cell) -> str:
    if c.kind == "empty":
        return ""
    if c.kind == "number":
        return "$" + tex_math(c.text) + "$"
    text = c.text
    if isinstance(c.value, str):
        if "$" in text:
            return inline(text)
        if "\\" in text or "_" in text or "^" in text:
            return "$" + tex_math(text) + "$"
    return tex_text(text)


def _table(t: TableD) -> str:
    out = []
    rows = t.head + t.tail
    for n, part in enumerate(t.parts):
        cap = inline(" ".join(t.title.split())) if t.title else ""
        if n:
            cap = (cap + " " if cap else "") + "(continued)"
        spec = "r" * len(part.columns)
        header = " & ".join(_header(t.columns[k]) for k in part.columns) + r" \\"
        body = [" & ".join(_cell(r[k]) for k in part.columns) + r" \\" for r in rows]
        lines = [r"\begingroup\small\renewcommand{\arraystretch}{1.25}"]
        if len(rows) <= LONG_TABLE:  # a tabular: right in one pdflatex run
            if cap:
                lines.append(r"\par\noindent\textbf{" + cap + r"}\par\nopagebreak")
            lines += [r"\begin{center}", r"\begin{tabular}{" + spec + "}", r"\toprule", header, r"\midrule",
                      *body, r"\bottomrule", r"\end{tabular}", r"\end{center}"]
        else:  # longer than a page: a longtable (its header repeats on each page)
            lines.append(r"\begin{longtable}{" + spec + "}")
            if cap:
                lines.append(r"\multicolumn{" + str(len(part.columns)) + r"}{l}{\textbf{" + cap + r"}}\\")
            lines += [r"\toprule", header, r"\midrule", r"\endhead", *body, r"\bottomrule", r"\end{longtable}"]
        lines.append(r"\endgroup")
        out.append("\n".join(lines))
    if t.note:
        out.append(_para(Para(t.note, "note")))
    return "\n".join(out)


def _formula(b: Formula) -> str:
    if b.label:
        return r"\item " + inline(" ".join(b.label.split())) + ": $" + tex_math(" ".join(b.tex.split())) + "$"
    return "\\[\n" + tex_math(b.tex) + "\n\\]"


def _answers(doc: Document) -> str:
    from .html import _leaves
    fmt = NumberFormat(doc.precision, "latex")
    rows = []
    for path, v in _leaves(doc.results):
        if v is None or isinstance(v, str) or "[" in path:  # a history's records: in the working
            continue
        if isinstance(v, (bool, np.bool_)):
            rows.append(r"\texttt{" + tex_text(path) + "} & " + ("true" if v else "false") + r" \\")
            continue
        a = np.asarray(v)
        if a.size > ANSWERS_SHORT or a.dtype.kind not in "fiub":
            continue
        text = fmt.value(a) if a.ndim <= 1 else fmt.matrix(a.reshape(a.shape[0], -1))
        if a.ndim == 1 and a.size > 1:
            text = fmt.row_vector(a)
        rows.append(r"\texttt{" + tex_text(path) + "} & $" + text + r"$ \\")
    if not rows:
        return ""
    return ("\\subsection*{Answers}\n\\begingroup\\small\\renewcommand{\\arraystretch}{1.2}\n"
            "\\begin{center}\n\\begin{tabular}{ll}\n\\toprule\n"
            + "\n".join(rows) + "\n\\bottomrule\n\\end{tabular}\n\\end{center}\n\\endgroup")


PREAMBLE = r"""\expandafter\ifx\csname nnsolvebody\endcsname\relax
\documentclass[11pt,a4paper]{article}
\usepackage[T1]{fontenc}
\usepackage[utf8]{inputenc}
\usepackage{lmodern}
\usepackage{amsmath,amssymb}
\usepackage{booktabs}
\usepackage{longtable}
\usepackage[a4paper,margin=2cm]{geometry}
\allowdisplaybreaks
\setlength{\parindent}{0pt}
\setlength{\parskip}{4pt}
\def\nnsolveend{\end{document}}
\begin{document}
\else
\def\nnsolveend{}
\fi
"""


METRICS = Metrics(style="latex", width=CHAIN_WIDTH, measure=measure_tex, table_width=LAYOUT.page_width,
                  measure_cell=measure_tex, every_row=True)


def body(working: Working, full: bool = False) -> str:
    """The document's body: what an answer key \\input's."""
    doc = layout(working, METRICS, full, lead=0, header_measure=measure_tex)
    out = [r"\section*{" + inline(doc.title) + "}"]
    answers = _answers(doc)
    if answers:
        out.append(answers)
    for g in doc.groups:
        if g.title:
            cmd = "subsection" if g.level <= 2 else "subsubsection"
            out.append("\\" + cmd + "*{" + inline(" ".join(g.title.split())) + "}")
        for b in with_rules(g.items):
            if isinstance(b, Rules):
                out.append("\\begin{itemize}\n" + "\n".join(_formula(f) for f in b) + "\n\\end{itemize}")
            elif isinstance(b, Chain):
                out.append(_chain(b))
            elif isinstance(b, TableD):
                out.append(_table(b))
            elif isinstance(b, Para):
                out.append(_para(b))
            elif isinstance(b, Formula):
                out.append(_formula(b))
    return "\n\n".join(out) + "\n"


def render(working: Working, full: bool = False) -> str:
    """The standalone document (ends with a newline)."""
    return (f"% {tex_text(working.title or working.kind)} -- worked by nnsolve\n"
            "% Standalone: pdflatex FILE.tex. In an answer key: \\def\\nnsolvebody{} then \\input{FILE.tex}\n"
            "% (its preamble loads amsmath, amssymb, booktabs, longtable).\n"
            + PREAMBLE + "% nnsolve: body begins\n" + body(working, full) + "% nnsolve: body ends\n\\nnsolveend\n")


from .registry import register  # noqa: E402

register("latex", render, extensions=(".tex",), aliases=("tex",), work="markdown",
         summary="a standalone document (amsmath, booktabs) for an answer key")
