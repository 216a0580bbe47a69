"""Exam variants: a problem file with its given numbers redrawn, each checked to make a fair
question, with its answer key (``nnsolve vary``; the contract is ``spec/vary.md``).

Which numbers are the *given numbers* comes from the kind's declaration
(:func:`nnsolve.given.fields`): the leaves of its ``number``, ``vector`` and ``matrix`` keys,
of lists of vectors, and of the items of declared lists and mappings (``layers[*].weights``,
``samples[*].x``). Whole numbers (``integer`` keys: epochs, sizes), choices, texts, tokens
and booleans are never changed; targets and desired outputs (keys ``target`` and ``d``) are
labels and stay too; in a key of type ``any`` only numbers written with a decimal point
vary (a whole number there may be a class index). The ``vary`` block of the file may name
any number to change or to fix.

A number is redrawn, by default, with the sign and the decimals it is written with (at
most 2), uniformly among the numbers of that many decimals in [½|x|, 2|x|]; 0 stays 0. The
draw is exact decimal arithmetic on whole numbers of units of the last decimal, with
Python's ``random.Random(seed)``, so a file, a count and a seed give the same variants on
every machine.

Each variant is solved (the Python API's solver) and kept only when it makes a fair
question:

- no σ or tanh is taken of a value beyond ±4 (saturated: every answer ≈ 0 or ±1);
- no step/sign unit sees |v| < 0.05 (a tie a rounding slip could flip); an exact 0 where
  the original has one too (zero initial weights and bias) is the problem's design and
  stays allowed;
- a problem whose results say ``converged`` (a perceptron) still converges when the
  original did;
- it is a valid problem, its results are finite, and it has every asked quantity;
- it is not alike the original or an earlier variant.

The σ/tanh/step arguments are read from the working itself: every step's formula is an
``Expr`` tree, and its ``Func`` nodes carry the function (``.tex``) and the value of its
argument, so the rules hold for every kind with no code in the kind.
"""
from __future__ import annotations

import contextlib
import functools
import html
import math
import os
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation

import numpy as np

from .errors import InputError

MAX_COUNT = 10_000
MAX_DRAWS = 1_000          # failed draws for one variant before giving up
SATURATED = 4.0            # |argument| of σ / tanh above this is saturated
TIE = 0.05                 # |v| of a step / sign unit below this is a tie
DEFAULT_DECIMALS = 2       # a drawn number keeps its decimals, at most this many
MAX_DECIMALS = 6           # decimals a vary rule may ask for
LABELS = ("target", "d")   # targets and desired outputs: labels, never redrawn by default
# (nor a value that is a list of -1s, 0s and 1s only: a mask, a one-hot or bipolar code)
NOT_GIVEN = ("kind", "title", "precision", "rounding", "remarks", "vary", "ask")
DROPPED = ("remarks", "vary", "ask")  # not carried into a variant (remarks speak of the original's numbers)

# The quantities a question asks for when the file has no `ask`: result names; "[T]" is the
# last time step of a result computed step by step (the whole result otherwise).
DEFAULT_ASK = {
    "lstm": ("h[T]", "c[T]"),
    "gru": ("h[T]",),
    "rnn": ("y_hat[T]", "loss"),
    "bptt": ("loss", "grad_U", "grad_W", "grad_V"),
    "mlp": ("output", "loss", "weights"),
    "perceptron": ("weights", "bias", "epochs"),
}

_SQUASH = re.compile(r"^\\(sigma|tanh)(_\{a\})?$")
_THRESHOLD = re.compile(r"step|sgn|sign|hardlim|heaviside", re.I)


@functools.lru_cache(maxsize=256)
def function_kind(tex: str | None) -> str | None:
    """'squash' for σ and tanh, 'threshold' for a step or sign unit (not their derivatives)."""
    if not tex or tex.endswith("'"):
        return None
    if _SQUASH.match(tex):
        return "squash"
    if _THRESHOLD.search(tex):
        return "threshold"
    return None

RULES = {
    "saturated": "no sigmoid or tanh pre-activation beyond ±4",
    "tie": "no step/sign unit with |v| < 0.05",
    "converge": "the perceptron converges within max_epochs, as the original does",
    "duplicate": "no two variants alike (nor alike the original)",
    "invalid": "the variant is a valid problem",
    "nonfinite": "every result is a finite number",
    "asked": "the variant has every asked quantity",
}


# -- the given numbers ------------------------------------------------------------------------

@dataclass
class Leaf:
    """One number of the problem file."""
    path: tuple            # data path: keys, and list indices from 0 (as Located.marks)
    value: float | int
    text: str              # as written in the file
    decimals: int          # as written
    label: bool = False    # a target / desired output
    loose: bool = False    # in a key of type any: only a number written with a point varies
    draw: tuple | None = None  # (low, high, decimals): k in [low, high], the number k·10^-decimals
    rule: str = "default"  # default | fixed | range (from the vary block), for messages

    @property
    def varies(self) -> bool:
        return self.draw is not None


def _exact(text: str, value) -> Decimal:
    try:
        return Decimal(text)
    except (InvalidOperation, ValueError):
        return Decimal(repr(value))


def _decimals_of(text: str, value) -> int:
    d = _exact(text, value)
    exp = d.as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 0


def number_text(k: int, decimals: int) -> str:
    """k units of 10^-decimals as a decimal numeral: (−45, 2) -> "-0.45"."""
    sign = "-" if k < 0 else ""
    digits = str(abs(k))
    if decimals == 0:
        return sign + digits
    digits = digits.rjust(decimals + 1, "0")
    return f"{sign}{digits[:-decimals]}.{digits[-decimals:]}"


def number_value(k: int, decimals: int, was_int: bool):
    return int(k) if decimals == 0 and was_int else float(number_text(k, decimals))


def _units(lo: Decimal, hi: Decimal, decimals: int) -> tuple[int, int]:
    """The whole numbers k with lo ≤ k·10^-decimals ≤ hi (the first may exceed the second)."""
    q = Decimal(1).scaleb(decimals)
    return int((lo * q).to_integral_value(ROUND_CEILING)), int((hi * q).to_integral_value(ROUND_FLOOR))


