"""The printer of ``nnsolve derive``: a derivation (a :class:`~.catalogue.Plan` and its rule
trees) printed into :class:`~nnsolve.working.Working` blocks, the one core type every
renderer (terminal, Markdown, JSON, and any format registered later) reads, so no
renderer knows about derive.

What it decides, once, for every format:

- every formula and label is LaTeX (``$…$`` in text); the renderers turn it into
  Unicode or typeset it;
- the steps are numbered as they nest: step 1.2 is a derivative step 1 needs, worked out
  under it; a derivative met a second time is not derived again ("as in step 1.1.2");
- a display wider than :data:`WIDTH` (in the terminal's characters) is split into lines at
  its top-level ``=``, then at ``+``/``−``, then at ``·`` (never inside brackets);
- the results (``Working.results``) are the derive contract: variable, expression,
  derivative, steps, identity, and the values with ``--at``.
"""
from __future__ import annotations

import re

from ..notation import to_unicode

# A display line at most this wide (its Unicode form: what the terminal shows, indented by
# 2 under an 80-column page); a longer one is split.
WIDTH = 76

INTRO_NOTE = ("Each step names the rule it uses. A rule that needs other derivatives asks for them, and "
              "its sub-steps work them out (step 1.1, 1.2, … for step 1); a derivative worked out "
              "before is not derived again.")


# -- splitting long displays ---------------------------------------------------------------------

def width(tex: str) -> int:
    """The width of a formula as the terminal shows it."""
    return len(to_unicode(tex))


_COMMAND = re.compile(r"\\([A-Za-z]+|.)")


def split_top(tex: str, seps: tuple[str, ...]) -> list[tuple[str, str]]:
    """TEX cut at each SEP that is outside every group ({…}, \\left…\\right,
    \\begin…\\end): [(separator before the piece, piece), …], the first separator ''."""
    out, depth, start, before, i, n = [], 0, 0, "", 0, len(tex)
    while i < n:
        c = tex[i]
        if c == "\\":
            m = _COMMAND.match(tex, i)
            name = m.group(1)
            i = m.end()
            if name in ("left", "begin"):
                depth += 1
            elif name in ("right", "end"):
                depth -= 1
            if name in ("left", "right") and i < n:  # the delimiter: ( [ . \{ \lbrace
                i = _COMMAND.match(tex, i).end() if tex[i] == "\\" else i + 1
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif depth == 0 and i > start:
            sep = next((s for s in seps if tex.startswith(s, i)), None)
            if sep is not None:
                out.append((before, tex[start:i]))
                before, i = sep, i + len(sep)
                start = i
                continue
        i += 1
    out.append((before, tex[start:]))
    return out


def _atoms(tex: str, limit: int) -> list[tuple[str, str]]:
    """The pieces a long display may be broken between: ('=', '= form') for each side of
    its chain; a side too wide for a line, ('+', '+ term') for its terms, and a term too
    wide, ('·', '\\cdot factor') for its factors."""
    atoms = []
    for k, (_, side) in enumerate(split_top(tex, (" = ",))):
        lead = "= " if k else ""
        if width(lead + side) <= limit:
            atoms.append(("=", lead + side))
            continue
        for j, (sep, term) in enumerate(split_top(side, (" + ", " - "))):
            first = lead if j == 0 else sep.strip() + " "
            kind = "=" if j == 0 else "+"
            if width(first + term) <= limit:
                atoms.append((kind, first + term))
                continue
            for i, (_, factor) in enumerate(split_top(term, (r" \cdot ",))):
                atoms.append((kind if i == 0 else "·", (first if i == 0 else r"\cdot ") + factor))
    return atoms


def display_lines(tex: str, limit: int = WIDTH) -> list[str]:
    """TEX as display lines no wider than LIMIT where a break is possible: the chain
    ``a = b = c`` breaks before an ``=`` (the next line starts ``= c``); a side too long
    for one line breaks before a top-level ``+``/``−`` or ``·`` (the next line indented)."""
    if width(tex) <= limit:
        return [tex]
    lines, cur = [], ""
    for kind, text in _atoms(tex, limit):
        if not cur:
            cur = text
            continue
        joined = cur + " " + text
        if width(joined) <= limit:
            cur = joined
            continue
        lines.append(cur)
        cur = (r"\quad " + text) if kind != "=" else text
    lines.append(cur)
    return lines


def put_display(section, tex: str, label: str | None = None) -> None:
    """A display formula: one Math block per line (the renderers print each on its own
    line). A labelled one keeps its label beside it when both fit on a line; otherwise
    the label is a line of text above it."""
    if label:
        if width(tex) + len(_plain(label)) + 2 <= WIDTH:
            section.math(tex, label)
            return
        section.text(("With " + label if label.startswith("$") else label[0].upper() + label[1:]) + ":")
    for line in display_lines(tex):
        section.math(line)


def put_result(section, tex: str) -> None:
    """A result line (bold in the renderers): split as a display is when it is long."""
    for line in display_lines(tex):
        section.text(f"${line}$", "result")


