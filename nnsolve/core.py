"""From a problem file to a Working: load, validate, solve."""
from __future__ import annotations

import re

import numpy as np

from . import given as given_
from . import kinds
from .errors import InputError
from .loader import Located, load_file, load_text
from .schema import Reader
from . import ops
from .sheet import Enough, NotFinite, Sheet, parse_path, path_text
from .working import Working

MAX_PRECISION = given_.MAX_PRECISION
MAX_ROUNDING = given_.MAX_ROUNDING


class Problem:
    """A problem file read and checked, ready to be solved (as often as needed: marking
    solves one problem many times, with different given values or slips)."""

    def __init__(self, loc: Located):
        if loc.data is None:
            raise InputError("the file is empty (or only comments): a problem file needs at least 'kind:'",
                             file=loc.file, line=1, column=1)
        if not isinstance(loc.data, dict):
            raise loc.error((), "expected a mapping of keys (kind: …, …) at the top of the file")
        r = Reader(loc)
        r.declare(given_.COMMON)
        if "kind" not in loc.data or loc.data["kind"] is None:
            raise r.missing("kind", "expected one of " + ", ".join(kinds.available()))
        self.kind = kind = r.field("kind")
        r.declare(given_.fields(kind))  # the kind's keys, as its module declares them (GIVEN)
        self.title = r.field("title")
        self.precision = r.field("precision", default=None)  # default: 4, or the rounding's decimals
        self.rounding = r.field("rounding")
        self.remarks = _read_remarks(r)
        self.vary, self.ask = r.raw("vary", None), r.raw("ask", None)  # for nnsolve vary; the solve ignores them
        self.module = kinds.get(kind)
        self.problem = self.module.read(r, kind)
        r.finish()
        self.reader = r
        self.source = loc.file
        self._work_checked: set = set()

    def work(self):
        """The size of the working (nnsolve.work.Work), from the kind's ``work(problem)``;
        None for a kind that does not state it."""
        estimate = getattr(self.module, "work", None)
        return estimate(self.problem) if estimate is not None else None

    def check_work(self, output=None, rounding: bool = False) -> None:
        """Refuse at once a problem too large to solve and write in ``output`` = (format,
        full) within seconds (None: solving only); see nnsolve.work."""
        fmt, full = output if output else (None, False)
        key = (fmt, bool(full), bool(rounding))
        if key in self._work_checked:
            return
        w = self.work()
        if w is not None:
            from . import work
            work.check(w, self.reader.error, fmt, bool(full), bool(rounding))
        self._work_checked.add(key)

    def solve(self, precision: int | None = None, rounding: int | None = None, given: dict | None = None,
              wanted=None, *, remarks: bool = True, file_rounding: bool = True, output=None) -> Working:
        """The working. ``precision``/``rounding`` override the file's keys (``file_rounding``
        False: float64 unless ``rounding`` is given); ``given``: {result path: value} put in
        place of the computed values; ``wanted``: result paths after which the solve may
        stop (marking needs no more)."""
        if rounding is None and file_rounding:
            rounding = self.rounding
        if precision is None:  # shown as written down: with hand rounding, to its decimals
            precision = self.precision if self.precision is not None else rounding if rounding is not None else 4
        self.check_work(output, rounding is not None and not wanted)  # before any solving
        try:
            working = _solve(self.module, self.problem, self.kind, self.title, precision, self.source, rounding,
                             given, wanted)
            if rounding is not None and not wanted:
                exact = _solve(self.module, self.problem, self.kind, self.title, precision, self.source, None,
                               given)
                _rounding_section(working, exact.results, rounding)
        except NotFinite as exc:
            raise _overflow(exc, self.reader.loc) from None
        if remarks:
            _attach_remarks(working, self.remarks, self.reader)
        return working


def solve_located(loc: Located, precision: int | None = None, rounding: int | None = None,
                  given: dict | None = None, wanted=None, output=None) -> Working:
    """Solve a loaded problem (see :meth:`Problem.solve`)."""
    return Problem(loc).solve(precision, rounding, given, wanted, output=output)