def scalar_texts(text: str) -> dict:
    """{data path: the numeral as written} of every plain scalar of a YAML text (the
    loader keeps values, not how they were written: 0.10 has two decimals)."""
    import yaml
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    out: dict = {}
    stack: list = []  # [is_seq, path, index or key, expecting a key]

    def done():
        if stack:
            f = stack[-1]
            if f[0]:
                f[2] += 1
            else:
                f[3] = True

    for ev in yaml.parse(text, Loader=loader):
        if isinstance(ev, (yaml.StreamStartEvent, yaml.StreamEndEvent, yaml.DocumentStartEvent,
                           yaml.DocumentEndEvent)):
            continue
        if isinstance(ev, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            stack.pop()
            done()
            continue
        if stack and not stack[-1][0] and stack[-1][3]:  # a mapping key
            stack[-1][2] = ev.value if isinstance(ev, yaml.ScalarEvent) else None
            stack[-1][3] = False
            if isinstance(ev, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                return out  # a complex key: the loader refuses these anyway
            continue
        path = () if not stack else stack[-1][1] + (stack[-1][2],)
        if isinstance(ev, yaml.ScalarEvent):
            if not ev.style:
                out[path] = ev.value
            done()
        elif isinstance(ev, yaml.SequenceStartEvent):
            stack.append([True, path, 0, False])
        elif isinstance(ev, yaml.MappingStartEvent):
            stack.append([False, path, None, True])
        else:  # an alias: its numbers are written elsewhere
            done()
    return out


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _numbers(value, path, out, texts, *, label, loose):
    if _is_number(value):
        text = texts.get(path, repr(value))
        out.append(Leaf(path, value, text, _decimals_of(text, value), label, loose))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _numbers(v, path + (i,), out, texts, label=label, loose=loose)
    elif isinstance(value, dict):
        for k, v in value.items():
            _numbers(v, path + (k,), out, texts, label=label, loose=loose)


def _walk_fields(data: dict, flds, path, out, texts):
    by_key = {f.key: f for f in flds}
    for key, value in data.items():
        f = by_key.get(key)
        if f is None or (not path and key in NOT_GIVEN):
            continue
        _walk_field(value, f, path + (key,), out, texts)


def _binary(value) -> bool:
    """A list of the whole numbers −1, 0 and 1 only (a mask, a one-hot or bipolar code,
    the inputs of a logic gate)."""
    flat: list = []

    def collect(v):
        if isinstance(v, list):
            for x in v:
                collect(x)
        else:
            flat.append(v)
    collect(value)
    return isinstance(value, list) and len(flat) >= 2 and all(
        isinstance(x, int) and not isinstance(x, bool) and x in (-1, 0, 1) for x in flat)


def _walk_field(value, f, path, out, texts):
    label = f.key in LABELS or _binary(value)
    if f.type in ("number", "vector", "matrix"):
        _numbers(value, path, out, texts, label=label, loose=False)
    elif f.type == "list":
        if f.fields and isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    _walk_fields(item, f.fields, path + (i,), out, texts)
        elif (f.of or "") in ("vector", "matrix", "number"):
            _numbers(value, path, out, texts, label=label, loose=False)
    elif f.type == "mapping" and isinstance(value, dict):
        if f.fields:
            _walk_fields(value, f.fields, path, out, texts)
        else:
            _numbers(value, path, out, texts, label=label, loose=True)
    elif f.type == "any":
        _numbers(value, path, out, texts, label=label, loose=True)
    # integer, boolean, string, choice, lists of tokens or texts: never


def given_numbers(data: dict, kind: str, texts: dict) -> list[Leaf]:
    """The numbers of a problem file that a variant may redraw, in file order."""
    from .given import fields
    out: list[Leaf] = []
    _walk_fields(data, fields(kind), (), out, texts)
    return out


# -- the vary block -----------------------------------------------------------------------------

def path_text(path) -> str:
    """A data path as the vary block writes it: ("layers", 0, "weights") -> layers[1].weights."""
    out = ""
    for p in path:
        out += f"[{p + 1}]" if isinstance(p, int) else ("." if out else "") + str(p)
    return out


def _parse_key_path(text: str):
    from .sheet import parse_path
    parts = parse_path(text)  # ValueError when malformed
    return tuple(p - 1 if isinstance(p, int) else p for p in parts)


def _exists(data, path) -> bool:
    node = data
    for p in path:
        if isinstance(p, int):
            if not isinstance(node, list) or not 0 <= p < len(node):
                return False
        elif not isinstance(node, dict) or p not in node:
            return False
        node = node[p]
    return True


def _rule_of(loc, key, rule):
    """(kind, low, high, decimals) of one vary entry, checked."""
    where = ("vary", key)
    if isinstance(rule, str) and rule.strip().lower() == "fixed":
        return ("fixed", None, None, None)
    if not isinstance(rule, dict) or not rule:
        raise loc.error(where, "expected fixed or {range: [low, high], decimals: d}")
    for k in rule:
        if k not in ("range", "decimals"):
            raise loc.error(where + (k,), f"unknown key '{k}'; a vary rule has range and decimals "
                                          "(or is the word fixed)")
    lo = hi = dec = None
    if "range" in rule:
        r = rule["range"]
        if not (isinstance(r, list) and len(r) == 2 and all(_is_number(x) for x in r)):
            raise loc.error(where + ("range",), "expected a range [low, high] of two numbers")
        lo, hi = (Decimal(repr(float(x))) if isinstance(x, float) else Decimal(x) for x in r)
        if lo > hi:
            raise loc.error(where + ("range",), f"expected low ≤ high, got [{r[0]}, {r[1]}]")
    if "decimals" in rule:
        d = rule["decimals"]
        if isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= MAX_DECIMALS:
            raise loc.error(where + ("decimals",), f"expected a whole number of decimals 0 … {MAX_DECIMALS}")
        dec = d
    return ("range", lo, hi, dec)


def apply_rules(loc, leaves: list[Leaf]) -> None:
    """Each number's draw: the default, or the most specific rule of the vary block."""
    block = loc.data.get("vary")
    rules = []
    if block is not None:
        if not isinstance(block, dict):
            raise loc.error(("vary",), "expected a mapping of key paths to rules, e.g. "
                                       "vary: {weights.W_f: {range: [-1, 1], decimals: 1}, learning_rate: fixed}")
        for key, rule in block.items():
            try:
                path = _parse_key_path(str(key))
            except ValueError:
                raise loc.error(("vary", key), f"'{key}' is not a key path (keys joined by dots, list "
                                               "items as [i] counted from 1: layers[2].weights)") from None
            spec = _rule_of(loc, key, rule)
            hit = [lf for lf in leaves if lf.path[:len(path)] == path]
            if not hit:
                if not _exists(loc.data, path):
                    tops = list(dict.fromkeys(path_text(lf.path[:2] if len(lf.path) > 1 and
                                                        isinstance(lf.path[1], str) else lf.path[:1])
                                              for lf in leaves))
                    raise loc.error(("vary", key), f"the problem has no '{key}'; its given numbers are "
                                                   f"under: {', '.join(tops) or 'none'}")
                if spec[0] != "fixed":
                    raise loc.error(("vary", key), f"'{key}' holds no given number that a variant may "
                                                   "change (whole numbers such as sizes and epochs, "
                                                   "choices, texts and tokens never change)")
            rules.append((len(path), key, path, spec))
    rules.sort(key=lambda r: r[0])  # the most specific rule applied last wins
    for lf in leaves:
        lf.draw, lf.rule = _default_draw(lf), "default"
        for _, key, path, spec in rules:
            if lf.path[:len(path)] != path:
                continue
            kind, lo, hi, dec = spec
            if kind == "fixed":
                lf.draw, lf.rule = None, "fixed"
                continue
            d = dec if dec is not None else min(lf.decimals, DEFAULT_DECIMALS)
            if lo is None:  # decimals only: the default range
                x = abs(_exact(lf.text, lf.value))
                if x == 0:
                    lf.draw, lf.rule = None, "fixed"
                    continue
                lo_k, hi_k = _units(x / 2, x * 2, d)
                lo_k = max(lo_k, 1)
                if lf.value < 0:
                    lo_k, hi_k = -hi_k, -lo_k
            else:
                lo_k, hi_k = _units(lo, hi, d)
            if lo_k > hi_k:
                span = f"[{lo}, {hi}]" if lo is not None else f"[½|x|, 2|x|] of {lf.text}"
                raise loc.error(("vary", key), f"no number with {d} decimal{'s' if d != 1 else ''} lies in {span}")
            lf.draw, lf.rule = (lo_k, hi_k, d), "range"


def _default_draw(lf: Leaf):
    if lf.label or (lf.loose and "." not in lf.text and "e" not in lf.text.lower()):
        return None
    x = _exact(lf.text, lf.value)
    if x == 0:
        return None  # 0 stays 0
    d = min(lf.decimals, DEFAULT_DECIMALS)
    lo_k, hi_k = _units(abs(x) / 2, abs(x) * 2, d)
    lo_k = max(lo_k, 1)  # the same sign: never 0
    if lo_k > hi_k:
        return None  # too small for 2 decimals (1e-5): kept as written
    return (lo_k, hi_k, d) if x > 0 else (-hi_k, -lo_k, d)


# -- what is asked ------------------------------------------------------------------------------

def _resolve(results, path):
    node = results
    for p in path:
        if isinstance(p, int):
            if not isinstance(node, list) or not 1 <= p <= len(node):
                raise KeyError(p)
            node = node[p - 1]
        else:
            if not isinstance(node, dict) or p not in node:
                raise KeyError(p)
            node = node[p]
    return node


def _leaves(value, path):
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, (int, float)):
        yield path, value
    elif isinstance(value, list):
        for i, v in enumerate(value, start=1):
            yield from _leaves(v, path + (i,))
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, path + (k,))


