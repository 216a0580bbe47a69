"""Numbers as a careful hand writes them, in one place for every renderer.

- A value given exactly (0.7, 2, -0.5) shows as given; a computed value shows with
  ``precision`` decimals (0.8520).
- A value too small for the precision never shows as 0.0000: it switches to scientific
  notation (3.2 × 10⁻⁵); so does a very large one.
- Put into a formula, a negative number gets parentheses: 0.5 · (−1).
- Vectors and matrices are written in brackets.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


_WRITTEN: dict = {}  # (format, wrap_negative, x) -> text: a page writes the same numbers many times
_WRITTEN_MOST = 1 << 16


@dataclass(frozen=True)
class NumberFormat:
    precision: int = 4
    style: str = "unicode"  # unicode | latex | plain
    fixed: bool = False  # every number with ``precision`` decimals (one column of a table)

    @property
    def minus(self) -> str:
        return "−" if self.style == "unicode" else "-"

    def scalar(self, x, *, wrap_negative: bool = False) -> str:
        """One number. wrap_negative: inside a formula, a negative number gets parentheses."""
        if type(x) is float or type(x) is np.float64:  # the common case: written once, then looked up
            key = (self.precision, self.style, self.fixed, wrap_negative, float(x))
            text = _WRITTEN.get(key)
            if text is None:
                text = self._scalar(x, wrap_negative=wrap_negative)
                if len(_WRITTEN) >= _WRITTEN_MOST:
                    _WRITTEN.clear()
                if math.isfinite(x):
                    _WRITTEN[key] = text
            return text
        return self._scalar(x, wrap_negative=wrap_negative)

    def _scalar(self, x, *, wrap_negative: bool = False) -> str:
        if isinstance(x, (bool, np.bool_)):
            return "true" if x else "false"
        if isinstance(x, str):
            return x
        x = float(x)
        if math.isnan(x):
            text = "NaN"
        elif math.isinf(x):
            text = ("-" if x < 0 else "") + ("\\infty" if self.style == "latex" else "∞")
        else:
            text = self._finite(x)
        if text.startswith("-"):
            text = self.minus + text[1:]
            if wrap_negative:
                text = (r"\left(" + text + r"\right)") if self.style == "latex" else f"({text})"
        return text

    def _finite(self, x: float) -> str:
        p = max(0, int(self.precision))
        if self.fixed and (x == 0 or 0.5 * 10 ** (-p) <= abs(x) < 1e7):
            return f"{x + 0.0:.{p}f}"
        if x == 0:
            return "0"
        ax = abs(x)
        # Fast path for a computed value (the common case): not exact at p decimals, so
        # not exact at fewer either, and in the plain range.
        if 0.5 * 10 ** (-p) <= ax < 1e7 and abs(x - round(x, p)) > 1e-12 * ax:
            return f"{x:.{p}f}"
        # Exactly given values (0.7, 2, -0.5) as given, when they fit the precision.
        for k in range(0, p + 1):
            r = round(x, k)
            if abs(x - r) <= 1e-12 * ax:
                if ax >= 1e7:
                    break
                return f"{r:.{k}f}" if k else str(int(r))
        if ax < 0.5 * 10 ** (-p) or ax >= 1e7:
            return self._scientific(x, max(p - 1, 1))
        return f"{x:.{p}f}"

    def _scientific(self, x: float, digits: int) -> str:
        mant, exp = f"{x:.{digits}e}".split("e")
        exp = int(exp)
        if self.style == "latex":
            return f"{mant} \\times 10^{{{exp}}}"
        if self.style == "plain":
            return f"{mant}e{exp}"
        return f"{mant} × 10{str(exp).translate(SUPERSCRIPT)}"

    def value(self, v, *, wrap_negative: bool = False) -> str:
        """A scalar, vector or matrix. Length-1 vectors and 1×1 matrices read as scalars."""
        a = np.asarray(v) if not isinstance(v, (str, bool)) else v
        if isinstance(a, np.ndarray):
            if a.dtype == object:
                return str(v)
            if a.size == 1:
                return self.scalar(a.reshape(-1)[0], wrap_negative=wrap_negative)
            if a.ndim == 1:
                return self.vector(a)
            if a.ndim == 2:
                return self.matrix(a)
            return "[" + ", ".join(self.value(s) for s in a) + "]"
        return self.scalar(v, wrap_negative=wrap_negative)

    def vector(self, a) -> str:
        items = [self.scalar(x) for x in np.asarray(a).reshape(-1)]
        if self.style == "latex":
            return r"\begin{bmatrix}" + r" \\ ".join(items) + r"\end{bmatrix}"
        return "[" + ", ".join(items) + "]"

    def row_vector(self, a) -> str:
        items = [self.scalar(x) for x in np.asarray(a).reshape(-1)]
        if self.style == "latex":
            return r"\begin{bmatrix}" + " & ".join(items) + r"\end{bmatrix}"
        return "[" + ", ".join(items) + "]"

    def matrix(self, a) -> str:
        """A matrix in one line: [1, 2; 3, 4] (rows separated by semicolons, as a column
        vector [1; 2]); in LaTeX a bmatrix."""
        a = np.asarray(a)
        if self.style == "latex":
            rows = [" & ".join(self.scalar(x) for x in row) for row in a]
            return r"\begin{bmatrix}" + r" \\ ".join(rows) + r"\end{bmatrix}"
        return "[" + "; ".join(", ".join(self.scalar(x) for x in row) for row in a) + "]"

    def column(self, a) -> str:
        """A column vector: [1; 2] (in LaTeX a bmatrix with one column)."""
        items = [self.scalar(x) for x in np.asarray(a).reshape(-1)]
        if self.style == "latex":
            return r"\begin{bmatrix}" + r" \\ ".join(items) + r"\end{bmatrix}"
        return "[" + "; ".join(items) + "]"

    def matrix_lines(self, a) -> list[str]:
        """A matrix (or a column vector) as a block of lines, its columns aligned, in
        brackets drawn over the lines: ⎡1  2⎤ / ⎣3  4⎦."""
        a = np.asarray(a)
        if a.ndim == 1:
            a = a.reshape(-1, 1)
        cells = [[self.scalar(x) for x in row] for row in a]
        widths = [max(len(r[k]) for r in cells) for k in range(a.shape[1])]
        body = ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]
        if len(body) == 1:
            return ["[" + body[0] + "]"]
        out = []
        for k, b in enumerate(body):
            left, right = ("⎡", "⎤") if k == 0 else (("⎣", "⎦") if k == len(body) - 1 else ("⎢", "⎥"))
            out.append(left + b + right)
        return out


def to_json(v):
    """Full float64 values as plain JSON numbers and nested lists."""
    t = type(v)
    if t is float or t is int or t is str or t is bool or v is None:
        return v
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, dict):
        return {k: to_json(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        if v and type(v[0]) is float and set(map(type, v)) == {float}:  # (map and set run in C)
            return list(v)
        if v and isinstance(v[0], np.ndarray) and v[0].dtype != object:
            shape = v[0].shape
            if all(isinstance(x, np.ndarray) and x.shape == shape for x in v):
                return np.stack(v).tolist()  # one conversion for a whole sequence
        return [to_json(x) for x in v]
    return v