def _solve(module, problem, kind, title, precision, source, rounding, given, wanted=None) -> Working:
    working = Working(kind=kind, title=title, precision=precision, source=source)
    sheet = Sheet(working, rounding=rounding, given=given)
    if wanted:
        sheet.wanted = {tuple(p) for p in wanted}
    try:
        with np.errstate(all="ignore"), ops.rounding(rounding):
            module.solve(problem, sheet)
    except Enough:  # every wanted quantity is settled
        pass
    working.results = sheet.results()
    working.sheet = sheet
    return working


def _largest(data):
    """(path, value) of the number of largest magnitude in a problem's data (None if none)."""
    best, where = -1.0, None
    stack = [((), data)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            stack.extend((path + (k,), v) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((path + (i,), v) for i, v in enumerate(node))
        elif isinstance(node, (int, float)) and not isinstance(node, bool):
            try:
                size = abs(float(node))
            except OverflowError:
                size = float("inf")
            if size > best:
                best, where = size, (path, node)
    return where


def _overflow(exc: NotFinite, loc: Located) -> InputError:
    """The input error for a quantity beyond float64: which one, and the problem's largest
    number, where it stands (where the overflow comes from)."""
    from .errors import format_path
    from .notation import to_unicode
    name = exc.name if exc.name and "[" in exc.name or exc.name and "." in exc.name else \
        to_unicode(exc.name or "a quantity")
    what = "is not a number (NaN) in float64, after an overflow" if np.isnan(exc.value).any() else \
        "overflows float64 (beyond ±1.8 × 10³⁰⁸)"
    big = _largest(loc.data)
    if big is None:
        return loc.error((), f"{name} {what}")
    path, value = big
    return loc.error(path, f"{name} {what}: the numbers of the problem are too large for float64 "
                           f"arithmetic; the largest, {format_path(path)} = {value:g}, is where to start "
                           "scaling them down")


def _leaves(value, path):
    """(path, vector or number) of every numeric leaf of a result; matrices by rows."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(value, (list, tuple)) and value and not all(isinstance(x, (int, float)) for x in value):
        for i, v in enumerate(value, start=1):
            yield from _leaves(v, path + (i,))
    elif isinstance(value, np.ndarray) and value.ndim >= 2:
        for i, v in enumerate(value, start=1):
            yield from _leaves(v, path + (i,))
    elif isinstance(value, (bool, str)) or value is None:
        return
    else:
        yield path, np.asarray(value, dtype=float)


MAX_ROUNDING_ROWS = 500


def _rounding_section(working: Working, exact: dict, n: int) -> None:
    """The closing table of hand rounding: each result whose hand-rounded value is not the
    exact float64 value rounded to the same decimals, both shown."""
    hand = dict(_leaves(working.results, ()))
    rows = []
    for path, ex in _leaves(exact, ()):
        got = hand.get(path)
        if got is None or got.shape != ex.shape:
            continue
        if not np.array_equal(ops.round_half_away(ex, n), got):
            rows.append([path_text(path), got, ex])
    sec = working.section("Hand rounding")
    sec.text(f"Every number the working writes down was rounded to {n} decimal{'s' if n != 1 else ''} before "
             "the next step used it, as a hand calculation does; the numbers given in the problem were not. "
             + ("These results differ from the exact (float64) values rounded to as many decimals:"
                if rows else "Every result agrees with the exact (float64) value rounded to as many decimals."),
             "note")
    if rows:
        more = len(rows) - MAX_ROUNDING_ROWS
        sec.table(["result", f"hand rounded ({n} d.p.)", "exact"], rows[:MAX_ROUNDING_ROWS],
                  note=f"{more} more rows are left out." if more > 0 else None)


def _read_remarks(r: Reader) -> list:
    """remarks: (optional, any kind) comments for the working, e.g. where the notes went
    wrong: a list of {at: STEP, text: ...}; ``at`` names a step by its left-hand side
    (i_1, h_2, v^(1), …: its first occurrence), by its result path (history[3].v), or one
    occurrence of a step of a loop as {step: v, epoch: 1, sample: 2}; without ``at`` the
    remark goes in a closing section."""
    if not r.has("remarks"):
        return []
    out = []
    for path, item in r.items("remarks", what=r.fields["remarks"].what):
        if isinstance(item, str):
            out.append((None, item, path))
            continue
        rr = r.element(path, item)
        at, text = rr.raw("at", None), rr.field("text")
        rr.finish()
        out.append((_read_at(r, path + ("at",), at), text, path))
    return out


_AT = "a step's name (y^(2)), its result path (history[1].v) or {step: NAME, epoch: E, sample: S}"


def _read_at(r: Reader, path, at):
    """``at`` as written: None, a name or path (a text), or (name, {context key: number})."""
    if at is None:
        return None
    if isinstance(at, (str, int, float)) and not isinstance(at, bool):
        text = str(at).strip()
        if not text:
            raise r.error(path, f"expected {_AT}, got an empty text")
        return text
    if not isinstance(at, dict):
        raise r.error(path, f"expected {_AT}")
    if "step" not in at or not isinstance(at["step"], (str, int)) or isinstance(at["step"], bool) \
            or not str(at["step"]).strip():
        raise r.error(path, "expected {step: NAME, …}: the name of the step (v, y^(2), delta^(2)) and where it "
                            "occurs (epoch: 1, sample: 2)")
    where = {}
    for key, value in at.items():
        if key == "step":
            continue
        if not isinstance(key, str) or not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise r.error(path + (key,), f"expected a whole number ≥ 1 (the {key} the step belongs to, "
                                         "counting from 1)")
        key = key.strip().lower()
        where["sample" if key in ("iteration", "pattern") else key] = value  # the notes' "iteration n"
    return str(at["step"]).strip(), where


_TEX_WORDS = re.compile(r"\\(?:text|mathrm|operatorname|mathbf|boldsymbol)\{([^{}]*)\}")


def _braced(t: str, i: int):
    """(the text inside the brace group that opens at t[i], the index after it)."""
    depth = 0
    for j in range(i, len(t)):
        depth += {"{": 1, "}": -1}.get(t[j], 0)
        if depth == 0:
            return t[i + 1:j], j + 1
    return t[i + 1:], len(t)


def _name(tex: str, spaced: bool = False) -> str:
    """A step's name as a problem file writes it, ASCII where the LaTeX has commands:
    y^{(2)} is y^(2), \\delta^{(2)} delta^(2), w^{\\text{new}} w^new, \\frac{\\partial E}{\\partial W}
    dE/dW. ``spaced``: with single spaces where the LaTeX has them (for a list of names: Delta w),
    else without any (for comparing)."""
    t = str(tex)
    for cmd in (r"\left", r"\right", r"\,", r"\;", r"\!", r"\quad"):
        t = t.replace(cmd, "")
    t = _TEX_WORDS.sub(r"\1", t).replace(r"\partial ", "d").replace(r"\partial", "d")
    while r"\frac{" in t:
        i = t.index(r"\frac{")
        a, j = _braced(t, i + 5)
        b, k = _braced(t, j) if j < len(t) and t[j] == "{" else ("", j)
        t = t[:i] + a + "/" + b + t[k:]
    t = t.replace("{", "").replace("}", "").replace("\\", "")
    return " ".join(t.split()) if spaced else t.replace(" ", "")


def _same_name(at: str, lhs: str) -> bool:
    """Whether ``at`` (as a problem file writes it: y^(2), delta^(2), δ⁽²⁾ or LaTeX) names
    the step with left-hand side ``lhs``."""
    from .notation import to_unicode
    want = at.replace(" ", "")
    return bool(want) and (want == to_unicode(lhs).replace(" ", "") or _name(want) == _name(lhs))


_CONTEXT = re.compile(r"\b(epoch|sample|batch|update|iteration|step|pattern|t)\s*=?\s*(\d+)", re.I)


def _context(text: str) -> dict:
    """{epoch: 1, batch: 2} from a title or label ("Update 1: epoch 1, batch 2")."""
    out = {}
    for m in _CONTEXT.finditer(text or ""):
        key = m.group(1).lower()
        out["sample" if key == "iteration" else key] = int(m.group(2))
    return out


def _record(results, step_id: str | None) -> dict:
    """The counts (epoch, sample, batch) of the record a step's result path lies in:
    history[3].v -> results' history[3] = {epoch: 2, sample: 1, …}."""
    if not step_id:
        return {}
    m = re.match(r"^([A-Za-z_]\w*)\[(\d+)\]\.", step_id)
    if not m:
        return {}
    seq = results.get(m.group(1)) if isinstance(results, dict) else None
    i = int(m.group(2))
    if not isinstance(seq, list) or not 1 <= i <= len(seq) or not isinstance(seq[i - 1], dict):
        return {}
    return {k: v for k, v in seq[i - 1].items() if isinstance(v, int) and not isinstance(v, bool)}


def _steps(working: Working):
    """(step, its context {epoch, sample, …}) of every step, in working order."""
    from .working import Step, Text
    for s in working.sections:
        where = _context(s.title)
        for b in s.blocks:
            label = getattr(b, "label", None) if isinstance(b, Step) else b.text if isinstance(b, Text) else None
            if label:
                m = re.match(r"\s*(sample|pattern|iteration)\s+(\d+)\b", label, re.I)
                if m:
                    where = {**where, "sample": int(m.group(2))}
            if isinstance(b, Step):
                yield b, {**where, **_record(working.results, b.id)}


def _find_step(working: Working, at):
    """The step ``at`` names (None if none): by result path or name, its first occurrence;
    (name, where) the occurrence in that context."""
    if isinstance(at, tuple):
        name, where = at
        for b, ctx in _steps(working):
            tail = b.id.rsplit(".", 1)[-1] if b.id else None
            if (_same_name(name, b.lhs) or name == tail) and all(ctx.get(k) == v for k, v in where.items()):
                return b
        return None
    try:
        wanted = path_text(parse_path(at))
    except ValueError:
        wanted = None
    if wanted is not None:
        for b, _ in _steps(working):
            if b.id == wanted:
                return b
    for b, _ in _steps(working):
        if _same_name(at, b.lhs):
            return b
    return None


def _unknown_step(working: Working, at) -> str:
    names = list(dict.fromkeys(_name(b.lhs, spaced=True) for b, _ in _steps(working)))
    ids = list(dict.fromkeys(b.id for b, _ in _steps(working) if b.id))
    some = ", ".join(n for n in names[:8] if n)
    paths = f"; or by result path: {', '.join(ids[:4])}" if ids else ""
    if isinstance(at, tuple):
        name, where = at
        place = ", ".join(f"{k} {v}" for k, v in where.items())
        return (f"no step named '{name}'" + (f" at {place}" if place else "") + " in the working (steps are "
                f"named like {some}{paths}; a loop's steps occur at epoch …, sample … (or batch …))")
    return f"no step named '{at}' in the working (steps are named like {some}{paths})"


def _attach_remarks(working: Working, remarks: list, r: Reader) -> None:
    loose = []
    for at, text, path in remarks:
        if at is None:
            loose.append(text)
            continue
        b = _find_step(working, at)
        if b is None:
            raise r.error(path + ("at",), _unknown_step(working, at))
        b.note = f"{b.note} {text}" if b.note else text
    if loose:
        sec = working.section("Remarks")
        for text in loose:
            sec.text(text, "note")


def solve_file(path: str, precision: int | None = None, rounding: int | None = None,
               given: dict | None = None, output=None) -> Working:
    """``output``: (format, full) the working will be rendered in, for the work estimate."""
    return solve_located(load_file(path), precision, rounding, given, output=output)


def solve_text(text: str, file: str = "<input>", precision: int | None = None, rounding: int | None = None,
               given: dict | None = None) -> Working:
    return solve_located(load_text(text, file), precision, rounding, given)