def asked_values(results, asked) -> list[tuple[str, object]]:
    """(path text, number) of every asked quantity: an array by its components, a
    one-number array under the path asked. KeyError if the results lack one."""
    from .sheet import path_text as ptext
    out = []
    for path in asked:
        value = _resolve(results, path)
        found = list(_leaves(value, path))
        if not found:
            raise KeyError(path)
        if len(found) == 1:
            out.append((ptext(path), found[0][1]))
        else:
            out.extend((ptext(p), v) for p, v in found)
    return out


def _last_step(working, name):
    """(name, T) for a result computed step by step, else (name,)."""
    paths = [p for p in working.sheet.order if p[0] == name] if working.sheet is not None else []
    if paths and all(len(p) == 2 and isinstance(p[1], int) for p in paths):
        return (name, max(p[1] for p in paths))
    return (name,)


def default_ask(working) -> list[tuple]:
    results = working.results
    table = DEFAULT_ASK.get(working.kind)
    if table is not None:
        out = []
        for entry in table:
            name = entry.removesuffix("[T]")
            if name not in results:
                continue
            out.append(_last_step(working, name) if entry.endswith("[T]") else (name,))
        if out:
            return out
    # any other kind: every result that is one number, else the last result it computes
    out = [(k,) for k, v in results.items() if _is_number(v)]
    if not out and working.sheet is not None:
        for name in reversed(list(dict.fromkeys(p[0] for p in working.sheet.order))):
            path = _last_step(working, name)
            if name in results and list(_leaves(_resolve(results, path), path)):
                return [path]
    return out


