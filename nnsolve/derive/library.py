"""The derive catalogue's view of the library :mod:`nnsolve.nn`.

Every activation and loss record of the library is a name of ``nnsolve derive``: its
name, aliases and one-line summary come from the record (:func:`entries`, plain Python:
``--list`` needs no SymPy). A name with a hand-written plan in :mod:`.catalogue` (the
classic derivations: sigmoid, tanh, softplus, …) is shown that way; any other record gets
the generic plan here: the record's ``sympy`` text read by the safe parser (nothing is
eval'd), differentiated rule by rule by the engine, then the record's ``identity`` (the
derivative in terms of the function itself) where it has one, and, for a function with
cases, what happens at the kink (PyTorch's value, which the record's ``derivative`` holds).
So adding an activation is adding one record in :mod:`nnsolve.nn.activations`.

:func:`readme_table` writes the README's table "Activations and losses" from the same
records: ``python -m nnsolve.derive.library --readme-table [--write README.md]``.
"""
from __future__ import annotations

import re

# Names of the catalogue that are not records of the library: name -> (the entry it
# follows in the list, aliases, summary).
CATALOGUE_ONLY = {
    "sigmoid_a": ("sigmoid", ("sigmoid_slope", "logistic_a"),
                  "σ(ax), slope a; d/dx = a σ(ax)(1 − σ(ax))"),
}

# More names for records, which the catalogue accepted before the library existed.
EXTRA_ALIASES = {
    "mse": ("squared_error",),
    "bce": ("log_loss",),
    "cross_entropy": ("softmax_cross_entropy", "categorical_cross_entropy"),
}


def _library():
    from ..nn import ACTIVATIONS, LOSSES
    return ACTIVATIONS, LOSSES


def _loss_summary(rec) -> str:
    return f"{rec.title}: {rec.summary}"


def entries() -> dict:
    """name -> (aliases, one-line summary): every record of the library (activations,
    then losses), with the catalogue-only names after the entry they follow. Read anew
    at each call, so a record added at run time is listed at once."""
    activations, losses = _library()
    out = {}

    def add(name, aliases, summary):
        out[name] = (tuple(aliases) + tuple(a for a in EXTRA_ALIASES.get(name, ()) if a not in aliases), summary)
        for extra, (after, ex_aliases, ex_summary) in CATALOGUE_ONLY.items():
            if after == name:
                out[extra] = (tuple(ex_aliases), ex_summary)

    for a in activations.values():
        add(a.name, a.aliases, a.summary)
    for l in losses.values():
        add(l.name, l.aliases, _loss_summary(l))
    for extra, (after, ex_aliases, ex_summary) in CATALOGUE_ONLY.items():
        out.setdefault(extra, (tuple(ex_aliases), ex_summary))
    return out


