"""Reading a kind's keys with clear errors. A reader knows the keys its kind declares
(``nnsolve.given``: ``Reader.declare``); anything else in the file is an unknown key (with a
"did you mean"), and the simple fields are read from their declaration (``Reader.field``)."""
from __future__ import annotations

import contextlib
import contextvars
import difflib
import math
import re

import numpy as np

from .errors import InputError
from .loader import Located, is_number

MISSING = object()
_ASKED: contextvars.ContextVar = contextvars.ContextVar("nnsolve_asked_keys", default=None)


@contextlib.contextmanager
def recording_keys():
    """Collect the key paths every Reader is asked for (list indices as "*"), to compare
    what a kind reads with what it declares (tests)."""
    asked: set = set()
    token = _ASKED.set(asked)
    try:
        yield asked
    finally:
        _ASKED.reset(token)
_NUMBER_TEXT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _shape_text(shape) -> str:
    return " × ".join("?" if s is None else str(s) for s in shape)


def _describe(value) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10 ** 30:
        return f"a whole number of {len(str(abs(value)))} digits"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if value is None:
        return "nothing (null)"
    if isinstance(value, str):
        v = value if len(value) <= 30 else value[:27] + "…"
        return f"the text '{v}'"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "a mapping"
    return repr(value)


FLOAT_MAX = "±1.8 × 10³⁰⁸"
_PLAIN = (int, float)


def _plain_numbers(value: list, ndim: int):
    """VALUE as a float64 array when it is plainly well-formed: every item a finite int or
    float (no text, no boolean), the rows of a matrix lists of one length; else None, and
    the items are read one by one by to_number, for a precise message."""
    if ndim == 1:
        if not all(type(v) in _PLAIN for v in value):
            return None
    elif not value or not all(type(r) is list and r for r in value) or len({len(r) for r in value}) != 1 \
            or not all(type(v) in _PLAIN for r in value for v in r):
        return None
    try:
        out = np.array(value, dtype=float)
    except (OverflowError, ValueError):
        return None
    return out if np.isfinite(out).all() else None


def to_number(value, error, what="a number") -> float:
    """A number of the problem file as a float64, or ``error(message)`` raised: text (even
    "0.5", quoted) is not a number; neither are NaN, infinity, or a whole number beyond the
    float64 range. Forms YAML 1.1 would read as numbers (0x10, 1:30, 1_000) come here as text
    and are refused with the reason."""
    if isinstance(value, float) or (isinstance(value, int) and not isinstance(value, bool)):
        try:
            x = float(value)
        except OverflowError:
            raise error(f"expected {what}, got {_describe(value)}: beyond the float64 range "
                        f"({FLOAT_MAX})") from None
        if not math.isfinite(x):
            raise error(f"expected {what}, got {value} (NaN and infinity are not allowed)")
        return x
    if isinstance(value, str):
        text = value.strip()
        if _NUMBER_TEXT.match(text):
            raise error(f"expected {what}, got the text '{text[:30]}' (a number in quotes): write it "
                        "without quotes")
        reason = _yaml11_number(text)
        if reason:
            raise error(f"expected {what}, got '{text[:30]}': {reason}; write numbers in decimal")
    raise error(f"expected {what}, got {_describe(value)}")


def _yaml11_number(text: str) -> str | None:
    """Why TEXT, which YAML 1.1 reads as a number, is not one here (None if it is not such)."""
    t = text.lstrip("+-")
    if re.fullmatch(r"0x[0-9a-fA-F_]+", t):
        return f"hexadecimal (YAML 1.1 reads it as {int(t.replace('_', ''), 16)})"
    if re.fullmatch(r"0o[0-7_]+", t):
        return "octal"
    if re.fullmatch(r"0b[01_]+", t):
        return "binary"
    if re.fullmatch(r"[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?", t):
        parts = t.replace("_", "").split(":")
        try:
            total = 0.0
            for part in parts:
                total = total * 60 + float(part)
            shown = f"{total:g}"
        except ValueError:
            shown = "a number"
        return f"base 60, a time (YAML 1.1 reads it as {shown})"
    if re.fullmatch(r"[0-9][0-9_]*(\.[0-9_]*)?([eE][-+]?[0-9]+)?", t) and "_" in t:
        return "digits grouped with _ (YAML 1.1 reads it as " + t.replace("_", "") + ")"
    return None