def read_ask(loc, working) -> list[tuple]:
    """The asked result paths: the file's `ask` (checked against the original's results),
    or the default."""
    from .sheet import parse_path
    raw = loc.data.get("ask")
    if raw is None:
        asked = default_ask(working)
        if not asked:
            raise InputError("the results hold no number to ask for; name them in the file's 'ask'",
                             file=loc.file)
        return asked
    if isinstance(raw, str):
        items = [(("ask",), t) for t in re.split(r"[,\s]+", raw.strip()) if t]
    elif isinstance(raw, list) and raw:
        items = [(("ask", i), t) for i, t in enumerate(raw)]
    else:
        raise loc.error(("ask",), 'expected a list of result paths, e.g. ask: ["h[2]", "c[2]"]')
    names = ", ".join(working.results)
    asked = []
    for where, t in items:
        if not isinstance(t, str):
            raise loc.error(where, f"expected a result path such as h[2] (in quotes inside [ ]), got {t!r}")
        try:
            path = parse_path(t)
        except ValueError:
            raise loc.error(where, f"'{t}' is not a result path (a name, then [i] from 1, .name: "
                                   "h[2], weights[1][2][1], history[3].v)") from None
        try:
            asked_values(working.results, [path])
        except KeyError:
            try:
                value = _resolve(working.results, path)
            except KeyError:
                raise loc.error(where, f"the results have no '{t}'; they are: {names}") from None
            raise loc.error(where, f"'{t}' is {_describe(value)}, not a number a question can ask "
                                   "for") from None
        if path in asked:
            raise loc.error(where, f"'{t}' is asked twice")
        asked.append(path)
    return asked


def _describe(value) -> str:
    if isinstance(value, bool):
        return f"true/false ({str(value).lower()})"
    if isinstance(value, str):
        return f"the text '{value}'"
    return "not a number"


# -- the fairness rules ---------------------------------------------------------------------------

def function_arguments(working):
    """(kind, step, argument array) of every σ / tanh ('squash') and step / sign
    ('threshold') function the working's steps apply."""
    from .expr import Func, walk
    from .working import Step
    for section in working.sections:
        for b in section.blocks:
            if not isinstance(b, Step):
                continue
            for node in walk(b.expr):
                if isinstance(node, Func):
                    kind = function_kind(node.tex)
                    if kind is not None:
                        yield kind, b, node.tex, np.asarray(node.arg.value, dtype=float)


def exact_ties(working) -> set:
    """Where the working's step/sign units see exactly 0."""
    out = set()
    for kind, step, _, arg in function_arguments(working):
        if kind == "threshold":
            for j, v in enumerate(arg.reshape(-1)):
                if v == 0:
                    out.add((step.id or step.lhs, j))
    return out


class Unfair(Exception):
    """A rule broken while the variant is being solved (the solve stops there)."""

    def __init__(self, rule: str, detail: str):
        super().__init__(rule, detail)
        self.rule, self.detail = rule, detail


@functools.lru_cache(maxsize=64)
def _fn_name(tex: str) -> str:
    from .notation import to_unicode
    return to_unicode(tex).strip() or tex


def _check_argument(kind: str, arg: np.ndarray, where, allowed_zeros: set, tex: str, step: str = "") -> None:
    flat = arg.reshape(-1).tolist()  # a handful of numbers: plain floats are quicker
    at = f" in {step}" if step else ""
    if kind == "squash":
        for v in flat:
            if not -SATURATED <= v <= SATURATED:
                raise Unfair("saturated", f"{_fn_name(tex)}({v:.4g}){at}")
    else:
        for j, v in enumerate(flat):
            if -TIE < v < TIE and not (v == 0 and (where, j) in allowed_zeros):
                raise Unfair("tie", f"{_fn_name(tex)}({v:.4g}){at}")


@contextlib.contextmanager
def watching(allowed_zeros: set | None = None, record: list | None = None):
    """While solving, every σ / tanh / step / sign the formulas apply (all go through
    ``ops.func``) is checked at once, so an unfair draw stops at its first broken rule
    instead of being solved and written out; ``record`` collects (kind, call number,
    argument) instead. The working's steps are checked again afterwards (:func:`unfair`)."""
    from . import ops
    real = ops.func
    calls = [0]

    def watched(tex, fn, x, *args, **kwargs):
        out = real(tex, fn, x, *args, **kwargs)
        kind = function_kind(tex)
        if kind is not None:
            n = calls[0]
            calls[0] += 1
            arg = np.asarray(ops.value(x), dtype=float)
            if record is not None:
                record.append((kind, n, arg.copy()))
            else:
                _check_argument(kind, arg, n, allowed_zeros or set(), tex)
        return out

    ops.func = watched
    try:
        yield
    finally:
        ops.func = real


def unfair(working, original) -> tuple[str, str] | None:
    """(rule, detail) of the first fairness rule the working breaks, or None."""
    for path, v in _leaves(working.results, ()):
        if isinstance(v, float) and not math.isfinite(v):
            from .sheet import path_text as ptext
            return "nonfinite", ptext(path)
    if original.converged is True and working.results.get("converged") is False:
        return "converge", f"not converged after {working.results.get('epochs')} epochs"
    try:
        for kind, step, tex, arg in function_arguments(working):
            _check_argument(kind, arg, step.id or step.lhs, original.ties, tex, step.id or step.lhs)
    except Unfair as u:
        return u.rule, u.detail
    return None


# -- the plan: the original, its numbers, its rules --------------------------------------------

@dataclass
class Original:
    loc: object
    name: str                # the file's name without the extension
    basename: str
    kind: str
    title: str | None
    leaves: list
    base: dict               # the data without remarks / vary / ask
    asked: list              # result paths
    precision: int
    converged: object
    ties: set                # (step id, component) where a step/sign unit sees exactly 0
    call_ties: set           # the same as (call number, component) while solving
    asked_paths: list        # the asked quantities, component by component
    key: tuple               # the original's numbers, in draw units