def normalise(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def lookup(name: str) -> str | None:
    """The catalogue name NAME stands for (case and -/_ ignored), or None."""
    key = normalise(name)
    table = entries()
    if key in table:
        return key
    return next((n for n, (aliases, _) in table.items() if key in aliases), None)


def record(name: str):
    """("activation" | "loss", the record) of a catalogue name, or None."""
    activations, losses = _library()
    if name in activations:
        return "activation", activations[name]
    if name in losses:
        return "loss", losses[name]
    return None


# -- the generic plans -----------------------------------------------------------------------

def _in_x(tex: str, var: str = "x") -> str:
    """A record's LaTeX in v, written in VAR (\\varphi, \\nu… untouched)."""
    return re.sub(r"(?<![\\A-Za-z])v(?![A-Za-z])", var, tex)


def _parse(text: str, symbols: dict, what: str, extra_functions=None):
    """A record's text through the safe parser; a record that does not pass is the
    library's mistake, and the message says which record."""
    from ..errors import InputError
    from .safe_parse import parse
    try:
        expr, _ = parse(text, symbols, extra_functions)
    except InputError as exc:
        raise InputError(f"the library's {what} {text!r} cannot be read: {exc}", file="nnsolve derive") from None
    return expr


def plan(name: str):
    """The generic plan of library record NAME (an activation or a loss)."""
    kind, rec = record(name)
    return activation_plan(rec) if kind == "activation" else loss_plan(rec)


def activation_plan(rec):
    """Rule by rule from the record's ``sympy``; then the record's identity; then the kink."""
    import sympy as sp

    from ..errors import InputError
    from .catalogue import Alg, Part, Plan
    from .engine import D, expr_tex, tex

    if not rec.elementwise:
        raise InputError(f"{rec.name} is not an elementwise function; the catalogue has no plan for it",
                         file="nnsolve derive")
    x = sp.Symbol("x", real=True)
    expr = _parse(rec.sympy, {"x": x}, f"record {rec.name}: sympy")
    if x not in expr.free_symbols and expr.free_symbols:
        x = sorted(expr.free_symbols, key=str)[0]
    lhs, fname = rec.tex + "'(x)", rec.tex + "(x)"
    shown = expr_tex(expr)
    definition = _in_x(rec.definition)
    intro = [f"From the library: {rec.summary}."]
    if definition.replace(" ", "") != shown.replace(" ", ""):
        intro.append(f"The rules differentiate it as SymPy writes it: ${fname} = {shown}$.")
    else:
        intro.append(f"We want ${D(expr, x)}$.")
    p = Plan(name=rec.name, title=f"{rec.name}, {_title_tex(rec.tex)}(x)", var=x, expression=expr, lhs=lhs,
             fname=fname, definition=[(None, f"{fname} = {definition}")], intro=intro,
             parts=[Part("Rule by rule", lhs, expr, x)])
    if rec.identity:
        itself = sp.Function(rec.name)
        form = _parse(rec.identity, {"x": x}, f"record {rec.name}: identity", {rec.name: itself})
        written = tex(form).replace(r"\operatorname{%s}" % rec.name, rec.tex)

        def check(form=form, itself=itself):
            return form.replace(itself, sp.Lambda(x, expr)) if form.has(itself) else form
        p.identity = (str(form), written, form)
        p.parts[0].algebra = [Alg(written, "in terms of the function itself (the library's identity)",
                                  check, "identity")]
    p.after = lambda plan: _after(plan, rec)
    return p


def _after(plan, rec) -> None:
    """Once the derivative is known: the library's own form of it (if it reads
    differently), and the kinks."""
    from .engine import tex
    prime = _in_x(rec.prime_tex) if rec.prime_tex else ""
    if prime and prime.replace(" ", "") != tex(plan.derivative).replace(" ", ""):
        plan.notes.append((f"As the library writes it for the working of nnsolve run, with $y = {plan.fname}$: "
                           f"${plan.lhs} = {prime}$.", "note"))
    _kinks(plan, rec)


def _title_tex(t: str) -> str:
    from ..notation import to_unicode
    return to_unicode(t)


def _kinks(plan, rec) -> None:
    """Where the function has cases (Piecewise, Max, Abs…): at each boundary the one-sided
    derivatives, and the value taken there, as PyTorch does (the record's ``derivative``
    holds PyTorch's value)."""
    import sympy as sp

    from .engine import one_sided, tex
    x, e = plan.var, plan.expression
    if e.has(sp.Max, sp.Min, sp.Abs, sp.Heaviside):
        e = e.rewrite(sp.Piecewise)
    if not e.has(sp.Piecewise):
        return
    points = set()
    for rel in e.atoms(sp.core.relational.Relational):
        if not rel.has(x):
            continue
        try:
            poly = sp.Poly(rel.lhs - rel.rhs, x)
        except sp.PolynomialError:
            continue
        if poly.degree() == 1 and not poly.free_symbols - {x}:
            c0, c1 = poly.all_coeffs()[1], poly.all_coeffs()[0]
            points.add(sp.nsimplify(-c0 / c1))
    kinks = []
    for c in sorted(points):
        left, right = one_sided(plan.derivative, x, c)
        left, right = left.subs(x, c), right.subs(x, c)
        conv = _torch_value(rec, float(c))
        taken = plan.derivative.subs(x, c)
        at = f"x = {tex(c)}"
        if left == right:
            text = (f"At ${at}$ the pieces meet and both one-sided derivatives are ${tex(left)}$: "
                    f"{rec.name} is differentiable there")
        else:
            text = (f"At ${at}$ the left derivative is ${tex(left)}$ and the right derivative is "
                    f"${tex(right)}$: they differ, so {rec.name} has no derivative there")
        text += f". PyTorch takes ${rec.tex}'({tex(c)}) = {conv:g}$, and so does nnsolve"
        if taken.is_number and abs(float(taken) - conv) > 1e-12:
            text += f" (the cases above give ${tex(taken)}$ there)"
        plan.notes.insert(0, (text + ".", "note"))
        info = {"at": float(c), "left": _num(left), "right": _num(right), "differentiable": bool(left == right),
                "convention": conv}
        kinks.append(info)
        if c == 0:
            plan.extra["at_zero"] = {k: v for k, v in info.items() if k != "at"}
    if kinks:
        plan.extra["kinks"] = kinks


def _num(v):
    try:
        return float(v)
    except TypeError:
        return str(v)


def _torch_value(rec, c: float):
    import numpy as np
    return float(np.reshape(np.asarray(rec.derivative(np.asarray([c])), dtype=float), -1)[0])


def loss_plan(rec):
    """A loss by its output: one term of the sum, differentiated by y, the target d a constant."""
    import sympy as sp

    from .catalogue import Part, Plan
    from .engine import expr_tex
    y, d = sp.Symbol("y", real=True), sp.Symbol("d", real=True)
    expr = _parse(rec.sympy, {"y": y, "d": d}, f"record {rec.name}: sympy")
    lhs = r"\frac{\partial L}{\partial y}"
    notes = [(f"The notes write the negative gradient, for output $j$: "
              f"$-\\frac{{\\partial L}}{{\\partial y_{{j}}}} = {rec.neg_grad_tex}$.", "note")]
    if rec.canonical:
        notes.append((f"With a {rec.canonical} output activation the error at the net input simplifies to "
                      "$y - d$ (the canonical pairing).", "note"))
    return Plan(
        name=rec.name, title=f"{rec.name}: {rec.title}", var=y, expression=expr, lhs=lhs, fname="L",
        definition=[(None, "L = " + rec.rule("d_{j}", "y_{j}"))],
        intro=[f"$d$ is the target, $y$ the output. Only one term of the sum depends on $y_{{j}}$; writing $d$, "
               f"$y$ for $d_{{j}}$, $y_{{j}}$, differentiate $L = {expr_tex(expr)}$ by $y$ ($d$ is a constant)."],
        parts=[Part("Rule by rule", lhs, expr, y)], notes=notes)


# -- the README's table ----------------------------------------------------------------------

BEGIN = "<!-- BEGIN activations-and-losses: generated by `python -m nnsolve.derive.library --readme-table` -->"
END = "<!-- END activations-and-losses -->"


def _cell(tex: str) -> str:
    return "$" + tex.replace("|", r"\vert ").strip() + "$"


def _bound(v: float) -> str:
    import math
    if math.isinf(v):
        return r"\infty" if v > 0 else r"-\infty"
    return f"{v:.4g}"


def _range(rec) -> str:
    """The range as an interval; an end is closed if the function reaches it on [−5, 5]
    (a grid of step 0.001, to 1e-6: ReLU's 0 and SiLU's minimum are reached, the
    sigmoid's 0 and 1 only approached)."""
    import math

    import numpy as np
    lo, hi = rec.range
    closed_lo = closed_hi = False
    if rec.elementwise:
        with np.errstate(all="ignore"):
            v = np.asarray(rec.value(np.linspace(-5.0, 5.0, 10001)), dtype=float)
        closed_lo = not math.isinf(lo) and abs(float(np.min(v)) - lo) <= 1e-6
        closed_hi = not math.isinf(hi) and abs(float(np.max(v)) - hi) <= 1e-6
    return "$" + ("[" if closed_lo else "(") + f"{_bound(lo)}, {_bound(hi)}" + ("]" if closed_hi else ")") + "$"


def _where_activation(rec, losses) -> str:
    canon = [l.name for l in losses.values() if l.canonical == rec.name]
    if rec.identity_map:
        where = "no function at all (a linear layer); output of a regression"
    elif not rec.elementwise:
        where = "output layer only (it acts on the whole vector)"
    else:
        where = "hidden or output layer"
    if canon:
        where += ("; the canonical output for " + ", ".join(f"`{n}`" for n in canon)
                  + r" ($\partial L/\partial v = y - d$)")
    return where


def _where_loss(rec) -> str:
    where = "the training loss"
    if rec.probabilities:
        where += r"; the outputs must lie in $(0, 1)$"
    if rec.canonical:
        where += f"; pairs with a `{rec.canonical}` output"
    return where


def readme_table() -> str:
    """The table "Activations and losses", between its markers: one row per record."""
    activations, losses = _library()
    rows = [BEGIN, "",
            "| name | f(v) | f′(v), with y = f(v) | range | where it can be used |",
            "|---|---|---|---|---|"]

    def name_cell(name, aliases):
        return f"`{name}`" + (" (also " + ", ".join(f"`{a}`" for a in aliases) + ")" if aliases else "")

    for a in activations.values():
        f = a.tex + ("(v)_{j}" if not a.elementwise else "(v)")
        rows.append(f"| {name_cell(a.name, a.aliases)} | {_cell(f + ' = ' + a.definition)} | "
                    f"{_cell(a.prime_tex)} | {_range(a)} | {_where_activation(a, losses)} |")
    grad = r"-\frac{\partial L}{\partial y_{j}} = "
    for l in losses.values():
        rows.append(f"| {name_cell(l.name, l.aliases)} | {_cell('L = ' + l.rule('d_{j}', 'y_{j}'))} | "
                    f"{_cell(grad + l.neg_grad_tex)} | — | {_where_loss(l)} |")
    rows += ["", END]
    return "\n".join(rows)


def update_readme(path: str) -> bool:
    """Put the table between its markers in PATH; True if the file changed."""
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    i, j = text.find(BEGIN), text.find(END)
    if i < 0 or j < i:
        raise SystemExit(f"{path}: the markers of the table are missing")
    new = text[:i] + readme_table() + text[j + len(END):]
    if new != text:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(new)
    return new != text


def main(argv=None) -> int:
    import argparse
    ap = argparse.ArgumentParser(prog="python -m nnsolve.derive.library",
                                 description="The README's table of the library's activations and losses.")
    ap.add_argument("--readme-table", action="store_true", help="print the table (with its markers)")
    ap.add_argument("--write", metavar="README", help="replace the table between the markers in README")
    args = ap.parse_args(argv)
    if args.write:
        print(f"{args.write}: " + ("updated" if update_readme(args.write) else "already up to date"))
    else:
        print(readme_table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
