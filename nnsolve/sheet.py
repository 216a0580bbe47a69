"""The one recorder: every quantity a solver computes goes through :meth:`Page.step`.

A solver writes each formula once, with the operations of :mod:`nnsolve.ops`, and hands it
to a page of the sheet together with the quantity's result path (``check.md``: ``h[2]``,
``history[3].v``, ``weights[1]``; or None for a quantity only the working names)::

    f = page.step(("f", t), f"f_{{{t}}}", ops.sigma(Wf @ x + Uf @ h + bf), "Forget gate")

In that one call, in one place, the sheet

- records the step with its formula (a shown page) or just computes (a silent page, for
  the steps nobody reads; both run the same formula, so their values agree bit for bit);
- rounds the value to N decimals under hand rounding (``rounding: N``);
- replaces it by a given value (a student's answer: later steps are then computed from
  it, which is what marking with error carried forward needs);
- remembers it under its path: ``results`` are what the sheet remembered.

Kinds need no code of their own for any of this.
"""
from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from . import ops
from .expr import Expr, Sym
from .working import Math, Step, Table, Text, Working

Path = tuple  # ("h", 2) = h[2]; ("history", 3, "v") = history[3].v; indices count from 1


def path_text(path: Path) -> str:
    """("history", 3, "v") -> "history[3].v"."""
    out = ""
    for part in path:
        if isinstance(part, str):
            out += ("." if out else "") + part
        else:
            out += f"[{part}]"
    return out


def parse_path(text: str) -> Path:
    """"history[3].v" -> ("history", 3, "v"). Raises ValueError on a malformed path."""
    import re
    text = text.strip()
    out: list = []
    pos = 0
    for m in re.finditer(r"\.?([A-Za-z_][A-Za-z_0-9]*)|\[\s*(\d+)\s*\]", text):
        if m.start() != pos:
            raise ValueError(text)
        if m.group(1) is not None:
            if m.group(0).startswith(".") and not out:
                raise ValueError(text)
            out.append(m.group(1))
        else:
            if not out or int(m.group(2)) < 1:
                raise ValueError(text)
            out.append(int(m.group(2)))
        pos = m.end()
    if pos != len(text) or not out or not isinstance(out[0], str):
        raise ValueError(text)
    return tuple(out)