def prepare(path: str, precision: int | None = None) -> Original:
    """Read PROBLEM, its vary and ask blocks, and solve it once."""
    from .core import Problem
    from .loader import load_file
    loc = load_file(path)
    problem = Problem(loc)  # the file is a valid problem (and vary/ask are known keys)
    calls: list = []
    with watching(record=calls):
        working = problem.solve(precision)
    call_ties = {(n, j) for kind, n, arg in calls if kind == "threshold"
                 for j, v in enumerate(arg.reshape(-1)) if v == 0}
    with open(path, "rb") as fh:
        texts = scalar_texts(fh.read().decode("utf-8-sig"))
    leaves = given_numbers(loc.data, problem.kind, texts)
    apply_rules(loc, leaves)
    asked = read_ask(loc, working)
    base = {k: v for k, v in loc.data.items() if k not in DROPPED}
    if not any(lf.varies for lf in leaves):
        raise InputError("no given number of this problem can vary by default (whole-number keys such as "
                         "sizes and epochs, labels and targets, patterns of -1, 0 and 1, zeros and numbers too small for "
                         "2 decimals stay as written); "
                         "give ranges in a vary block, e.g. vary: {learning_rate: {range: [0.1, 1], "
                         "decimals: 1}}", file=loc.file)
    key = tuple(_units_of(lf) for lf in leaves if lf.varies)
    stem = os.path.splitext(os.path.basename(path))[0]
    return Original(loc, stem, os.path.basename(path), problem.kind, problem.title, leaves, base, asked,
                    working.precision, working.results.get("converged"), exact_ties(working), call_ties,
                    [p for p, _ in asked_values(working.results, asked)], key)


def _units_of(lf: Leaf):
    """The original number in the units of its draw (it need not be a whole number of them)."""
    return _exact(lf.text, lf.value).scaleb(lf.draw[2]).normalize()


# -- drawing ----------------------------------------------------------------------------------

@dataclass
class Variant:
    number: int
    name: str
    data: dict
    texts: dict              # data path -> numeral, of every number (drawn or as written)
    asked: list              # (path text, value)
    statement: str = ""      # the working's opening sentence
    symbols: dict = field(default_factory=dict)  # step id -> LaTeX of its left-hand side


class VaryError(InputError):
    """No fair variant could be drawn."""


def _copy(node):
    if isinstance(node, dict):
        return {k: _copy(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_copy(v) for v in node]
    return node


def _parent(data, path):
    node = data
    for p in path[:-1]:
        node = node[p]
    return node


def _set(data, path, value):
    node = data
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value


def _statement(working) -> str:
    from .working import Text
    if not working.sections:
        return ""
    return " ".join(b.text for b in working.sections[0].blocks if isinstance(b, Text) and b.kind == "text")


def _symbols(working) -> dict:
    from .working import Step
    out = {}
    for s in working.sections:
        for b in s.blocks:
            if isinstance(b, Step) and b.id and b.id not in out:
                out[b.id] = b.lhs
    return out


PARALLEL_FROM = 20   # variants: below this one process does it all
CHUNK = 16           # candidates per worker per round


def _build(orig: Original, moving, ks):
    """The data and the numerals of the candidate draw ``ks``."""
    data = _copy(orig.base)
    texts = {lf.path: lf.text for lf in orig.leaves}
    for lf, k in zip(moving, ks):
        d = lf.draw[2]
        _set(data, lf.path, number_value(k, d, isinstance(lf.value, int)))
        texts[lf.path] = number_text(k, d)
    return data, texts


_JOB: dict = {}  # what a worker process needs (inherited by fork): orig, moving, precision, render


# -- the screen: most draws break a rule (often 9 in 10 saturate a gate), so each is first
# solved from the original's problem with its numbers put straight into the arrays the reader
# made (no reading), stopping at the first broken rule; a draw that passes is then read and
# judged in full as before, so what is kept, and every byte written, is as without it.

def _slot_containers(node, marks: dict, where: list, depth: int = 0) -> None:
    """Every place in a read problem (dataclasses, dicts, lists, float arrays) holding one of
    the marker values: appends (container, index, leaf number)."""
    if depth > 12:
        return
    if isinstance(node, np.ndarray):
        if node.dtype.kind == "f":
            for idx in zip(*np.nonzero(np.isin(node, list(marks)))):
                where.append((node, tuple(int(i) for i in idx), marks[float(node[idx])]))
        return
    if isinstance(node, dict):
        items = list(node.items())
    elif isinstance(node, (list, tuple)):
        items = list(enumerate(node))
    elif hasattr(node, "__dataclass_fields__"):
        items = [(f, getattr(node, f)) for f in node.__dataclass_fields__]
    else:
        return
    for k, v in items:
        if isinstance(v, float) and v in marks:
            if isinstance(node, (dict, list)):
                where.append((node, k, marks[v]))
            elif hasattr(node, "__dataclass_fields__"):
                where.append((node, ("attr", k), marks[v]))
        else:
            _slot_containers(v, marks, where, depth + 1)


def _same(a, b, depth: int = 0) -> bool:
    if depth > 12:
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
                and a.dtype == b.dtype and np.array_equal(a, b))
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k], depth + 1) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y, depth + 1) for x, y in zip(a, b))
    if hasattr(a, "__dataclass_fields__"):
        return all(_same(getattr(a, f), getattr(b, f), depth + 1) for f in a.__dataclass_fields__)
    if isinstance(a, float) and a != a:
        return b != b
    return a == b


def _read(orig, moving, ks):
    """The candidate draw KS read as its problem file would be."""
    from .core import Problem
    from .loader import Located
    return Problem(Located(_build(orig, moving, ks)[0], orig.loc.file, orig.loc.marks))


def _put(slots, ks) -> None:
    for node, index, i, d, was_int in slots:
        k = ks[i]
        v = float(k) if d == 0 and was_int else k / 10 ** d
        if isinstance(index, tuple) and index and index[0] == "attr":
            setattr(node, index[1], v)
        else:
            node[index] = v