class Reader:
    """One mapping of the problem file, read key by key."""

    def __init__(self, loc: Located, path=(), data=MISSING, fields=()):
        self.loc = loc
        self.path = tuple(path)
        self.data = loc.data if data is MISSING else data
        self.known: list[str] = []
        self.fields: dict = {}  # key -> nnsolve.given.Field, the declared keys
        if not isinstance(self.data, dict):
            raise self.error(self.path, f"expected a mapping of keys, got {_describe(self.data)}")
        if fields:
            self.declare(fields)

    # -- helpers ------------------------------------------------------------------------
    def error(self, path, message) -> InputError:
        return self.loc.error(path, message)

    def allow(self, *keys: str) -> None:
        for k in keys:
            if k not in self.known:
                self.known.append(k)

    def declare(self, fields) -> None:
        """The keys of this mapping, as declared (nnsolve.given.Field records): they are the
        known keys of the unknown-key check, and ``field(key)`` reads them."""
        for f in fields:
            self.fields[f.key] = f
        self.allow(*(f.key for f in fields))

    def _ask(self, key: str) -> None:
        self.allow(key)
        asked = _ASKED.get()
        if asked is not None:
            asked.add(tuple("*" if isinstance(p, int) else p for p in self.path) + (key,))

    def has(self, key: str) -> bool:
        self._ask(key)
        return key in self.data and self.data[key] is not None

    def raw(self, key: str, default=MISSING, what: str = "a value"):
        self._ask(key)
        if key not in self.data or self.data[key] is None:
            if default is MISSING:
                raise self.missing(key, f"expected {what}")
            return default
        return self.data[key]

    def missing(self, key: str, text: str) -> InputError:
        """A required key is missing: the error points at a key of this mapping that looks
        like a typo of it (when there is one), else at the mapping (or its key)."""
        if key in self.data:  # given, but null
            return self.error(self.path + (key,), f"missing key '{key}' (its value is null): {text}")
        typo = [k for k in self.data if isinstance(k, str) and k not in self.known and k != key
                and difflib.get_close_matches(k, [key], n=1, cutoff=0.6)]
        if typo:
            return self.error(self.path + (typo[0],), f"missing key '{key}' ({text}); is '{typo[0]}' meant "
                                                      f"to be '{key}'?")
        return self.error(self.path, f"missing key '{key}': {text}")

    def finish(self) -> None:
        """Unknown keys are errors, with a suggestion when one is close."""
        for key in self.data:
            if key not in self.known:
                close = difflib.get_close_matches(str(key), self.known, n=1, cutoff=0.6)
                hint = f"; did you mean '{close[0]}'?" if close else \
                    f"; expected one of: {', '.join(self.known)}"
                raise self.error(self.path + (key,), f"unknown key '{key}'{hint}")

    # -- declared fields ----------------------------------------------------------------
    def field(self, key: str, **changes):
        """Read a declared simple field (number, integer, boolean, string, choice) with its
        declared default, bounds and options; ``changes`` adjust the declaration for this
        reading (e.g. a ``what`` that names a size read before)."""
        f = self.fields.get(key)
        if f is None:
            raise KeyError(f"the key '{key}' is read but not declared at {self.path or 'the top'}")
        if changes:
            f = f.but(**changes)
        default = MISSING if f.required else f.default
        if f.type == "number":
            if isinstance(default, int) and not isinstance(default, bool):
                default = float(default)
            return self.number(key, default, what=f.what or "a number", minimum=f.minimum,
                               maximum=f.maximum, positive=f.positive)
        if f.type == "integer":
            return self.integer(key, default, minimum=f.minimum, maximum=f.maximum,
                                what=f.what or "a whole number")
        if f.type == "boolean":
            return self.boolean(key, default)
        if f.type == "string":
            return self.string(key, default, what=f.what or "a text")
        if f.type == "choice":
            return self.choice(key, f.options(), default)
        raise TypeError(f"the {f.type} '{key}' is read in code (reader.vector/matrix/sub/items)")

    def values(self, *keys: str) -> tuple:
        """Several declared simple fields at once, in order."""
        return tuple(self.field(k) for k in keys)

    def _nested(self, key: str) -> tuple:
        f = self.fields.get(key)
        return f.fields if f is not None else ()

    def element(self, path, value) -> "Reader":
        """A reader of one item (a mapping) of a list this reader read with ``items``; it
        knows the keys declared for the items of that list."""
        path = tuple(path)
        key = path[len(self.path)] if len(path) > len(self.path) else None
        return Reader(self.loc, path, value, fields=self._nested(key) if key is not None else ())

    # -- scalars ------------------------------------------------------------------------
    def _to_number(self, value, path, what="a number"):
        """The one number reader: every number of a problem file is read here."""
        return to_number(value, lambda message: self.error(path, message), what)

    def number(self, key, default=MISSING, *, what="a number", minimum=None, maximum=None, positive=False):
        value = self.raw(key, default, what)
        if value is default and default is not MISSING:
            return default
        x = self._to_number(value, self.path + (key,), what)
        if positive and not x > 0:
            raise self.error(self.path + (key,), f"expected a positive number, got {x:g}")
        if minimum is not None and x < minimum:
            raise self.error(self.path + (key,), f"expected a number ≥ {minimum:g}, got {x:g}")
        if maximum is not None and x > maximum:
            raise self.error(self.path + (key,), f"expected a number ≤ {maximum:g}, got {x:g}")
        return x

    def integer(self, key, default=MISSING, *, minimum=None, maximum=None, what="a whole number"):
        value = self.raw(key, default, what)
        if value is default and default is not MISSING:
            return default
        p = self.path + (key,)
        if isinstance(value, str):  # "4", 0x10, 1:30: refused as a number slot refuses them
            to_number(value, lambda message: self.error(p, message), what)
        if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, float) and value.is_integer())):
            raise self.error(p, f"expected {what}, got {_describe(value)}")
        value = int(value)
        if minimum is not None and value < minimum:
            raise self.error(p, f"expected a whole number ≥ {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise self.error(p, f"expected a whole number ≤ {maximum}, got {value}")
        return value

    def boolean(self, key, default=MISSING):
        value = self.raw(key, default, "true or false")
        if not isinstance(value, bool):
            raise self.error(self.path + (key,), f"expected true or false, got {_describe(value)}")
        return value

    def string(self, key, default=MISSING, what="a text"):
        value = self.raw(key, default, what)
        if value is default and default is not MISSING:
            return default
        if isinstance(value, (list, dict)):
            raise self.error(self.path + (key,), f"expected {what}, got {_describe(value)}")
        return str(value)

    def choice(self, key, options, default=MISSING):
        value = self.raw(key, default, "one of " + ", ".join(options))
        if value is default and default is not MISSING:
            return default
        text = str(value).strip().lower() if not isinstance(value, (list, dict, bool)) else None
        if text not in options:
            close = difflib.get_close_matches(str(text), options, n=1, cutoff=0.6) if text else []
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise self.error(self.path + (key,),
                             f"expected one of {', '.join(options)}, got {_describe(value)}{hint}")
        return text

    # -- arrays -------------------------------------------------------------------------
    def array_value(self, value, path, *, ndim: int, shape=None, what=None):
        """Turn a value into a float64 array of ndim 1 or 2, checking shape.
        A scalar stands for a length-1 vector or a 1×1 matrix; a flat list stands for a
        one-row matrix."""
        shape = tuple(shape) if shape is not None else (None,) * ndim
        want = what or (f"a vector of length {shape[0]}" if ndim == 1 and shape[0] is not None
                        else "a list of numbers" if ndim == 1
                        else f"a {_shape_text(shape)} matrix (a list of rows)")
        if isinstance(value, list) and ndim == 2 and value and not any(isinstance(r, list) for r in value) \
                and shape[0] in (None, 1):
            value = [value]
        if not isinstance(value, list):
            if is_number(value):
                x = self._to_number(value, path)
                value = [x] if ndim == 1 else [[x]]
            else:
                raise self.error(path, f"expected {want}, got {_describe(value)}")
        out = _plain_numbers(value, ndim)
        if out is not None:  # a well-formed array (the common case), read at once
            pass
        elif ndim == 1:
            if any(isinstance(v, (list, dict)) for v in value):
                raise self.error(path, f"expected {want}, got a nested list")
            out = np.array([self._to_number(v, path + (i,)) for i, v in enumerate(value)], dtype=float)
        else:
            rows = []
            for r, row in enumerate(value):
                if not isinstance(row, list):
                    if shape[1] in (None, 1) and (is_number(row) or isinstance(row, str)):
                        row = [row]
                    else:
                        raise self.error(path + (r,), f"expected {want}: row {r + 1} is {_describe(row)}, not a list")
                rows.append([self._to_number(v, path + (r, i)) for i, v in enumerate(row)])
            lengths = {len(r) for r in rows}
            if len(lengths) > 1:
                raise self.error(path, f"expected {want}: the rows have different lengths "
                                       f"({', '.join(str(len(r)) for r in rows)})")
            out = np.array(rows, dtype=float).reshape(len(rows), lengths.pop() if rows else 0)
        if out.size == 0:
            raise self.error(path, f"expected {want}, got an empty list")
        if any(s is not None and s != a for s, a in zip(shape, out.shape)):
            got = _shape_text(out.shape)
            raise self.error(path, f"expected {want}, got {'a length-' + got + ' vector' if ndim == 1 else got}")
        return out

    def vector(self, key, default=MISSING, *, length=None, what=None):
        value = self.raw(key, default, what or "a list of numbers")
        if value is default and default is not MISSING:
            return default
        return self.array_value(value, self.path + (key,), ndim=1, shape=(length,), what=what)

    def matrix(self, key, default=MISSING, *, shape=None, what=None):
        value = self.raw(key, default, what or "a matrix (a list of rows)")
        if value is default and default is not MISSING:
            return default
        return self.array_value(value, self.path + (key,), ndim=2, shape=shape, what=what)

    # -- nesting ------------------------------------------------------------------------
    def sub(self, key, default=MISSING, what="a mapping") -> "Reader | None":
        value = self.raw(key, default, what)
        if value is default and default is not MISSING:
            return default
        return Reader(self.loc, self.path + (key,), value, fields=self._nested(key))

    def items(self, key, what="a list", min_items: int = 1) -> list:
        """The (path, value) pairs of a list."""
        value = self.raw(key, MISSING, what)
        if not isinstance(value, list):
            raise self.error(self.path + (key,), f"expected {what}, got {_describe(value)}")
        if len(value) < min_items:
            raise self.error(self.path + (key,), f"expected {what} with at least {min_items} item(s), got {len(value)}")
        return [(self.path + (key, i), v) for i, v in enumerate(value)]
