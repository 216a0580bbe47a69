"""Kinks and jumps of a typed expression (relu(x), Abs(x), Max(0.01 x, x), Heaviside(x),
Piecewise(…)): where its cases meet, whether it is continuous there, the one-sided
derivatives, and the value the derivative's formula gives there, said in the Result as
``nnsolve derive relu`` says it for the catalogue's ReLU.

The catalogue's own entries (relu, leaky_relu, elu) write their note by hand, and the
library's records theirs with PyTorch's value (library._kinks); this is for expressions.
"""
from __future__ import annotations

_CASES = None  # the SymPy functions that hide cases (set on first use: SymPy loads lazily)


def _cased():
    import sympy as sp
    global _CASES
    if _CASES is None:
        _CASES = (sp.Piecewise, sp.Max, sp.Min, sp.Abs, sp.Heaviside, sp.sign)
    return _CASES


def as_cases(e, var=None):
    """E with its Max, Min, Abs, Heaviside and sign written as cases (one Piecewise where
    it folds), or None when E has none."""
    import sympy as sp
    if not e.has(*_cased()):
        return None
    from .engine import _tidy_cases
    e = e.rewrite(sp.Piecewise) if e.has(sp.Max, sp.Min, sp.Abs, sp.Heaviside, sp.sign) else e
    e = sp.piecewise_fold(e) if e.has(sp.Piecewise) else e
    if var is not None:  # x >= x/100 is x >= 0: no boundary where none is
        e = _tidy_cases(e, var)
    return e


def points(e, x) -> list:
    """The values of X where a condition of E's cases changes: x = c of every condition
    linear in X alone (x > 0, 2x - 1 <= 0, Eq(x, 0))."""
    import sympy as sp
    found = set()
    for rel in e.atoms(sp.core.relational.Relational):
        if not rel.has(x):
            continue
        try:
            poly = sp.Poly(rel.lhs - rel.rhs, x)
        except sp.PolynomialError:
            continue
        if poly.degree() == 1 and not poly.free_symbols - {x}:
            c1, c0 = poly.all_coeffs()
            found.add(sp.nsimplify(-c0 / c1))
    return sorted(found)


def _number(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if f - f == 0 else None


def _json(v):
    f = _number(v)
    return f if f is not None else str(v)


def note_expression(plan) -> None:
    """Once the derivative of a typed expression is known: a note on each kink or jump,
    first in the Result, and the facts in the JSON (``kinks``; ``at_zero`` for x = 0,
    which --at x=0 reads to give both one-sided derivatives)."""
    import sympy as sp

    from .engine import one_sided, tex
    x, e = plan.var, plan.expression
    cases = as_cases(e, x)
    if cases is None:
        return
    d = plan.derivative
    d_cases = as_cases(d, x) if d.has(*_cased()) else d
    at_x = tex(x)
    kinks, notes = [], []
    for c in points(cases, x):
        below, above = (v.subs(x, c) for v in one_sided(cases, x, c))
        left, right = (v.subs(x, c) for v in one_sided(d_cases, x, c))
        where = f"${at_x} = {tex(c)}$"
        taken = d.subs(x, c)
        taken_num = _number(taken) if not taken.has(sp.DiracDelta) else None
        jump = _number(below) is not None and _number(above) is not None and _number(below) != _number(above)
        if jump:
            text = (f"At {where} the function jumps from ${tex(below)}$ to ${tex(above)}$: it is not "
                    "continuous there, so it has no derivative there")
            if d.has(sp.DiracDelta):
                text += (r" (the $\delta$ above is the derivative only in the sense of distributions; "
                         "everywhere else the derivative is 0)")
            text += "."
        elif left == right:
            text = (f"At {where} the pieces meet and both one-sided derivatives are ${tex(left)}$: "
                    "the function is differentiable there.")
        else:
            text = (f"At {where} the left derivative is ${tex(left)}$ and the right derivative is "
                    f"${tex(right)}$: they differ, so the function has no derivative there.")
            l, r = _number(left), _number(right)
            if l is not None and r is not None and l < r:
                text += " Any value between them is a subgradient."
            if taken_num is not None:
                lhs = plan.lhs
                said = (f"${lhs[:-len(at_x) - 2]}({tex(c)}) = {tex(taken)}$" if lhs.endswith(f"({at_x})")
                        else f"${tex(taken)}$ there")
                text += f" The formula above gives {said}" + _framework(e, x, c, taken_num) + "."
        notes.append((text, "note"))
        info = {"at": float(c), "continuous": not jump, "left": _json(left), "right": _json(right),
                "differentiable": bool(not jump and left == right),
                "formula_gives": taken_num}
        kinks.append(info)
        if c == 0:
            plan.extra["at_zero"] = {k: v for k, v in info.items() if k != "at"}
    if kinks:
        plan.notes[:0] = notes
        plan.extra["kinks"] = kinks


def _framework(e, x, c, taken) -> str:
    """What PyTorch takes there, for the two kinks everyone meets: ReLU's and |x|'s at 0."""
    import sympy as sp
    if c != 0:
        return ""
    if e == sp.Max(0, x) and taken == 0:
        return ", the value PyTorch and TensorFlow take for ReLU (the left piece's)"
    if e == sp.Abs(x) and taken == 0:
        return r", as PyTorch's abs does ($\operatorname{sign}(0) = 0$)"
    return ""
