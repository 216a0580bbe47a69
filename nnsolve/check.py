"""nnsolve check: mark a student's working, with error carried forward and the likely slip
named (``../shared/spec/check.md``).

Everything here works through the recorder (:mod:`nnsolve.sheet`), so it needs no code in
any kind:

- ``correct``: the answer is within tolerance of the exact value;
- ``rounding``: of the value the problem gives when worked with every step rounded to the
  student's number of decimals (``rounding: k``);
- ``follow_through``: of the value the working computes from the student's own earlier
  answers (the problem solved again with them given in place of the computed values: the
  sheet keeps what each step computed before a given value replaced it);
- ``wrong``: none of these; then each slip of :data:`SLIPS` (data, not code per kind) is
  tried by solving again with it, and the one kind of slip that reproduces the value is
  the diagnosis.
"""
from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field

import numpy as np

from .errors import InputError
from .loader import Located, load_file
from .sheet import parse_path, path_text

STATUSES = ("correct", "rounding", "follow_through", "wrong")
MAX_DECIMALS = 15  # of a tolerance; hand rounding (the rounding status) goes to 12 at most
MAX_ANSWERS = 10_000


# -- tolerance ------------------------------------------------------------------------------

@dataclass
class Tolerance:
    form: str | None = None  # None (the default: each answer's own decimals) | decimals | relative | absolute | sigfigs
    amount: float = 0.0

    def decimals_of(self, answer: "Answer") -> int:
        return int(self.amount) if self.form == "decimals" else answer.decimals

    def ok(self, given, want, answer: "Answer") -> bool:
        if self.form is None and isinstance(given, float) and isinstance(want, float):  # the common case
            return math.isfinite(want) and abs(given - want) <= _unit(answer.decimals) * (1 + 1e-9) + 1e-12
        g, w = np.asarray(given, dtype=float), np.asarray(want, dtype=float)
        if g.shape != w.shape or not np.all(np.isfinite(w)):
            return False
        diff = np.abs(g - w)
        if self.form == "relative":
            bound = self.amount * np.abs(w)
        elif self.form == "absolute":
            bound = np.full(w.shape, self.amount)
        elif self.form == "sigfigs":
            mag = np.floor(np.log10(np.where(w == 0, 1.0, np.abs(w))))
            bound = 10.0 ** (mag - int(self.amount) + 1)
        else:  # one unit of the k-th decimal
            bound = np.full(w.shape, _unit(self.decimals_of(answer)))
        return bool(np.all(diff <= bound * (1 + 1e-9) + 1e-12))

    def text(self) -> str:
        if self.form is None:
            return "one unit of each answer's last decimal"
        return {"decimals": f"{self.amount:g} decimal{'' if self.amount == 1 else 's'}", "relative": f"relative {self.amount:g}",
                "absolute": f"absolute {self.amount:g}", "sigfigs": f"{self.amount:g} significant figures"}[self.form]


def _unit(k: int) -> float:
    """One unit of the k-th decimal; a whole number must be the right whole number (within
    one unit, y = 1 would pass for 0: nnsolve holds it to half a unit, its rounding)."""
    return 10.0 ** -k if k > 0 else 0.5


def _decimals(x) -> int:
    """Decimals of a number as written (YAML drops trailing zeros: 0.8520 reads 0.852)."""
    text = repr(float(x))
    if "e" in text or "E" in text:
        mant, exp = text.lower().split("e")
        d = len(mant.split(".")[1]) if "." in mant else 0
        return max(0, d - int(exp))
    if text.endswith(".0") and isinstance(x, int):
        return 0
    return len(text.split(".")[1]) if "." in text else 0


# -- the answers file -----------------------------------------------------------------------

@dataclass
class Answer:
    text: str  # the path as written
    path: tuple
    given: object  # float or array, as the student wrote it
    decimals: int
    key: tuple  # where it stands in the answers file (for messages)
    value: object = None  # the same, shaped as the result (a number for a length-1 vector)

    def __post_init__(self):
        if self.value is None:
            self.value = self.given