def make_screen(orig: Original, moving, tries: int = 4):
    """(a problem whose numbers can be set in place, its slots), or None when the kind's
    reader does more with a number than store it (then every draw is read)."""
    if not moving:
        return None
    try:
        data = _copy(orig.base)
        marks = {}
        for i, lf in enumerate(moving):  # a value no other number of the problem has
            v = float(lf.value) * (1 + (i + 1) * 2.0 ** -30)
            if v in marks or v == lf.value:
                return None
            marks[v] = i
            _set(data, lf.path, v)
        from .core import Problem
        from .loader import Located
        problem = Problem(Located(data, orig.loc.file, orig.loc.marks))
        where: list = []
        _slot_containers(problem.problem, marks, where)
        if {i for _, _, i in where} != set(range(len(moving))):
            return None
        slots = [(node, index, i, moving[i].draw[2], isinstance(moving[i].value, int)) for node, index, i in where]
        rng = random.Random(20261123)
        for _ in range(tries):  # set in place, the problem must be the one the reader makes
            ks = tuple(rng.randint(lf.draw[0], lf.draw[1]) for lf in moving)
            try:
                read = _read(orig, moving, ks)
            except InputError:
                continue
            _put(slots, ks)
            if not _same(problem.problem, read.problem):
                return None
        return problem, slots
    except Exception:  # noqa: BLE001 - any surprise: no screen, every draw is read
        return None


def _screened_out(job, ks):
    """(rule, detail) when the draw, solved from the screen's problem, breaks a rule; else
    (None, the working it solved or None)."""
    screen = job.get("screen")
    if screen is None:
        return None, None
    problem, slots = screen
    _put(slots, ks)
    try:
        with watching(job["orig"].call_ties):
            working = problem.solve(job["precision"])
    except Unfair as u:
        return u.rule, u.detail
    except Exception:  # noqa: BLE001 - left to the full judgement
        return None, None
    return None, working


def _evaluate(ks):
    """The verdict on one candidate draw: (rule, detail), or ("ok", asked values, the
    working's statement, its step symbols, the rendered working or None)."""
    from .core import Problem
    from .loader import Located
    job = _JOB
    rule, screened = _screened_out(job, ks)
    if rule is not None:
        return rule, screened
    data = job.get("scratch")
    if data is None:  # one copy of the data per process, its numbers set for each candidate
        data = job["scratch"] = _copy(job["orig"].base)
        job["slots"] = [(_parent(data, lf.path), lf.path[-1], lf.draw[2], isinstance(lf.value, int))
                        for lf in job["moving"]]
    for (node, key, d, was_int), k in zip(job["slots"], ks):
        # k / 10**d is the double nearest the numeral, as float(number_text(k, d)) is
        node[key] = int(k) if d == 0 and was_int else k / 10 ** d
    result = _judge(Problem, Located, job["orig"], data, job["precision"],
                    screened=(job["screen"][0], screened) if screened is not None else None)
    if isinstance(result[0], str):
        return result
    working, asked = result
    render = job["render"]
    return ("ok", asked, _statement(working), _symbols(working), render(working) if render else None)


def _workers(count: int) -> int:
    if count < PARALLEL_FROM:
        return 1
    import multiprocessing
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    return max(1, min(n, 8))


def randint_of(rng: random.Random):
    """rng.randint(a, b) with the same stream of numbers (a + rng._randbelow(b − a + 1), by
    getrandbits as Random does it), without its three calls per number: a thousand variants
    draw a quarter of a million numbers."""
    getrandbits = rng.getrandbits

    def randint(a: int, b: int) -> int:
        n = b - a + 1
        k = n.bit_length()
        r = getrandbits(k)
        while r >= n:
            r = getrandbits(k)
        return a + r
    return randint


def draw_variants(orig: Original, count: int, seed: int, *, precision: int | None = None,
                  render=None, on_accept=None, progress=None, workers: int | None = None,
                  screen: bool = True) -> tuple[list[Variant], Counter]:
    """COUNT fair variants of the original; raises VaryError naming the rule that could not
    be met when 1,000 draws in a row for one variant fail. ``render(working)`` gives the
    text of a key's working (run where the variant is solved); ``on_accept(variant, text)``
    is called for each variant kept, in order. Returns (variants, {rule: draws rejected}).

    The draws are one stream from ``random.Random(seed)``: candidate i is the same numbers
    whatever happened to the candidates before it, and its verdict (fair or the rule it
    breaks) depends on it alone, so the candidates can be judged by several processes at
    once and then taken in order: the result is the same bytes with 1 or 8 workers."""
    if not 1 <= count <= MAX_COUNT:
        raise InputError(f"expected a count 1 … {MAX_COUNT}, got {count}", file="nnsolve vary")
    rng = random.Random(seed)
    moving = [lf for lf in orig.leaves if lf.varies]
    rint, bounds = randint_of(rng), [(lf.draw[0], lf.draw[1]) for lf in moving]
    width = max(2, len(str(count)))
    seen = {orig.key: "duplicate"}  # draw -> the rule it broke (a duplicate once accepted)
    rejected: Counter = Counter()
    variants: list[Variant] = []
    _JOB.clear()
    _JOB.update(orig=orig, moving=moving, precision=precision, render=render,
                screen=make_screen(orig, moving) if screen else None)
    n_workers = workers if workers is not None else _workers(count)
    pool = None
    if n_workers > 1:
        import gc
        import multiprocessing
        # what the workers inherit is frozen first (as Python's gc docs advise before a fork):
        # their collections then skip it, and do not touch (and so copy) its pages
        gc.freeze()
        pool = multiprocessing.get_context("fork").Pool(n_workers)
        gc.unfreeze()
    try:
        failures: Counter = Counter()
        example: dict = {}
        while len(variants) < count:
            # as many candidates as should give the variants still wanted (from the share
            # kept so far), so that few rounds leave the workers waiting; the stream of
            # candidates, and so the result, does not depend on the size of a round
            kept = (len(variants) + 1) / (len(variants) + 1 + sum(rejected.values()) + sum(failures.values()))
            size = min(max(CHUNK * n_workers, round((count - len(variants)) / kept * 1.1)), 64 * CHUNK * n_workers)
            batch = [tuple([rint(a, b) for a, b in bounds]) for _ in range(size)]  # rng's one stream
            todo = list(dict.fromkeys(ks for ks in batch if ks not in seen))
            # verdicts in the order of todo, taken as they come (imap): the variants kept
            # are written while the workers go on judging the next candidates
            stream = zip(todo, pool.imap(_evaluate, todo, chunksize=CHUNK) if pool else map(_evaluate, todo))
            verdicts: dict = {}
            for ks in batch:
                broke = seen.get(ks)
                if broke is None:
                    while ks not in verdicts:  # todo is the batch's new candidates in order
                        got, verdict_ = next(stream)
                        verdicts[got] = verdict_
                verdict = None if broke is not None else verdicts[ks]
                if verdict is not None and verdict[0] != "ok":
                    broke, detail = verdict
                    seen[ks] = broke
                    example.setdefault(broke, detail)
                if broke is not None:
                    failures[broke] += 1
                    if sum(failures.values()) >= MAX_DRAWS:
                        raise VaryError(_failure_message(orig, len(variants) + 1, failures, example),
                                        file=orig.loc.file)
                    continue
                seen[ks] = "duplicate"
                _, asked, statement, symbols, text = verdict
                number = len(variants) + 1
                data, texts = _build(orig, moving, ks)
                v = Variant(number, f"{orig.name}-{number:0{width}d}", data, texts, asked, statement, symbols)
                variants.append(v)
                if on_accept is not None:
                    on_accept(v, text)
                rejected.update(failures)
                failures, example = Counter(), {}
                if progress is not None:
                    progress(number)
                if len(variants) == count:
                    break
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
        _JOB.clear()
    return variants, rejected