class Sheet:
    """Where one solve keeps its numbers. ``rounding``: decimals of hand rounding (or None);
    ``given``: {path: value} put in place of the computed values."""

    def __init__(self, working: Working, *, rounding: int | None = None, given: dict | None = None):
        self.working = working
        self.rounding = rounding
        self.given = {(parse_path(k) if isinstance(k, str) else tuple(k)): v for k, v in (given or {}).items()}
        self._given_heads = {k[0] for k in self.given}
        self._under: dict = {}  # every prefix of a given path -> [(the rest of the path, value)]
        for key, value in self.given.items():
            for n in range(1, len(key) + 1):
                self._under.setdefault(key[:n], []).append((key[n:], value))
        self.memory: dict = {}
        self.computed: dict = {}  # path -> value computed before a given value replaced it
        self.order: list[Path] = []  # result paths in the order the working computes them
        self.final = False
        self.wanted: set | None = None  # stop solving once these paths are settled (marking)
        self.silent = Page(self, None)  # computes and remembers
        self.scratch = Page(self, None, keep=False)  # computes only (a what-if: the updated network)

    @property
    def quick(self) -> bool:
        """True when a silent step would only compute and remember its value: no hand
        rounding, no given values, no wanted set, no slip in force. A kind may then run a
        long loop of silent steps on numbers directly (the same operations in the same
        order) and remember what it computed at once (:meth:`remember_steps`)."""
        return self.rounding is None and not self.given and self.wanted is None and not self.final \
            and ops.plain()

    # -- pages --------------------------------------------------------------------------
    def section(self, title: str, level: int = 2, detail: bool = False, builder=None) -> "Page":
        """A section of the working. With a ``builder`` (a function of the page), its steps are
        made only when a renderer first reads them, under the same rounding and given values."""
        if builder is None:
            return Page(self, self.working.section(title, level, detail))

        def build(section):
            with ops.rounding(self.rounding), np.errstate(all="ignore"):
                builder(Page(self, section))
        return Page(self, self.working.section(title, level, detail, builder=build))

    def rules(self, title: str, write) -> None:
        """A section stating formulas without numbers: ``write(page)`` runs the same formulas
        the steps run, with quantities named symbolically (x_t, h_{t−1}), on a rules page,
        which writes them as display formulas, when a renderer first reads the section."""
        def build(section):
            with np.errstate(all="ignore"):  # the rules' values are the first step's (an overflow is reported there)
                write(RulePage(self, section))
        self.working.section(title, builder=build)

    # -- the one place ------------------------------------------------------------------
    def settle(self, path: Path | None, value, scalar: bool = False, *, name: str | None = None,
               finite: bool = True) -> np.ndarray:
        """Round, replace, remember: the value the rest of the working goes on with. A value
        beyond float64 (an overflow: ±∞ or NaN) stops the solve (NotFinite), unless
        ``finite`` is False (a norm whose logarithm is the result) or given values replace
        computed ones (marking: a student's value may be wild; the working shows it)."""
        v = np.asarray(value, dtype=float) + 0.0  # + 0.0: no negative zeros in the results
        # finite: the sum is (one reduction; a sum beyond float64 of finite numbers is looked at closely)
        if finite and not self.given and not math.isfinite(np.add.reduce(v, axis=None)) and not np.isfinite(v).all():
            raise NotFinite(path_text(path) if path is not None else name, v)
        if scalar:
            v = v.reshape(())
        if self.rounding is not None:
            v = ops.round_half_away(v, self.rounding)
        if path is None:
            return v
        if self.given and path in self._under:
            if not self.final:
                self.computed[path] = v  # what the working computed from the values before it
            v = self._replace(path, v)
        self.remember(path, v)
        return v

    def _replace(self, path: Path, v: np.ndarray) -> np.ndarray:
        for rest, new in self._under.get(path, ()):  # the quantity itself or one of its components
            rest = tuple(i - 1 for i in rest)
            if not all(isinstance(i, int) for i in rest):
                continue
            if not rest:
                v = np.broadcast_to(np.asarray(new, dtype=float), v.shape).copy() if v.shape else \
                    np.asarray(new, dtype=float).reshape(())
            elif len(rest) <= v.ndim and all(0 <= i < s for i, s in zip(rest, v.shape)):
                v = v.copy()
                v[rest] = new
        return v

    def remember(self, path: Path, value: Any) -> None:
        """Keep a result under its path (also for counts and flags, which no step computes)."""
        if self.final:
            return
        node = self.memory
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
        self.order.append(path)
        if self.wanted is not None:
            self.wanted.discard(path)
            if not self.wanted:
                raise Enough()

    def remember_steps(self, page: "Page", names, ts, series: dict) -> None:
        """What a loop of silent steps remembers, at once: at each step t of ``ts``, in order,
        (name, t) = series[name][t − 1] for each of ``names`` in order (under the page's paths).
        For a kind's loop on numbers when the sheet is :attr:`quick`."""
        if self.final:
            return
        heads = [page.path((name, 1))[:-1] for name in names]
        for head, name in zip(heads, names):
            node = self.memory
            for part in head:
                node = node.setdefault(part, {})
            rows = series[name]
            node.update((t, rows[t - 1]) for t in ts)
        self.order.extend([head + (t,) for t in ts for head in heads])

    def result(self, path: Path, value, *, exact: bool = False, scalar: bool = False, finite: bool = True):
        """A result no formula computes (a copy of an earlier value, a count, a flag): numbers
        are settled like a step's value, unless ``exact`` (counts, flags, labels).
        ``finite`` False: ±∞ is a value here (a norm beyond float64, its log10 the result)."""
        if exact:
            self.remember(path, value)
            return value
        return self.settle(path, value, scalar, finite=finite)

    def results(self) -> dict:
        """What the sheet remembered, as plain nested data: {1: a, 2: b} becomes [a, b]."""
        self.final = True
        return _plain(self.memory)