def _plain(text: str) -> str:
    """Text with $…$ math as the terminal shows it (to measure it)."""
    return re.sub(r"\$([^$]+)\$", lambda m: to_unicode(m.group(1)), text)


# -- the working -----------------------------------------------------------------------------------

def working(plan, values=None, precision=None, results: bool = True):
    """The Working of a derivation (the plan already run), with the values at a point
    (``values``, from the command's --at) if given; its results are the contract (left
    empty with ``results`` False, for a format that does not show them: SymPy's printing of
    the contract costs a good part of a terminal derive)."""
    from ..working import Working
    from .engine import tex

    w = Working("derive", plan.title, precision=4 if precision is None else precision)
    top = w.section("The function")
    for label, t in plan.definition:
        put_display(top, t, label)
    for t in plan.intro:
        top.text(t)

    many = len(plan.parts) > 1
    number = 0
    for k, part in enumerate(plan.parts):
        d = part.derivation
        sec = w.section(part.title if many else "Rule by rule")
        for t in part.intro:
            sec.text(t)
        if k == 0 and d.root.children:
            sec.text(INTRO_NOTE, "note")
        steps = d.steps(start=number + 1, top=str(k + 1))
        number = steps[-1].number
        for st in steps:
            _step(w, st)
        res = w.section(f"Result: ${part.lhs}$" if many else "Putting the steps together", level=3 if many else 2)
        forms = [tex(d.raw)]
        put_display(res, f"{part.lhs} = {forms[0]}")
        if d.final != d.raw and tex(d.final) != forms[-1]:
            put_display(res, f"{part.lhs} = {tex(d.final)}", _label(part.simplify_reason))
            forms.append(tex(d.final))
        if part.algebra:
            res.text("In terms of the function itself:" if not many else "Rewritten:")
        for a in part.algebra:
            if a.tex not in forms:
                put_display(res, f"{part.lhs} = {a.tex}", _label(a.reason))
                forms.append(a.tex)
    if plan.assembly:
        sec = w.section(plan.assembly_title)
        for a in plan.assembly:
            put_display(sec, f"{plan.assembly_lhs} = {a.tex}", _label(a.reason))

    res = w.section("Result")
    if plan.show_derivative or plan.identity is None:
        put_result(res, f"{plan.lhs} = {tex(plan.derivative)}")
    if plan.identity is not None and plan.identity[1] != tex(plan.derivative):
        put_result(res, f"{plan.lhs} = {plan.identity[1]}")
    for text, kind in plan.notes:
        res.text(text, kind)
    if plan.name is None and plan.parts[0].derivation.root.rule == "sympy":
        res.text("SymPy's own table gave this derivative (no step-by-step rule for it).", "note")
    if values is not None:
        _at_section(w, plan, values)
    w.results = contract(plan, values) if results else {}
    return w


def _step(w, st) -> None:
    """One step: a section titled with its number and rule, the note, the chain."""
    node = st.node
    if node.rule == "reuse":
        s = w.section(f"Step {st.label}: as in step {st.same}", level=3)
    else:
        s = w.section(f"Step {st.label}: {node.name}" + (f", ${node.formula}$" if node.formula else ""), level=3)
        if node.note:
            s.text(node.note[0].upper() + node.note[1:] + ".", "note")
    for line in display_lines(" = ".join(node.forms())):
        s.math(line)


def _label(reason: str | None) -> str | None:
    """A formula's label: text with $…$ math, kept as LaTeX (each renderer typesets it)."""
    return reason or None


# -- the contract (Working.results, the JSON's "results") --------------------------------------------

def contract(plan, values) -> dict:
    """What `nnsolve derive --format json` promises under "results": the variable, the
    expression and its derivative (text SymPy reads), the LaTeX, every step (rule, LaTeX,
    nested label, the steps it uses), the identity, and the values with --at."""
    from .engine import tex, to_elementary
    steps = []
    n = 0
    for k, part in enumerate(plan.parts):
        d = part.derivation
        title = _plain(part.title) if len(plan.parts) > 1 else None
        for st in d.steps(start=n + 1, top=str(k + 1)):
            item = st.as_dict()
            if title:
                item["part"] = title
            steps.append(item)
        n = len(steps)
        lhs = part.lhs
        if d.final != d.raw and tex(d.final) != tex(d.raw):
            n += 1
            steps.append({"number": n, "rule": "simplify", "name": "Simplify",
                          "latex": f"{lhs} = {tex(d.raw)} = {tex(d.final)}", "reason": part.simplify_reason,
                          "derivative": str(to_elementary(d.final))})
        for a in part.algebra:
            n += 1
            steps.append(_alg_dict(n, a, lhs, title))
    for a in plan.assembly:
        n += 1
        steps.append(_alg_dict(n, a, plan.assembly_lhs, _plain(plan.assembly_title)))
    out = {
        "command": "derive",
        "name": plan.name,
        "title": plan.title,
        "variable": str(plan.var),
        "expression": str(to_elementary(plan.expression)),
        "derivative": str(to_elementary(plan.derivative)),
        "latex": {"function": ", ".join(t for _, t in plan.definition),
                  "derivative": f"{plan.lhs} = {tex(plan.derivative)}"},
        "steps": steps,
    }
    if plan.identity is not None:
        out["identity"] = plan.identity[0]
        out["latex"]["identity"] = f"{plan.lhs} = {plan.identity[1]}"
    if plan.params:
        out["parameters"] = {str(k): v for k, v in plan.params.items()}
    out.update(plan.extra)
    if values is not None:
        if "vector" in values:
            out.update(values["vector"].json)
        else:
            out["at"] = {k: float(v) for k, v in values["given"].items()}
            if values["defaults"]:
                out["defaults_used"] = values["defaults"]
            out["value"] = values["value"]
            out["derivative_value"] = values["derivative_value"]
            if values["identity_value"] is not None:
                out["identity_value"] = values["identity_value"]
            if values["kink"] is not None:
                out["one_sided_derivatives"] = {"left": values["kink"][0], "right": values["kink"][1]}
    return _finite(out)