def _judge(Problem, Located, orig, data, precision, screened=None):
    """(the solved working, the asked values) of a fair variant, or (rule, detail) of the
    rule it breaks. ``screened``: (the screen's problem, the working solved from it): taken
    when the variant, read, is that very problem (else solved again)."""
    try:
        read = Problem(Located(data, orig.loc.file, orig.loc.marks))
        if screened is not None and _same(read.problem, screened[0].problem):
            working = screened[1]
        else:
            with watching(orig.call_ties):
                working = read.solve(precision)
    except Unfair as u:
        return u.rule, u.detail
    except InputError as err:
        return "invalid", err.message
    broke = unfair(working, orig)  # the working's own steps, every one of them
    if broke is not None:
        return broke
    try:
        got = asked_values(working.results, orig.asked)
    except KeyError:
        return "asked", "an asked quantity is missing"
    if [p for p, _ in got] != orig.asked_paths:
        return "asked", "the asked quantities have other shapes"
    if any(isinstance(v, float) and not math.isfinite(v) for _, v in got):
        return "nonfinite", "an asked value"
    return working, got


def _failure_message(orig, number, failures: Counter, example: dict) -> str:
    rule, n = failures.most_common(1)[0]
    text = (f"variant {number}: no fair variant in {MAX_DRAWS:,} draws; the rule that could not be met: "
            f"{RULES[rule]} ({n:,} of the draws broke it")
    text += f", e.g. {example[rule]})" if rule in example else ")"
    others = [f"{RULES[r]}: {k:,}" for r, k in failures.most_common()[1:]]
    if others:
        text += "; also " + "; ".join(others)
    if rule == "duplicate":
        text += (". The ranges hold too few different variants: ask for fewer (--count) or widen them "
                 "in the file's vary block")
    else:
        text += (". Narrow the ranges in the file's vary block (vary: {key.path: {range: [low, high], "
                 "decimals: d}}) or fix numbers (vary: {key.path: fixed})")
    return text


# -- writing ----------------------------------------------------------------------------------

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*( [A-Za-z0-9_.\-]+)*$")
_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}
FLOW_WIDTH = 100


def _scalar(value) -> str:
    import json
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _RESERVED and not _looks_numeric(text):
        return text
    return json.dumps(text, ensure_ascii=False)


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def flow(value, path, texts) -> str:
    """A value in YAML flow style, each number as written (texts: data path -> numeral)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_scalar(k)}: {flow(v, path + (k,), texts)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow(v, path + (i,), texts) for i, v in enumerate(value)) + "]"
    if _is_number(value) and path in texts:
        return texts[path]
    return _scalar(value)


def _block(value, path, texts, indent: str, lines: list) -> None:
    """The items of a mapping as block YAML, nested mappings and lists of mappings in block
    style when they do not fit on one line."""
    for k, v in value.items():
        head = f"{indent}{_scalar(k)}:"
        p = path + (k,)
        one = flow(v, p, texts)
        if isinstance(v, dict) and v and len(head) + 1 + len(one) > 60:
            lines.append(head)
            _block(v, p, texts, indent + "  ", lines)
        elif isinstance(v, list) and v and any(isinstance(x, dict) for x in v) and \
                len(head) + 1 + len(one) > FLOW_WIDTH:
            lines.append(head)
            for i, item in enumerate(v):
                pi = p + (i,)
                text = flow(item, pi, texts)
                if isinstance(item, dict) and item and len(indent) + 4 + len(text) > FLOW_WIDTH:
                    sub: list = []
                    _block(item, pi, texts, indent + "    ", sub)
                    sub[0] = indent + "  - " + sub[0][len(indent) + 4:]
                    lines.extend(sub)
                else:
                    lines.append(f"{indent}  - {text}")
        else:
            lines.append(f"{head} {one}")


def variant_yaml(orig: Original, v: Variant, seed: int) -> str:
    lines = [f"# nnsolve vary: variant {v.number} of {orig.basename} (seed {seed}): its given numbers "
             "redrawn, the rest as in the original."]
    _block(v.data, (), v.texts, "", lines)
    return "\n".join(lines) + "\n"


def fmt_value(value, precision: int) -> str:
    """An asked value as the key, the index and the quiz write it: fixed decimals."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    text = f"{float(value):.{precision}f}"
    if text.startswith("-") and float(text) == 0:
        text = text[1:]
    return text