def _plain(node):
    if not isinstance(node, dict):
        if isinstance(node, (np.ndarray, np.generic)):
            return node.tolist()  # plain numbers and nested lists, as the JSON contract has them
        return node
    if node and all(isinstance(k, int) for k in node):
        items = [node[k] for k in sorted(node)]
        first = items[0]
        if len(items) > 8 and isinstance(first, np.ndarray) and \
                all(type(a) is np.ndarray and a.shape == first.shape and a.dtype == first.dtype for a in items):
            return np.array(items).tolist()  # a long series (h[1] … h[T]): one conversion, the same lists
        return [_plain(a) for a in items]
    return {k: _plain(v) for k, v in node.items()}


class NotFinite(ArithmeticError):
    """A quantity of the working is beyond float64 (±∞, or NaN after an overflow): raised by
    the sheet, turned into an input error by the solver (nnsolve.core) that names the
    quantity and the largest number of the problem."""

    def __init__(self, name, value):
        super().__init__(name)
        self.name = name
        self.value = np.asarray(value)


class Enough(Exception):
    """Raised by the sheet once every wanted path is settled: the rest of the solve is
    not needed (marking re-solves a problem many times for one or two quantities)."""


class Page:
    """A section of the working that records (``shown``), or the silent page that only
    computes. Both take the same calls, so a formula is written once for both."""

    def __init__(self, sheet: Sheet, section, keep: bool = True):
        self.sheet = sheet
        self.section = section
        self.shown = section is not None
        self.keep = keep  # settle its quantities under their paths (not for a what-if)

    def path(self, path: Path | None) -> Path | None:
        """Where this page's results sit (a layer's page puts them under layers[j])."""
        return path

    def sym(self, tex: str, value):
        """A named quantity for the formulas: a Sym on a shown page, the array on a silent one."""
        if self.shown:
            return Sym(tex, value)
        return np.asarray(value, dtype=float)

    def step(self, path: Path | None, tex: str, formula, label: str = "", *, note: str | None = None,
             components: bool = True, substitute: bool = True, scalar: bool = False):
        """tex = formula: computed, rounded, replaced, remembered; recorded on a shown page.
        Returns the quantity for later formulas (Sym or array)."""
        v = self.sheet.settle(path if self.keep else None, ops.value(formula), scalar, name=tex)
        if not self.shown:
            return v
        expr = formula if isinstance(formula, Expr) else Sym(tex, formula)
        if expr.value is not v and not np.array_equal(expr.value, v):
            expr = copy.copy(expr)  # rounded or replaced: printed as the formula, valued as settled
            expr.value = v
        self.section._blocks.append(Step(label, tex, expr, note, components, substitute,
                                         id=None if path is None else path_text(path)))
        return Sym(tex, v)

    def table(self, columns, rows, title=None, note=None):
        if self.shown:
            self.section._blocks.append(Table(list(columns), [list(r) for r in rows], title, note))

    def text(self, text: str, kind: str = "text") -> None:
        if self.shown:
            self.section._blocks.append(Text(text, kind))

    def math(self, tex: str, label: str | None = None) -> None:
        if self.shown:
            self.section._blocks.append(Math(tex, label))


class RulePage(Page):
    """A page whose steps are the rules: ``tex = formula`` in symbols only, nothing settled
    or remembered."""

    def __init__(self, sheet: Sheet, section):
        super().__init__(sheet, section)

    def step(self, path, tex, formula, label="", *, note=None, components=True, substitute=True, scalar=False):
        from .render.formula import symbolic
        if isinstance(formula, Expr):
            self.section._blocks.append(Math(f"{tex} = {symbolic(formula)}", label or None))
        return Sym(tex, ops.value(formula))
