"""Printing a formula (nnsolve.expr) as LaTeX: symbolic, with numbers put in, evaluated.

Every renderer goes through here; the terminal turns the LaTeX into Unicode with
nnsolve.notation.to_unicode, so the two show the same thing.
"""
from __future__ import annotations

import numpy as np

from .. import expr as E
from ..numfmt import NumberFormat

MAX_EXPAND = 8  # a row of a matrix-vector product is written out term by term up to this


def value_at(e: E.Expr, idx):
    v = np.asarray(e.value)
    if idx is None or v.size == 1:
        return v
    if isinstance(idx, tuple) and v.ndim == 1:
        return v[idx[0]]
    return v[idx]


def _paren(text: str) -> str:
    return r"\left(" + text + r"\right)"


def _apply(tex: str, arg: str) -> str:
    r"""A function applied to its argument: \sqrt{…} takes braces, the others parentheses."""
    return r"\sqrt{" + arg + "}" if tex == r"\sqrt" else tex + _paren(arg)


def symbolic(e: E.Expr) -> str:
    """The LaTeX of a formula in symbols only (no numbers are printed)."""
    return FormulaPrinter(NumberFormat(precision=4, style="latex")).symbolic(e)


class FormulaPrinter:
    def __init__(self, fmt: NumberFormat):
        self.fmt = fmt

    # -- symbolic ---------------------------------------------------------------------
    def symbolic(self, e: E.Expr) -> str:
        return self._sym(e)

    def _wrap_sym(self, child: E.Expr, min_prec: int) -> str:
        text = self._sym(child)
        return _paren(text) if child.prec < min_prec else text

    def _sym(self, e: E.Expr) -> str:
        if isinstance(e, E.Sym):
            return e.tex
        if isinstance(e, E.Const):
            return e.tex if e.tex is not None else self.fmt.value(e.value)
        if isinstance(e, E.Add):
            out = []
            for k, (sign, t) in enumerate(e.terms):
                text = self._wrap_sym(t, E.P_ADD + (1 if sign < 0 else 0))
                out.append((("- " if k == 0 else " - ") if sign < 0 else ("" if k == 0 else " + ")) + text)
            return "".join(out)
        if isinstance(e, E.Mul):
            op = r" \odot " if e.elementwise else " "
            return self._wrap_sym(e.a, E.P_MUL) + op + self._wrap_sym(e.b, E.P_MUL + 1)
        if isinstance(e, E.Div):
            return r"\frac{" + self._sym(e.a) + "}{" + self._sym(e.b) + "}"
        if isinstance(e, E.Neg):
            return "-" + self._wrap_sym(e.a, E.P_POW)
        if isinstance(e, E.Pow):
            return "{" + self._wrap_sym(e.a, E.P_ATOM) + "}^{" + str(e.k) + "}"
        if isinstance(e, E.Transpose):
            return "{" + self._wrap_sym(e.a, E.P_ATOM) + r"}^{\top}"
        if isinstance(e, E.MatVec):
            return self._wrap_sym(e.m, E.P_MUL) + " " + self._wrap_sym(e.v, E.P_MUL + 1)
        if isinstance(e, E.Outer):
            return self._wrap_sym(e.a, E.P_MUL) + " {" + self._wrap_sym(e.b, E.P_ATOM) + r"}^{\top}"
        if isinstance(e, E.Mean):
            return r"\frac{1}{" + str(e.arg.size) + r"} \sum_{" + e.index + "} " + self._wrap_sym(e.arg, E.P_MUL)
        if isinstance(e, E.Sum):
            return r"\sum_{" + e.index + "} " + self._wrap_sym(e.arg, E.P_MUL)
        if isinstance(e, E.Func):
            return _apply(e.tex, self._sym(e.arg))
        raise TypeError(f"cannot print {type(e).__name__}")

    # -- with numbers -----------------------------------------------------------------
    def substituted(self, e: E.Expr, idx=None, level: int = 0) -> str:
        """level 0: every quantity replaced by its value; 1: also each function's argument
        evaluated; 2: also each function evaluated."""
        return self._sub(e, idx, level, operand=False)

    def _num(self, v, operand: bool) -> str:
        return self.fmt.value(v, wrap_negative=operand)

    def _wrap_sub(self, child: E.Expr, idx, level, min_prec: int) -> str:
        text, prec = self._sub_p(child, idx, level)
        return _paren(text) if prec < min_prec else text

    def _sub(self, e, idx, level, operand=True) -> str:
        text, _ = self._sub_p(e, idx, level, operand)
        return text

    def _sub_p(self, e: E.Expr, idx, level, operand=True):
        """(text, precedence of that text)."""
        if isinstance(e, (E.Sym, E.Const)):
            return self._num(value_at(e, idx), operand), E.P_ATOM
        if isinstance(e, E.Add):
            out = []
            for k, (sign, t) in enumerate(e.terms):
                text = self._wrap_sub(t, idx, level, E.P_ADD + (1 if sign < 0 else 0))
                out.append((("- " if k == 0 else " - ") if sign < 0 else ("" if k == 0 else " + ")) + text)
            return "".join(out), E.P_ADD
        if isinstance(e, E.Mul):
            scalar = idx is not None or e.a.size == 1 or e.b.size == 1 or not e.elementwise
            op = r" \cdot " if scalar else r" \odot "
            return (self._wrap_sub(e.a, idx, level, E.P_MUL) + op
                    + self._wrap_sub(e.b, idx, level, E.P_MUL + 1)), E.P_MUL
        if isinstance(e, E.Div):
            return r"\frac{" + self._sub(e.a, idx, level, False) + "}{" + self._sub(e.b, idx, level, False) + "}", E.P_ATOM
        if isinstance(e, E.Neg):
            return "-" + self._wrap_sub(e.a, idx, level, E.P_POW), E.P_NEG
        if isinstance(e, E.Pow):
            return "{" + self._wrap_sub(e.a, idx, level, E.P_ATOM) + "}^{" + str(e.k) + "}", E.P_POW
        if isinstance(e, E.Transpose):
            v = value_at(e, idx)
            return self._num(v, operand), E.P_ATOM
        if isinstance(e, E.MatVec):
            m = np.atleast_2d(e.m.value)
            v = np.atleast_1d(e.v.value)
            if idx is not None or m.shape[0] == 1:
                row = m[idx if idx is not None else 0]
                if isinstance(row, np.ndarray) and row.ndim > 1:
                    row = row.reshape(-1)
                if len(row) <= MAX_EXPAND:
                    terms = [self._num(a, True) + r" \cdot " + self._num(b, True) for a, b in zip(row, v)]
                    return " + ".join(terms), (E.P_ADD if len(terms) > 1 else E.P_MUL)
                return self.fmt.row_vector(row) + " " + self.fmt.column(v), E.P_MUL
            return self.fmt.matrix(m) + " " + self.fmt.column(v), E.P_MUL
        if isinstance(e, E.Outer):
            if idx is not None:
                j, i = idx if isinstance(idx, tuple) else (idx, None)
                a = np.atleast_1d(e.a.value)[j]
                b = np.atleast_1d(e.b.value)[i] if i is not None else np.atleast_1d(e.b.value)
                return self._num(a, True) + r" \cdot " + self._num(b, True), E.P_MUL
            # a column times a row ([0.1; 0.2] [0.3, 0.4]), never two lists side by side
            return self.fmt.column(e.a.value) + " " + self.fmt.row_vector(e.b.value), E.P_MUL
        if isinstance(e, (E.Sum, E.Mean)):
            if idx is None and e.arg.size <= MAX_EXPAND:
                parts = [self._wrap_sub(e.arg, j, level, E.P_ADD + 1) for j in range(e.arg.size)]
                inner = " + ".join(parts)
            else:
                inner = r"\sum " + self._num(e.arg.value, True)
            if isinstance(e, E.Mean):
                return r"\frac{1}{" + str(e.arg.size) + "}" + _paren(inner), E.P_MUL
            return inner, E.P_ADD
        if isinstance(e, E.Func):
            if level >= 2:
                return self._num(value_at(e, idx), operand), E.P_ATOM
            arg_idx = idx if e.elementwise else None
            if level >= 1:
                inner = self._num(value_at(e.arg, arg_idx), False)
            else:
                inner = self._sub(e.arg, arg_idx, level, False)
            text = _apply(e.tex, inner)
            if idx is not None and not e.elementwise and e.size > 1:
                j = idx[0] if isinstance(idx, tuple) else idx
                text = "{" + text + "}_{" + str(j + 1) + "}"
            return text, E.P_ATOM
        raise TypeError(f"cannot print {type(e).__name__}")

    # -- the chain --------------------------------------------------------------------
    def chain(self, e: E.Expr, idx=None, substitute: bool = True) -> list[str]:
        """The forms between the symbolic line and the value, without repeats:
        numbers put in (unless ``substitute`` is False); function arguments evaluated;
        functions evaluated."""
        value = self.fmt.value(value_at(e, idx))
        if isinstance(e, (E.Sym, E.Const)):
            return []
        has_func = any(isinstance(n, E.Func) for n in E.walk(e))
        forms = [self.substituted(e, idx, 0)] if substitute else []
        if has_func:
            forms.append(self.substituted(e, idx, 1))
            if not isinstance(e, E.Func):
                forms.append(self.substituted(e, idx, 2))
        def norm(text):  # "-0.5" (a Neg's sign) and "−0.5" (a formatted number) are the same line
            return text.replace("−", "-").replace(r"\left(", "(").replace(r"\right)", ")").replace(" ", "")
        out, seen = [], {norm(value)}
        for f in forms:
            if norm(f) not in seen:
                seen.add(norm(f))
                out.append(f)
        return out

    def value(self, e: E.Expr, idx=None) -> str:
        return self.fmt.value(value_at(e, idx))