def key_markdown(orig: Original, v: Variant, seed: int, working_md: str, precision: int) -> str:
    rows = "\n".join(f"| `{p}` | {fmt_value(x, precision)} |" for p, x in v.asked)
    return (f"# Answer key: {v.name}\n\n"
            f"Variant {v.number} of `{orig.basename}` (nnsolve vary, seed {seed}); the problem: "
            f"[{v.name}.yaml]({v.name}.yaml).\n\n"
            f"## Asked\n\n| quantity | value |\n|---|---:|\n{rows}\n\n---\n\n{working_md}")


def key_json(orig: Original, v: Variant, seed: int, working_json: str, precision: int) -> str:
    import json
    head = json.dumps({"variant": v.number, "name": v.name, "original": orig.basename, "seed": seed,
                       "problem": f"{v.name}.yaml",
                       "asked": {p: x for p, x in v.asked},
                       "asked_shown": {p: fmt_value(x, precision) for p, x in v.asked}},
                      ensure_ascii=False, indent=2)
    return head[:-2] + ',\n  "working": ' + working_json.strip() + "\n}\n"


def index_markdown(orig: Original, variants: list[Variant], seed: int, precision: int, key_ext: str) -> str:
    cols = [p for p, _ in variants[0].asked] if variants else []
    out = [f"# Variants of {orig.basename}", "",
           f"{len(variants)} variant{'s' if len(variants) != 1 else ''} drawn by nnsolve vary with seed {seed}; "
           f"values to {precision} decimals. Asked: " + ", ".join(f"`{c}`" for c in cols) + ".", "",
           "| variant | problem | key | " + " | ".join(f"`{c}`" for c in cols) + " |",
           "|---:|---|---|" + "---:|" * len(cols)]
    for v in variants:
        vals = " | ".join(fmt_value(x, precision) for _, x in v.asked)
        out.append(f"| {v.number} | [{v.name}.yaml]({v.name}.yaml) | [key]({v.name}.key.{key_ext}) | {vals} |")
    return "\n".join(out) + "\n"


# -- Moodle XML ---------------------------------------------------------------------------------

def _html_math(text: str) -> str:
    """A solver's sentence for Moodle: text escaped, $…$ as MathJax's \\( … \\)."""
    parts = re.split(r"\$([^$]+)\$", text)
    out = []
    for i, part in enumerate(parts):
        out.append(html.escape(part, quote=False) if i % 2 == 0
                   else r"\(" + html.escape(part, quote=False) + r"\)")
    return "".join(out)


def _givens_rows(v: Variant) -> list[tuple[str, str]]:
    rows = []
    for k, value in v.data.items():
        if k in NOT_GIVEN:
            continue
        if isinstance(value, dict) and value and len(flow(value, (k,), v.texts)) > 60:
            for kk, vv in value.items():
                rows.append((f"{k}.{kk}", flow(vv, (k, kk), v.texts)))
        elif isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
            for i, item in enumerate(value):
                rows.append((f"{k}[{i + 1}]", flow(item, (k, i), v.texts)))
        else:
            rows.append((k, flow(value, (k,), v.texts)))
    return rows


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def cloze(value, tolerance: str, precision: int) -> str:
    return f"{{1:NUMERICAL:={fmt_value(value, precision)}:{tolerance}}}"


def tolerance_text(tolerance: float) -> str:
    text = f"{tolerance:.12f}".rstrip("0").rstrip(".")
    return text if text not in ("", "0") or tolerance == 0 else f"{tolerance:.3e}"


def moodle_xml(orig: Original, variants: list[Variant], seed: int, precision: int, tolerance: float) -> str:
    """A Moodle XML quiz: a category, then one cloze (Embedded Answers) question per variant
    with one NUMERICAL sub-question per asked quantity."""
    from .given import headline
    tol = tolerance_text(tolerance)
    category = f"$course$/top/nnsolve vary/{orig.name} (seed {seed})"
    e = lambda s: html.escape(s, quote=False)
    out = ['<?xml version="1.0" encoding="UTF-8"?>', "<quiz>",
           f"<!-- nnsolve vary: {len(variants)} variants of {e(orig.basename).replace('--', '- -')}, "
           f"seed {seed}; one cloze question each -->",
           '  <question type="category">', "    <category>", f"      <text>{e(category)}</text>",
           "    </category>", "  </question>"]
    width = max(2, len(str(len(variants))))
    for v in variants:
        title = orig.title or headline(orig.kind)
        body = [f"<p><strong>{e(title)}</strong> (variant {v.number})</p>"]
        if v.statement:
            body.append(f"<p>{_html_math(v.statement)}</p>")
        body.append('<table border="1" cellpadding="4"><tr><th>given</th><th>value</th></tr>')
        for k, val in _givens_rows(v):
            body.append(f"<tr><td><code>{e(k)}</code></td><td><code>{e(val)}</code></td></tr>")
        body.append("</table>")
        body.append(f"<p>Work the problem and give each answer to {precision} decimal"
                    f"{'s' if precision != 1 else ''} (nnsolve result paths; indices count from 1).</p>")
        body.append("<ol>")
        for p, x in v.asked:
            sym = v.symbols.get(p)
            label = f"<code>{e(p)}</code>" + (f" \\({e(sym)}\\)" if sym else "")
            body.append(f"<li>{label} = {cloze(x, tol, precision)}</li>")
        body.append("</ol>")
        feedback = "<p>" + "; ".join(f"<code>{e(p)}</code> = {fmt_value(x, precision)}" for p, x in v.asked) + \
                   f"</p><p>The full working: nnsolve run {e(v.name)}.yaml</p>"
        out += ['  <question type="cloze">',
                f"    <name><text>{e(orig.name)} variant {v.number:0{width}d}</text></name>",
                f'    <questiontext format="html"><text>{_cdata(chr(10).join(body))}</text></questiontext>',
                f'    <generalfeedback format="html"><text>{_cdata(feedback)}</text></generalfeedback>',
                "    <penalty>0.3333333</penalty>", "    <hidden>0</hidden>",
                f"    <idnumber>{e(orig.name)}-s{seed}-{v.number:0{width}d}</idnumber>",
                "  </question>"]
    out.append("</quiz>")
    return "\n".join(out) + "\n"