@dataclass
class Item:
    path: str
    given: object
    expected: object
    status: str
    diagnosis: str | None = None
    explanation: str | None = None
    follow_through_value: object = None
    order: int = 0
    working: dict | None = None  # the right working of the step (wrong answers)
    decimals: int = 0  # of the given value, as written

    def to_dict(self) -> dict:
        like = np.ndim(self.given) == 0  # a number given for a length-1 vector: numbers back
        d = {"path": self.path, "given": _plain(self.given), "expected": _plain(self.expected, like),
             "status": self.status, "diagnosis": self.diagnosis, "explanation": self.explanation,
             "follow_through_value": _plain(self.follow_through_value, like)}
        if self.working is not None:
            d["working"] = self.working
        return d


@dataclass
class Report:
    problem: str
    answers: str
    items: list = field(default_factory=list)
    tolerance: Tolerance = field(default_factory=Tolerance)

    @property
    def first_wrong(self) -> str | None:
        return next((i.path for i in self.items if i.status == "wrong"), None)

    @property
    def summary(self) -> dict:
        out = {s: sum(1 for i in self.items if i.status == s) for s in STATUSES}
        out["total"] = len(self.items)
        return out

    @property
    def exit_code(self) -> int:
        return 1 if self.summary["wrong"] else 0

    def to_markdown(self) -> str:
        """The marked script as Markdown (as `nnsolve check --format markdown`)."""
        from .check_command import render_markdown
        return render_markdown([self], False)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __rich_console__(self, console, options):
        from .check_command import renderables
        yield from renderables([self], False)

    def to_dict(self) -> dict:
        return {"problem": self.problem, "answers": self.answers, "items": [i.to_dict() for i in self.items],
                "first_wrong": self.first_wrong, "summary": self.summary, "tolerance": self.tolerance.text()}


def _plain(v, scalar: bool = False):
    if v is None:
        return None
    a = np.asarray(v, dtype=float)
    return float(a.reshape(-1)[0]) if a.ndim == 0 or (scalar and a.size == 1) else a.tolist()


def _number(loc: Located, key, value):
    from .loader import is_number
    if isinstance(value, list):
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise loc.error(key, "expected a number or a list of numbers (the student's value)")
        if arr.dtype == object or not np.all(np.isfinite(arr)):
            raise loc.error(key, "expected finite numbers")
        return arr, max((_decimals(v) for v in np.ravel(value) if is_number(v)), default=0)
    if isinstance(value, bool) or not is_number(value):
        shown = f"'{value}'" if isinstance(value, str) else type(value).__name__ if value is not None else "nothing"
        raise loc.error(key, f"expected a number (the student's value), got {shown}")
    if not math.isfinite(value):
        raise loc.error(key, "expected a finite number, got NaN or infinity")
    return float(value), _decimals(value)