def _alg_dict(n, a, lhs, part) -> dict:
    d = {"number": n, "rule": a.rule, "name": {"identity": "In terms of the function itself",
                                               "chain": "Chain rule"}.get(a.rule, "Algebra"),
         "latex": f"{lhs} = {a.tex}", "reason": a.reason}
    form = a.form()
    if form is not None:
        from .engine import to_elementary
        d["derivative"] = str(to_elementary(form))
    if part:
        d["part"] = part
    return d


def _finite(v):
    """JSON has no NaN or infinity: a value that is not finite is written null."""
    if isinstance(v, float) and not v - v == 0:
        return None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_finite(x) for x in v]
    return v


# -- the values at a point (--at) ------------------------------------------------------------------

def _at_section(w, plan, values) -> None:
    from .engine import tex
    if "vector" in values:
        v = values["vector"]
        sec = w.section("At " + ", ".join(f"${k} = {_fmt_list(x)}$" for k, x in v.json["at"].items()))
        for label, name, formula in v.rows:
            sec.step(label, name, formula)
        if v.table:
            title, cols, rows = v.table
            sec.table(cols, rows, title)
        return
    where = ", ".join(f"${tex(k)} = {_value_tex(v)}$" for k, v in values["shown"].items()) \
        or "the parameters' defaults"
    sec = w.section(f"At {where}")
    if values["defaults"]:
        sec.text("Default " + ", ".join(f"${tex(k_sym)} = {v:g}$" for k_sym, v in
                                        ((s, d) for s, d in plan.params.items() if str(s) in values["defaults"]))
                 + " (give another with --at).", "note")
    kink = values.get("kink")
    shown = False
    if kink is None:
        try:
            shown = _at_steps(sec, plan, values)
        except Exception:  # a form the formula printer cannot show: the table below says it
            shown = False
    if not shown:
        cols = [tex(plan.var), plan.fname, plan.lhs]
        row = [float(values["subs"][plan.var]) if plan.var in values["subs"] else "",
               _cell(values["value"]), _cell(values["derivative_value"])]
        if kink is not None:
            cols += ["left derivative", "right derivative"]
            row += [_cell(kink[0]), _cell(kink[1])]
        sec.table(cols, [row])
    if values["value"] is None:
        sec.text("The function is not a real number there (nor, then, its derivative): the point is "
                 "outside its domain.", "warning")
    elif values["derivative_value"] is None:
        sec.text("The derivative is not a real number there (or does not exist).", "warning")
    if kink is not None and kink[0] != kink[1]:
        sec.text(f"The left and right derivatives at ${tex(plan.var)} = 0$ differ: the derivative does not "
                 "exist there. The value shown is the one the cases give at 0"
                 + (" (the left piece's): the convention of PyTorch and TensorFlow, which nnsolve follows."
                    if plan.name is not None else "."), "warning")


def _at_steps(sec, plan, values) -> bool:
    """Steps with the numbers put in (symbolic, substituted, value) through nnsolve.expr."""
    from .engine import to_formula
    f = to_formula(plan.expression, values["subs"])
    d = to_formula(plan.derivative, values["subs"])
    if f is None or d is None or values["value"] is None or values["derivative_value"] is None:
        return False
    sec.step("The function", plan.fname, f)
    sec.step("Its derivative", plan.lhs, d)
    if plan.identity is not None and values["identity_value"] is not None:
        i = to_formula(plan.identity[2], values["subs"])
        if i is not None:
            sec.step("By the identity", plan.lhs, i)
    return True


def _cell(v):
    return "—" if v is None else v


def _value_tex(text: str) -> str:
    """A value of --at as the user wrote it (0.5, pi/4), in LaTeX; a power (2^10) as SymPy
    writes its value, exponent in braces."""
    if "^" in text or "**" in text:
        import sympy as sp

        from .safe_parse import parse_number
        return sp.latex(parse_number(text))
    return re.sub(r"\bpi\b", r"{\\pi}", " ".join(text.split()))


def _fmt_list(x) -> str:
    return "(" + ", ".join(f"{float(t):g}" for t in x) + ")"
