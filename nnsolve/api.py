"""The Python API (``import nnsolve``): the same solver as the command line, for scripts and
notebooks. Every function raises :class:`nnsolve.InputError` for bad input, carrying the
file, line, column and key path of the problem."""
from __future__ import annotations

import os
from typing import Any

from .errors import InputError


def _plain(value: Any, path=()):
    """A problem given as Python data: numpy arrays and numbers become plain lists and floats."""
    import numpy as np
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise InputError(f"keys are texts, got {k!r}", file="<dict>", path=path)
            out[k] = _plain(v, path + (k,))
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(v, path + (i,)) for i, v in enumerate(value)]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist(), path)
    if isinstance(value, np.generic):
        return value.item()
    return value


def _located(problem, name: str = "<dict>"):
    from .loader import Located, load_file, load_text
    if isinstance(problem, dict):
        return Located(_plain(problem), name, {})
    if isinstance(problem, (str, os.PathLike)):
        text = os.fspath(problem)
        if "\n" in text or text.lstrip().startswith("kind:"):  # YAML text, not a path
            return load_text(text, "<text>")
        return load_file(text)
    raise InputError(f"expected a problem file's path, its YAML text or a dict, got {type(problem).__name__}",
                     file="<api>")


def solve(problem, precision: int | None = None, rounding: int | None = None, given: dict | None = None):
    """Solve a problem and return its :class:`~nnsolve.working.Working`.

    ``problem``: the path of a problem file, its YAML text, or a dict with the same keys
    (numpy arrays allowed). ``precision``: decimals shown; ``rounding``: hand rounding to that
    many decimals (both override the file); ``given``: {result path: value} put in place of
    the computed values, later steps computed from them.

    >>> w = nnsolve.solve("problems/lstm_seed.yaml")
    >>> round(w.results["h"][0][0], 4)
    0.5363
    """
    from .core import solve_located
    return solve_located(_located(problem), precision, rounding, given)


def check(problem, answers):
    """Mark a student's answers (an answers file's path, or a dict {result path: value}, or
    {"answers": {...}, "tolerance": {...}}) against a problem (a path, YAML text or dict).
    Returns the report: ``.items`` (each with path, given, expected, status, diagnosis,
    explanation, follow_through_value), ``.first_wrong``, ``.summary``, ``.to_dict()``."""
    from .check import Solver, check_with
    solver = Solver(_located(problem))
    name = os.fspath(problem) if isinstance(problem, (str, os.PathLike)) and "\n" not in str(problem) else "<problem>"
    return check_with(solver, answers, name)


def derive(expression: str, wrt: str | None = None, at: dict | None = None, precision: int = 4):
    """Differentiate a catalogue name (sigmoid, gelu, bce, …) or an expression rule by rule.
    Returns a Working (shown like any other; ``.results`` holds the JSON contract of
    ``nnsolve derive --format json``: variable, expression, derivative, steps, identity).
    ``at``: values to put in, e.g. {"x": 0.5}."""
    from .derive import command as cmd
    from .derive import catalogue
    from .derive.engine import _OutOfTime, time_limit
    name = catalogue.lookup(expression)
    checked = None
    if name is None:
        from .derive.safe_parse import check as safe_check
        checked = safe_check(expression)
    pairs = [(k, ",".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)) for k, v in (at or {}).items()]
    try:
        with time_limit(cmd.TIME_LIMIT):
            plan = cmd._plan(expression, name, checked, wrt)
            plan.run()
            values = cmd._evaluate(plan, pairs)
            working = cmd._working(plan, values, precision)
            working.results = cmd._json(plan, values)
    except _OutOfTime:
        raise InputError(f"the derivation took longer than {cmd.TIME_LIMIT:g} s; try a simpler expression",
                         file=cmd.WHERE) from None
    return working


def kinds() -> dict[str, str]:
    """The problem kinds: {name: one-line summary}."""
    from .kinds import summaries
    return summaries()