def read_answers(loc: Located) -> tuple[list[Answer], Tolerance]:
    data = loc.data
    if data is None:
        raise InputError("the answers file is empty: it needs 'answers:' with result paths and values",
                         file=loc.file, line=1, column=1)
    if not isinstance(data, dict):
        raise InputError("expected a mapping with 'answers:' (and optionally 'tolerance:') at the top",
                         file=loc.file, line=1, column=1)
    for k in data:
        if k not in ("answers", "tolerance", "title", "student"):
            raise loc.error((k,), f"unknown key '{k}'; expected answers, tolerance (or title, student)")
    if "answers" not in data:
        raise InputError("missing key 'answers': a mapping of result paths to the student's values",
                         file=loc.file, line=1, column=1)
    raw = data["answers"]
    if not isinstance(raw, dict) or not raw:
        raise loc.error(("answers",), "expected a mapping of result paths to values, e.g. h[1]: 0.536")
    if len(raw) > MAX_ANSWERS:
        raise loc.error(("answers",), f"at most {MAX_ANSWERS} answers")
    answers = []
    for key, value in raw.items():
        where = ("answers", key)
        try:
            path = parse_path(str(key))
        except ValueError:
            raise loc.error(where, f"'{key}' is not a result path: a result's name, then indices in brackets "
                                   "counting from 1 (h[2], h[2][1], weights[1][2][1], history[3].v)")
        given, dec = _number(loc, where, value)
        answers.append(Answer(str(key), path, given, dec, where))
    tol = Tolerance()
    if data.get("tolerance") is not None:
        t = data["tolerance"]
        forms = ("decimals", "relative", "absolute", "sigfigs")
        if not isinstance(t, dict) or len(t) != 1 or next(iter(t)) not in forms:
            raise loc.error(("tolerance",), "expected one of {decimals: n}, {relative: r}, {absolute: a}, "
                                            "{sigfigs: n}")
        form, amount = next(iter(t.items()))
        from .loader import is_number
        if isinstance(amount, bool) or not is_number(amount) or not math.isfinite(amount) \
                or not amount > 0 and form != "decimals" or amount < 0 \
                or (form in ("decimals", "sigfigs") and (float(amount) != int(amount) or amount > MAX_DECIMALS)):
            raise loc.error(("tolerance", form), f"expected a {'whole ' if form in ('decimals', 'sigfigs') else ''}"
                                                 f"number {'≥ 0' if form == 'decimals' else '> 0'}"
                                                 + (f" and ≤ {MAX_DECIMALS}" if form in ('decimals', 'sigfigs') else "")
                                                 + f", got {amount!r}")
        tol = Tolerance(form, float(amount))
    return answers, tol


# -- resolving paths ------------------------------------------------------------------------

def resolve(results, path: tuple):
    node = results
    for part in path:
        if isinstance(part, int):
            if not isinstance(node, (list, tuple)) or not 1 <= part <= len(node):
                raise KeyError(part)
            node = node[part - 1]
        else:
            if not isinstance(node, dict) or part not in node:
                raise KeyError(part)
            node = node[part]
    if isinstance(node, (dict, bool, str)) or node is None:
        raise KeyError(path)
    return np.asarray(node, dtype=float) if isinstance(node, list) else float(node)


def result_paths(results, prefix=()) -> list[str]:
    """Every path of results down to vectors (for messages)."""
    out = []
    if isinstance(results, dict):
        for k, v in results.items():
            out += result_paths(v, prefix + (k,))
    elif isinstance(results, list) and results and isinstance(results[0], (list, dict)):
        for i, v in enumerate(results, start=1):
            out += result_paths(v, prefix + (i,))
    elif not isinstance(results, (bool, str)) and results is not None:
        out.append(path_text(prefix))
    return out


def _near(path: tuple, paths: list[str]) -> str:
    head = path[0]
    same = [p for p in paths if parse_path(p)[0] == head]
    if same:
        shown = same if len(same) <= 8 else same[:4] + ["…"] + same[-3:]
        return "the paths of " + head + " are " + ", ".join(shown)
    names = sorted({parse_path(p)[0] for p in paths})
    import difflib
    close = difflib.get_close_matches(head, names, n=1)
    return (f"did you mean '{close[0]}'? " if close else "") + "the results are " + ", ".join(names)


# -- solving again ---------------------------------------------------------------------------

class Solver:
    """The problem, solved as often as marking needs (each variant once)."""

    def __init__(self, loc: Located):
        self.loc = loc
        data = dict(loc.data) if isinstance(loc.data, dict) else loc.data
        if isinstance(data, dict):  # marking works the problem exactly; remarks play no part
            data.pop("rounding", None)
            data.pop("remarks", None)
        self.base = Located(data, loc.file, loc.marks)
        from .core import Problem
        self.problem = Problem(self.base)
        self._cache: dict = {}
        self._slips = None
        self.slip_cache: dict = {}  # (slip, the given values it depends on) -> its working
        self.exact = self.solve()
        self.results = self.exact.results
        self.paths = result_paths(self.results)
        order = {}
        for p in self.exact.sheet.order:
            order.setdefault(p, len(order))
        self.order = order

    def solve(self, rounding=None, given=None, problem=None, swap=None, prime_of_v=False, wanted=None):
        from . import ops
        with ops.slip(swap, prime_of_v):
            return (problem or self.problem).solve(rounding=rounding, given=given, wanted=wanted, remarks=False,
                                                   file_rounding=False)

    def slips(self) -> list:
        """The one-slip variants, each read once (a misread number is a problem of its own)."""
        if self._slips is None:
            from .core import Problem
            self._slips = []
            for s in slips(self):
                if s.data is not None:
                    try:
                        s.problem = Problem(Located(s.data, self.loc.file, self.loc.marks))
                    except InputError:
                        continue  # the slip makes no valid problem (e.g. a negative learning rate)
                self._slips.append(s)
        return self._slips

    def step_path(self, path: tuple):
        """The path of the step that computes path (h[1] for h[1][2]), or None."""
        for n in range(len(path), 0, -1):
            if path[:n] in self.order:
                return path[:n]
        return None

    def rounded(self, k: int):
        """The results of the problem worked by hand to k decimals (None where that working
        breaks down, e.g. a variance rounded to 0 under a square root)."""
        key = ("rounding", k)
        if key not in self._cache:
            try:
                self._cache[key] = self.solve(rounding=k).results
            except (InputError, ArithmeticError, ValueError):
                self._cache[key] = None
        return self._cache[key]

    def position(self, path: tuple) -> int:
        for n in range(len(path), 0, -1):
            if path[:n] in self.order:
                return self.order[path[:n]]
        return len(self.order)


def _computed(working, path: tuple):
    """The value the working computed at path before a given value replaced it."""
    comp = working.sheet.computed
    for n in range(len(path), 0, -1):
        if path[:n] in comp:
            v = np.asarray(comp[path[:n]])
            idx = tuple(i - 1 for i in path[n:])
            try:
                return float(v[idx]) if idx and v[idx].ndim == 0 else (v[idx] if idx else v)
            except (IndexError, TypeError):
                return None
    return None


# -- slips, as data -------------------------------------------------------------------------

BIAS = re.compile(r"^(b|c|bias|b_\w+)$")
RECURRENT = re.compile(r"^U_\w+$")


def _leaves(data, path=()):
    """(path, number) of every number given in the problem file."""
    if isinstance(data, dict):
        for k, v in data.items():
            if k not in ("kind", "title", "precision", "rounding", "remarks", "max_epochs", "epochs"):
                yield from _leaves(v, path + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _leaves(v, path + (i,))
    elif isinstance(data, (int, float)) and not isinstance(data, bool):
        yield path, data


def _set(data, path, value):
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def _zeroed(value):
    if isinstance(value, list):
        return [_zeroed(v) for v in value]
    return 0 if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def _key_text(path) -> str:
    """A place in the problem file, with positions counted from 1 as result paths are:
    weights.W_i[1][2] is row 1, column 2."""
    out = ""
    for part in path:
        out += f"[{part + 1}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


def _fmt(x) -> str:
    return f"{x:g}".replace("-", "−")


@dataclass
class Slip:
    diagnosis: str
    explain: str  # "{path}: …"
    data: object = None  # the modified problem data
    problem: object = None  # the same, read
    swap: dict | None = None
    prime_of_v: bool = False


def slips(solver: Solver) -> list[Slip]:
    """The one-slip variants of the problem, each a way a student commonly goes wrong."""
    from . import nn
    data = solver.base.data
    out = []
    for path, x in _leaves(data):
        for new, how in ((x * 10, "×10"), (x / 10, "÷10"), (-x, "the sign dropped")):
            if new == x:
                continue
            d = copy.deepcopy(data)
            _set(d, path, new)
            out.append(Slip("misread", f"you used {_fmt(new)} where the problem gives {_fmt(x)} "
                                       f"({_key_text(path)}, {how})", data=d))
    seen = set()

    def terms(node, path=()):
        if isinstance(node, dict):
            for k, v in node.items():
                if isinstance(k, str) and (BIAS.match(k) or RECURRENT.match(k)
                                           or (k == "W" and path[-1:] == ("weights",) and "U" in node)
                                           or (k == "c" and path[-1:] == ("initial",))):
                    yield path + (k,), k
                yield from terms(v, path + (k,))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield from terms(v, path + (i,))
    for path, k in terms(data):
        if path in seen:
            continue
        seen.add(path)
        d = copy.deepcopy(data)
        _set(d, path, _zeroed(_get(d, path)))
        what = ("the previous cell state c₀" if k == "c" and path[-2:-1] == ("initial",) else
                f"the bias {k}" if BIAS.match(k) else f"the recurrent term {k} h_(t−1)")
        out.append(Slip("missing_term", f"{what} ({_key_text(path)}) was left out", data=d))
    pairs = [("sigmoid", "tanh"), ("tanh", "sigmoid"), ("sigmoid", "linear"), ("tanh", "linear"),
             ("relu", "linear"), ("softmax", "sigmoid")]
    for a, b in pairs:
        out.append(Slip("activation", f"{_name(b)} was used where the working takes {_name(a)}",
                        swap={a: nn.activation(b)}))
    out.append(Slip("derivative", "the activation's derivative was taken of the pre-activation v "
                                  "instead of the output y (v(1 − v) for σ′, 1 − v² for tanh′)", prime_of_v=True))
    return out


def _name(act: str) -> str:
    return {"sigmoid": "σ", "linear": "no activation"}.get(act, act)


def _get(data, path):
    node = data
    for part in path:
        node = node[part]
    return node


# -- marking --------------------------------------------------------------------------------

def mark(solver: Solver, answers: list[Answer], tol: Tolerance, problem_name: str, answers_name: str,
         loc: Located | None = None) -> Report:
    for a in answers:
        try:
            resolve(solver.results, a.path)
        except KeyError:
            err = f"unknown result path '{a.text}': {_near(a.path, solver.paths)}"
            raise (loc.error(a.key, err) if loc is not None else InputError(err))
        want = np.asarray(resolve(solver.results, a.path))
        if np.ndim(a.given) == 0 and want.size == 1 and want.ndim:  # a number for a length-1 vector
            a.value = np.full(want.shape, float(a.given))
        if np.shape(a.value) != want.shape:
            got = "a number" if np.ndim(a.given) == 0 else f"{np.size(a.given)} numbers"
            need = "a number" if want.ndim == 0 else f"a list of {want.size} numbers"
            err = f"{a.text} is {need}, got {got}"
            raise (loc.error(a.key, err) if loc is not None else InputError(err))
    answers = sorted(answers, key=lambda a: solver.position(a.path))
    given = {a.path: a.value for a in answers}
    ft = solver.solve(given=given)
    report = Report(problem_name, answers_name, tolerance=tol)
    wrong = []
    for n, a in enumerate(answers):
        expected = resolve(solver.results, a.path)
        item = Item(a.text, a.given, expected, "wrong", order=n, decimals=a.decimals)
        ftv = _computed(ft, a.path)
        if ftv is not None and np.array_equal(np.asarray(ftv, float), np.asarray(expected, float)):
            ftv = None  # nothing the student gave before changed it: no follow-through value
        if tol.ok(a.value, expected, a):
            item.status = "correct"
        elif tol.decimals_of(a) <= 12 and solver.rounded(tol.decimals_of(a)) is not None \
                and tol.ok(a.value, resolve(solver.rounded(tol.decimals_of(a)), a.path), a):
            item.status = "rounding"
            item.explanation = (f"{a.text}: right for a hand calculation rounding every step to "
                                f"{tol.decimals_of(a)} decimals (the exact value is {_show(expected)})")
        elif ftv is not None and tol.ok(a.value, ftv, a):
            item.status = "follow_through"
            item.follow_through_value = ftv
            item.explanation = f"{a.text}: right from your own earlier answers (error carried forward)"
        else:
            item.follow_through_value = ftv
            wrong.append((a, item))
        report.items.append(item)
    if wrong:
        fine = [a for a, item in zip(answers, report.items) if item.status != "wrong"]
        _diagnose(solver, wrong, answers, given, tol, fine)
    for a, item in wrong:
        item.working = _step_working(solver.exact, a.path) or {
            "id": a.text, "value": _show(item.expected),
            "note": "no step of the working computes it: it is a value carried over unchanged"}
    return report


def _show(v) -> str:
    a = np.asarray(v, dtype=float)
    if a.ndim == 0:
        return f"{float(a):.6g}"
    return "[" + ", ".join(f"{x:.6g}" for x in a.ravel()) + "]"


def _diagnose(solver: Solver, wrong: list, answers: list, given: dict, tol: Tolerance, fine: list) -> None:
    """Each wrong answer's likely slip. A slip counts when it reproduces the value and keeps
    the answers the student got right at the same step (``fine``: correct, rounding or
    follow-through): misreading an input would have spoiled the forget gate the student got
    right. The diagnosis is given when the slips that count are all of one kind, or else when
    those that also keep every right answer at every step are."""
    found = {id(item): [] for _, item in wrong}  # (diagnosis, distance, explanation)

    def close(a, value):
        return value is not None and np.shape(value) == np.shape(a.value) and tol.ok(a.value, value, a)

    def consider(a, item, value, diagnosis, explanation, everywhere=True):
        if close(a, value):
            dist = float(np.max(np.abs(np.asarray(a.value, float) - np.asarray(value, float))))
            found[id(item)].append((diagnosis, dist, explanation, everywhere))

    for a, item in wrong:  # sign, and a value of the step before (no solving needed)
        for base, which in ((item.expected, "the right value"), (item.follow_through_value, "your follow-through value")):
            if base is not None and np.any(np.asarray(base) != 0):
                consider(a, item, -np.asarray(base), "sign", f"{a.text}: the sign is wrong ({which} is {_show(base)})")
        idx = [i for i, part in enumerate(a.path) if isinstance(part, int)]
        start = _given_start(solver.base.data, a.path)
        if idx and a.path[idx[0]] == 1 and start is not None:
            consider(a, item, start, "stale", f"{a.text}: this is the starting value given in the problem "
                                              f"(the value before the step)")
        if idx and a.path[idx[0]] > 1:
            prev = a.path[:idx[0]] + (a.path[idx[0]] - 1,) + a.path[idx[0] + 1:]
            try:
                consider(a, item, resolve(solver.results, prev), "stale",
                         f"{a.text}: this is the value of {path_text(prev)}, the step before (a stale value)")
            except KeyError:
                pass
    steps = {solver.step_path(a.path) for a, _ in wrong}
    wanted = None if None in steps else steps  # the wrong answers' steps: the solve may stop there
    # A solve that stops at the last wrong step depends only on the values given before it:
    # scripts of one class share most of those, so each (slip, those values) is solved once.
    key = None
    if wanted is not None:
        last = max(solver.position(p) for p in steps)
        key = (frozenset(steps), tuple(sorted(((k, np.asarray(v, float).tobytes()) for k, v in given.items()
                                               if solver.position(k) < last), key=repr)))
    for n, s in enumerate(solver.slips()):
        cached = solver.slip_cache.get((n, key), False) if key is not None else False
        if cached is False:
            try:
                w = solver.solve(given=given, problem=s.problem, swap=s.swap, prime_of_v=s.prime_of_v,
                                 wanted=wanted)
            except (InputError, FloatingPointError, ValueError, ZeroDivisionError, ArithmeticError):
                w = None  # the slip makes no valid problem (e.g. a negative learning rate)
            if key is not None:
                solver.slip_cache[(n, key)] = w
        else:
            w = cached
        if w is None:
            continue
        hits = [(a, item, v) for a, item in wrong for v in (_computed(w, a.path),) if close(a, v)]
        if not hits:
            continue
        kept = {id(b): close(b, u) for b in fine for u in (_computed(w, b.path),) if u is not None}
        for a, item, v in hits:
            # a slip may be made at one step only: it must keep the answers the student got
            # right at the same step (a misread input would have spoiled the forget gate too)
            here = _step_index(a.path)
            if not all(ok for b in fine if _step_index(b.path) == here for ok in (kept.get(id(b), True),)):
                continue
            consider(a, item, v, s.diagnosis, f"{a.text}: {s.explain}", all(kept.values()))
    for a, item in wrong:
        cands = found[id(item)]
        kinds = {c[0] for c in cands}
        if len(kinds) > 1:  # prefer the slips that keep every right answer, at every step
            everywhere = [c for c in cands if c[3]]
            if len({c[0] for c in everywhere}) == 1:
                cands, kinds = everywhere, {everywhere[0][0]}
        if len(kinds) == 1:
            cands.sort(key=lambda c: c[1])
            item.diagnosis, item.explanation = cands[0][0], cands[0][2]
            others = [c[2].split(": ", 1)[1] for c in cands[1:4]]
            if others:
                item.explanation += ("; other single slips of this kind give the same value: "
                                     + "; ".join(others) + ("; …" if len(cands) > 4 else ""))
        else:
            item.diagnosis = None
            item.explanation = (f"{a.text}: no single slip explains this value"
                                + (f" (it fits several kinds: {', '.join(sorted(kinds))})" if kinds else ""))


def _step_index(path: tuple):
    """The step (time step, presentation, layer) a result path belongs to: its first index."""
    return next((p for p in path if isinstance(p, int)), None)


def _given_start(data, path: tuple):
    """The starting value the problem gives for the quantity at path[1] (the initial
    weights for history[1].weights, h₀ for h[1]), or None."""
    name = next((p for p in reversed(path) if isinstance(p, str)), None)
    if not isinstance(data, dict) or name is None:
        return None
    for node in (data, data.get("initial"), data.get("weights")):
        if isinstance(node, dict) and name in node and name != path[0] or \
                (isinstance(node, dict) and name in node and len(path) > 1 and isinstance(path[1], int)
                 and node is data.get("initial")):
            try:
                return np.asarray(node[name], dtype=float)
            except (TypeError, ValueError):
                return None
    return None


def _step_working(working, path: tuple) -> dict | None:
    """The right working of the step that computes path: symbolic, substituted, value."""
    from .render.common import fmt_for, step_lines
    from .render.formula import FormulaPrinter
    from .notation import to_unicode
    from .working import Step
    printer = FormulaPrinter(fmt_for("unicode", working.precision))
    for n in range(len(path), 0, -1):
        want = path_text(path[:n])
        for s in working.sections:
            for b in s.blocks:
                if isinstance(b, Step) and b.id == want:
                    lines = step_lines(b, printer)
                    forms = lines.forms or [f[0] for _, f, _ in lines.components if f]
                    return {"id": want, "lhs": to_unicode(b.lhs), "symbolic": to_unicode(lines.symbolic),
                            "substituted": [to_unicode(f) for f in forms], "value": lines.value}
    return None


# -- entry points ---------------------------------------------------------------------------

def check(problem, answers) -> Report:
    """Mark ANSWERS (a path or YAML text of an answers file, or a dict {path: value}) against
    PROBLEM (a problem file's path)."""
    loc = load_file(str(problem))
    solver = Solver(loc)
    return check_with(solver, answers, str(problem))


def check_with(solver: Solver, answers, problem_name: str) -> Report:
    if isinstance(answers, dict):
        if "answers" not in answers:  # {path: value, …} (and perhaps a tolerance)
            answers = {"answers": {k: v for k, v in answers.items() if k != "tolerance"},
                       **({"tolerance": answers["tolerance"]} if "tolerance" in answers else {})}
        from .api import _plain
        aloc = Located(_plain(answers), "<answers>", {})
        name = "<answers>"
    else:
        aloc = load_file(str(answers))
        name = str(answers)
    items, tol = read_answers(aloc)
    return mark(solver, items, tol, problem_name, name, aloc)


class _CallableModule(type(math)):
    """``nnsolve.check(problem, answers)`` is the API's marking; ``nnsolve.check`` stays the
    module (Solver, Report, …)."""

    def __call__(self, problem, answers) -> Report:
        from .api import check as api_check
        return api_check(problem, answers)


import sys as _sys  # noqa: E402

_sys.modules[__name__].__class__ = _CallableModule
