"""kind: optimizer — an optimiser run for a few steps, on a function or on given gradients.

Methods (building-blocks.md): plain gradient descent, momentum in the notes' Δw form,
Nesterov's look-ahead momentum, Adagrad, RMSProp (ε outside or inside the root), Adam and
the notes' adaptive gains (after Jacobs). With ``function`` the text is checked by the
whitelist of :mod:`nnsolve.derive.safe_parse` (nothing of it runs) and its gradient is
derived once with SymPy; SymPy is imported on that path only (never for ``gradients``, never
by ``nnsolve schema`` / ``new``). The derived partial derivatives are turned into formulas of
:mod:`nnsolve.ops`, so every gradient component is worked symbolic, with numbers put in and
valued, and shown and silent runs agree bit for bit.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .. import ops
from ..errors import InputError
from ..given import Field, title

SUMMARY = "an optimiser (gd, momentum, nesterov, adagrad, rmsprop, adam, adaptive gains) run step by step"
HEADLINE = "an optimiser run step by step on a function or on given gradients"

METHODS = ("gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adaptive_gain")
MAX_STEPS = 10_000
MAX_PARAMS = 100
MAX_WORK = 200_000  # steps × parameters

# the keys only some methods use (building-blocks.md: any other method is an input error)
USED_BY = {
    "momentum": ("momentum", "nesterov"),
    "beta": ("rmsprop", "adaptive_gain"),
    "beta1": ("adam",),
    "beta2": ("adam",),
    "epsilon": ("adagrad", "rmsprop", "adam"),
    "epsilon_placement": ("rmsprop",),
}
STATES = {  # result name, LaTeX, what it is
    "gd": (),
    "momentum": (("velocity", r"\Delta w", "the velocity Δw"),),
    "nesterov": (("velocity", r"\Delta w", "the velocity Δw"),),
    "adagrad": (("accumulator", "G", "the sum of squared gradients G"),),
    "rmsprop": (("mean_square", r"\mathrm{MS}", "the mean square MS"),),
    "adam": (("m", "m", "the first moment m"), ("v", "v", "the second moment v"),
             ("m_hat", r"\hat{m}", "m̂"), ("v_hat", r"\hat{v}", "v̂")),
    "adaptive_gain": (("gains", r"\gamma", "the gains γ"),),
}
TITLES = {
    "gd": "plain gradient descent",
    "momentum": "gradient descent with momentum (the notes' Δw form)",
    "nesterov": "Nesterov momentum (the look-ahead form of the notes)",
    "adagrad": "Adagrad",
    "rmsprop": "RMSProp",
    "adam": "Adam",
    "adaptive_gain": "adaptive learning with local gains (the notes, after Jacobs)",
}

GIVEN = (
    title("Momentum on a quadratic bowl"),
    Field("method", "choice", "gd | momentum | nesterov | adagrad | rmsprop | adam | adaptive_gain",
          choices=METHODS, example="momentum"),
    Field("function", "string", "the function f to minimise, of the parameters named in start; its gradient "
          "is derived (numbers, + - * / ^, exp, log, sqrt, sin, cos, tanh, sigma, relu, …)", instead=("gradients",),
          example="(w1 - 3)**2 + 10*(w2 + 1)**2", what="the function f, a text such as (w1 - 3)**2 + w2**2"),
    Field("gradients", "list", "instead of function: one given gradient per step, each as long as start "
          "(not for nesterov)", of="vector", shape=("steps", "n"), default=None, template="comment",
          lead="or, instead of function:", example=[[-6, 20], [-4.8, -20], [-2.76, -16]],
          what="a list of gradients, one list of numbers per step"),
    Field("start", "mapping", "the parameters and their starting values, in this order", flow=True,
          example={"w1": 0, "w2": 0}, what="a mapping of parameter names to numbers, e.g. {w1: 0, w2: 0}",
          schema={"type": "object", "minProperties": 1, "additionalProperties": {"type": "number"}}),
    Field("learning_rate", "number", "learning rate", notation=r"\eta", positive=True, example=0.1,
          what="the learning rate η, a positive number"),
    Field("steps", "integer", "the number of steps", default=None, minimum=1, maximum=MAX_STEPS, example=3,
          default_text="1; with gradients, their number", what="the number of steps, a whole number ≥ 1"),
    Field("momentum", "number", "momentum and nesterov: the momentum factor", notation=r"\alpha", default=0.9,
          minimum=0, maximum=1, example=0.9, what="the momentum α, a number from 0 to 1"),
    Field("beta", "number", "rmsprop: the decay of the mean square; adaptive_gain: the gain step",
          notation=r"\beta", default=None, minimum=0, maximum=1, example=0.9, template="comment",
          default_text="0.9 for rmsprop, 0.05 for adaptive_gain", what="β, a number from 0 to 1"),
    Field("beta1", "number", "adam: the decay of the first moment m", notation=r"\beta_1", default=0.9,
          minimum=0, maximum=1, example=0.9, template="comment", needs=(("method", "adam"),),
          what="β₁, a number from 0 to 1 (less than 1)"),
    Field("beta2", "number", "adam: the decay of the second moment v", notation=r"\beta_2", default=0.999,
          minimum=0, maximum=1, example=0.999, template="comment", needs=(("method", "adam"),),
          what="β₂, a number from 0 to 1 (less than 1)"),
    Field("epsilon", "number", "adagrad, rmsprop, adam: the ε that keeps the division finite",
          notation=r"\epsilon", default=1e-8, minimum=0, example=1e-8, template="comment",
          what="ε, a number ≥ 0"),
    Field("epsilon_placement", "choice", "rmsprop only: outside, √MS + ε (PyTorch) | inside, √(MS + ε) "
          "(the notes)", choices=("outside", "inside"), default="outside", example="inside",
          template="comment", needs=(("method", "rmsprop"),)),
    Field("clip", "number", "optional: rescale g to norm θ when ‖g‖ > θ (all parameters together, L2 "
          "norm), before the step", notation=r"\theta", default=None, positive=True, example=5,
          template="comment", what="the largest gradient norm θ, a positive number"),
)


# -- names ------------------------------------------------------------------------------

_GREEK = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "mu",
          "nu", "xi", "rho", "tau", "upsilon", "phi", "chi", "psi", "omega")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,19}")


def name_tex(name: str) -> str:
    """w1 -> w_{1}, w_f -> w_{f}, beta_1 -> \\beta_{1}, y_hat -> \\hat{y}, lr -> \\mathrm{lr}."""
    m = re.fullmatch(r"([A-Za-z])_?hat", name)
    if m:
        return rf"\hat{{{m.group(1)}}}"
    m = re.fullmatch(r"(%s|[A-Za-z])_?([0-9]+)|(%s|[A-Za-z])_([A-Za-z0-9]+)" % ("|".join(_GREEK), "|".join(_GREEK)),
                     name)
    if m:
        base, sub = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        return f"{_base(base)}_{{{sub}}}"
    return _base(name)


def _base(b: str) -> str:
    if b in _GREEK:
        return "\\" + b
    return b if len(b) == 1 else rf"\mathrm{{{b}}}"


def _up(t) -> str:
    return f"^{{({t})}}"


def _prev(t):
    return "t-1" if t == "t" else t - 1


# -- the problem --------------------------------------------------------------------------

@dataclass
class Problem:
    method: str
    names: list
    texs: list
    w0: np.ndarray
    eta: float
    steps: int
    alpha: float
    beta: float
    beta1: float
    beta2: float
    eps: float
    inside: bool
    clip: float | None
    f: object = None                 # compiled f (a function of an Env)
    grad: list = field(default_factory=list)  # compiled ∂f/∂w_i
    given: np.ndarray | None = None  # steps × n given gradients
    reader: object = None            # for an error found while solving (0/0 with ε = 0)


def read(r, kind):
    method = r.field("method")
    eta, steps, alpha, beta, beta1, beta2, eps, placement, clip = r.values(
        "learning_rate", "steps", "momentum", "beta", "beta1", "beta2", "epsilon", "epsilon_placement", "clip")
    for key, methods in USED_BY.items():
        if r.has(key) and method not in methods:
            users = ("method " + methods[0] if len(methods) == 1 else
                     "methods " + ", ".join(methods[:-1]) + " and " + methods[-1])
            raise r.error((key,), f"'{key}' is used by {users} only (this problem's method is {method})")
    for key, b in (("beta1", beta1), ("beta2", beta2)):
        if b >= 1:
            raise r.error((key,), f"expected a number less than 1 (the bias correction divides by "
                                  f"1 − β{'₁' if key == 'beta1' else '₂'}ᵗ), got {b:g}")
    if beta is None:
        beta = 0.05 if method == "adaptive_gain" else 0.9
    names, w0 = _read_start(r)
    n = len(names)
    has_f, has_g = r.has("function"), r.has("gradients")
    if has_f and has_g:
        raise r.error(("gradients",), "give either function or gradients, not both")
    if not has_f and not has_g:
        r.raw("function", what="the function to minimise (or, instead, 'gradients': one given gradient per step)")
    p = Problem(method, names, [name_tex(k) for k in names], w0, eta, 1, alpha, beta, beta1, beta2, eps,
                placement == "inside", clip, reader=r)
    if has_g:
        if method == "nesterov":
            raise r.error(("gradients",), "nesterov evaluates the gradient at the look-ahead point "
                                          "w − αΔw, which given gradients cannot: give the function instead")
        items = r.items("gradients", what=r.fields["gradients"].what)
        if len(items) > MAX_STEPS:
            raise r.error(("gradients",), f"expected at most {MAX_STEPS} gradients, got {len(items)}")
        p.given = np.array([r.array_value(v, path, ndim=1, shape=(n,),
                                          what=f"a gradient of length {n}, one number per parameter of start "
                                               f"({', '.join(names)})") for path, v in items])
        p.steps = len(items)
        if steps is not None and steps != p.steps:
            raise r.error(("steps",), f"steps is {steps} but {p.steps} gradient{'s are' if p.steps > 1 else ' is'} "
                                      f"given: one gradient per step (leave steps out, or make them agree)")
    else:
        p.steps = 1 if steps is None else steps
        _read_function(r, p)
    if p.steps * n > MAX_WORK:
        raise r.error(("steps",), f"{p.steps} steps × {n} parameters is more than {MAX_WORK} numbers to work out")
    return p


def _read_start(r):
    value = r.raw("start", what=r.fields["start"].what)
    if not isinstance(value, dict) or not value:
        raise r.error(("start",), f"expected {r.fields['start'].what}, got "
                                  f"{'an empty mapping' if isinstance(value, dict) else _kind_of(value)}")
    if len(value) > MAX_PARAMS:
        raise r.error(("start",), f"expected at most {MAX_PARAMS} parameters, got {len(value)}")
    names, w0 = [], []
    for key, v in value.items():
        name = str(key)
        if isinstance(key, bool) or not _NAME.fullmatch(name):
            raise r.error(("start", key), f"'{name}' is not a parameter name: expected a letter, then letters, "
                                          "digits or _ (w1, w_2, alpha)")
        names.append(name)
        w0.append(r._to_number(v, ("start", key), f"a number, the starting value of {name}"))
    return names, np.array(w0, dtype=float)


def _kind_of(value) -> str:
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, str):
        return f"the text '{value[:30]}'"
    return repr(value)


def _read_function(r, p: Problem) -> None:
    """Check the text with the whitelist (no SymPy, nothing runs), read it with SymPy and derive
    ∂f/∂w_i for every parameter once."""
    from ..derive import safe_parse
    text = r.string("function", what=r.fields["function"].what)
    try:
        checked = safe_parse.check(text)
    except InputError as err:
        raise r.error(("function",), err.message) from None
    missing = [v for v in checked.variables if v not in p.names]
    if missing:
        raise r.error(("function",), f"the function uses {', '.join(missing)}, which start does not give "
                                     f"(start gives {', '.join(p.names)}): every variable of the function "
                                     "is a parameter")
    for name in p.names:
        if not safe_parse.is_variable(name):
            raise r.error(("start", name), f"'{name}' cannot be a variable of the function: a parameter is one "
                                           "letter with an optional index (w1, w_1, x_i) or a Greek name "
                                           "(alpha, beta_1); e, E and pi are constants")
    import sympy as sp
    symbols = {name: sp.Symbol(name, real=True) for name in p.names}
    try:
        f, _ = safe_parse.to_sympy(checked, extra_symbols=symbols)
    except InputError as err:
        raise r.error(("function",), err.message) from None
    grads = [sp.diff(f, symbols[name]) for name in p.names]
    for g in grads:
        if g.has(sp.Derivative, sp.Subs):
            raise r.error(("function",), "SymPy cannot differentiate this function in closed form")
    index = {symbols[name]: i for i, name in enumerate(p.names)}
    p.f = _compile(f, index)
    p.grad = [_compile(g, index) for g in grads]


# -- SymPy expressions as formulas of nnsolve.ops -------------------------------------------

class Env:
    """Where a compiled expression takes its leaves: the parameters (Sym or arrays) and a page."""

    def __init__(self, page, leaves, texs):
        self.page = page
        self.leaves = leaves
        self.texs = texs  # plain names, for a part written as a whole (max, piecewise)
        self.building = any(ops.is_expr(x) for x in leaves)

    def const(self, value, tex=None):
        return ops.const(value, tex) if self.building else np.asarray(value, dtype=float)


def _compile(e, index):
    """A SymPy expression as a function of an Env returning an ops formula (Exprs in, Expr out;
    arrays in, array out): sums, products, quotients, integer powers, √, exp, ln, σ, tanh, the
    trigonometric and hyperbolic functions, |x|, sgn, Heaviside. Anything else (max, min,
    piecewise, non-integer powers) is one named quantity valued by SymPy at full precision."""
    import sympy as sp

    if e.is_Symbol:
        i = index[e]
        return lambda env: env.leaves[i]
    if e.is_Number:
        v = float(e)
        tex = None
        if e.is_Rational and not e.is_Integer:
            tex = ("-" if e.p < 0 else "") + rf"\frac{{{abs(e.p)}}}{{{e.q}}}"
        return lambda env: env.const(v, tex)
    if e is sp.pi:
        return lambda env: env.const(np.pi, r"\pi")
    if e is sp.E:
        return lambda env: env.const(np.e, "e")
    if isinstance(e, sp.Add):
        terms = list(e.as_ordered_terms())
        terms.sort(key=lambda t: bool(t.as_coeff_Mul()[0].is_negative))  # a positive term first
        parts = []
        for t in terms:
            neg = bool(t.as_coeff_Mul()[0].is_negative)
            parts.append((neg, _compile(-t if neg else t, index)))

        def add(env):
            neg, fn = parts[0]
            acc = -fn(env) if neg else fn(env)
            for neg, fn in parts[1:]:
                x = fn(env)
                acc = acc - x if neg else acc + x
            return acc
        return add
    if isinstance(e, sp.Mul):
        c, rest = e.as_coeff_Mul()
        if c == -1:
            inner = _compile(rest, index)
            return lambda env: -inner(env)
        num = [] if c == 1 else [_compile(c, index)]  # the coefficient first: 2 w_1, −400 w_1, ½ w
        den = []
        for fac in (rest.as_ordered_factors() if c != 1 else e.as_ordered_factors()):
            if fac.is_Pow and fac.exp.is_Number and fac.exp.is_negative:
                den.append(_compile(1 / fac, index))
            else:
                num.append(_compile(fac, index))

        def mul(env):
            top = None
            for fn in num:
                x = fn(env)
                top = x if top is None else top * x
            if top is None:
                top = env.const(1.0)
            if not den:
                return top
            bottom = None
            for fn in den:
                x = fn(env)
                bottom = x if bottom is None else bottom * x
            return top / bottom
        return mul
    if e.is_Pow:
        base, ex = e.as_base_exp()
        if base is sp.E:
            arg = _compile(ex, index)
            return lambda env: ops.exp(arg(env))
        b = _compile(base, index)
        if ex.is_Integer and ex > 0:
            k = int(ex)
            return lambda env: b(env) ** k
        if ex.is_Integer and ex < 0:
            k = -int(ex)
            return lambda env: env.const(1.0) / (b(env) if k == 1 else b(env) ** k)
        if ex == sp.Rational(1, 2):
            return lambda env: ops.sqrt(b(env))
        if ex == sp.Rational(-1, 2):
            return lambda env: env.const(1.0) / ops.sqrt(b(env))
        return _whole(e, index)
    name = type(e).__name__
    if name in _FUNCS and len(e.args) == 1:
        arg = _compile(e.args[0], index)
        make = _FUNCS[name]
        return lambda env: make(arg(env))
    if name == "Heaviside":
        arg = _compile(e.args[0], index)
        at0 = float(e.args[1]) if len(e.args) > 1 else 0.5
        return lambda env: ops.func(r"\operatorname{H}", lambda v: np.heaviside(v, at0), arg(env))
    return _whole(e, index)


def _np_sigmoid(v):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-np.asarray(v, dtype=float)))


_FUNCS = {
    "exp": ops.exp,
    "log": ops.log,
    "tanh": ops.tanh,
    "sigma": ops.sigma,
    "sin": lambda x: ops.func(r"\sin", np.sin, x),
    "cos": lambda x: ops.func(r"\cos", np.cos, x),
    "tan": lambda x: ops.func(r"\tan", np.tan, x),
    "sinh": lambda x: ops.func(r"\sinh", np.sinh, x),
    "cosh": lambda x: ops.func(r"\cosh", np.cosh, x),
    "Abs": lambda x: ops.func(r"\operatorname{abs}", np.abs, x),
    "sign": lambda x: ops.func(r"\operatorname{sgn}", np.sign, x),
}


def _whole(e, index):
    """A part nnsolve does not write operation by operation: one named quantity, its value from
    SymPy (evalf at 30 digits, then float64); NaN where it is not a real number."""
    import sympy as sp
    syms = sorted(index, key=index.get)

    def whole(env):
        values = [float(ops.value(x)) for x in env.leaves]
        try:
            v = complex(e.xreplace({s: sp.Float(x, 30) for s, x in zip(syms, values)}).evalf(30))
            v = v.real if v.imag == 0 else float("nan")
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            v = float("nan")
        v = ops.round_value(np.asarray(v))
        if not env.building:
            return np.asarray(v, dtype=float)
        tex = sp.latex(e, symbol_names={s: env.texs[index[s]] for s in syms})
        return env.page.sym(tex, v)
    return whole


# -- solving ------------------------------------------------------------------------------------

def _vec(values) -> np.ndarray:
    return np.array([float(ops.value(v)) for v in values])


def solve(p: Problem, sheet) -> None:
    n = len(p.names)
    T = p.steps
    states = STATES[p.method]
    _problem_section(sheet, p)
    if p.f is not None:
        sheet.rules("The function and its gradient", _quiet(lambda page: _function_rules(page, p)))
    sheet.rules(f"Method: {TITLES[p.method]}", _quiet(lambda page: _method_rules(page, p)))

    start = sheet.section("Start: t = 0")
    sheet.result(("trajectory", 1), p.w0.copy(), exact=True)
    start.table([f"{tex}^{{(0)}}" for tex in p.texs], [list(p.w0)])
    f_start = None
    if p.f is not None:
        try:
            f_start = float(ops.value(_loss(start, p, 0, p.w0, "Value of the function at the start")))
        except ArithmeticError as exc:
            raise _not_finite(p, 0, p.w0, exc) from None
    if p.method == "adaptive_gain":
        start.text(r"Every gain starts at 1 (the notes: 'initialize with g = 1'): $\gamma^{(1)} = 1$.", "note")
    elif states:
        start.text("Every state starts at 0: " + ", ".join(f"${tex}^{{(0)}} = 0$" for name, tex, _ in states
                                                            if name not in ("m_hat", "v_hat")) + ".", "note")

    w = p.w0.copy()
    state = {name: np.zeros(n) for name, _, _ in states}
    if p.method == "adaptive_gain":
        state["gains"] = np.ones(n)
    state["g_prev"] = None
    rows = []
    for t in range(1, T + 1):
        sheet.section(f"Step t = {t}", level=3, detail=True, builder=_quiet(_step_builder(p, t, w, dict(state))))
        try:
            out = _step(sheet.silent, p, t, w, state)
        except ArithmeticError as exc:  # the sheet stops at a value beyond float64
            raise _not_finite(p, t, w, exc) from None
        rows.append([t, out["at"], out["g"]] + [out[name] for name, _, _ in states] + [out["w"]]
                    + ([out["f"]] if p.f is not None else []))
        w = out["w"]
        state = {name: out[name] for name, _, _ in states}
        state["g_prev"] = out["g"]

    table = sheet.section("Step by step")
    point = r"\hat{w}^{(t)}" if p.method == "nesterov" else r"w^{(t-1)}"
    table.table(["t", point, "g^{(t)}"] + [f"{tex}^{{(t)}}" for _, tex, _ in states] + ["w^{(t)}"]
                + ([r"f(w^{(t)})"] if p.f is not None else []), rows,
                note=("The gradient is taken at the look-ahead point ŵ." if p.method == "nesterov" else None))
    end = sheet.section("Result")
    end.table(["parameter", "start", f"after {T} step{'s' if T > 1 else ''}"],
              [[name, a, b] for name, a, b in zip(p.names, p.w0, w)])
    if f_start is not None:
        end.text(f"f goes from {f_start:.6g} to {rows[-1][-1]:.6g} in {T} step{'s' if T > 1 else ''}.", "result")
    if not np.all(np.isfinite(w)):
        end.text("The iterates are no longer finite numbers: the steps diverge (a smaller learning rate "
                 "would help) or the function is not defined there.", "warning")


def _quiet(write):
    """A section writer run when the section is first shown, with numpy's warnings off (an
    overflowing step is a value of the working, not a warning on stderr)."""
    def run(page):
        with np.errstate(all="ignore"):
            write(page)
    return run


def _problem_section(sheet, p: Problem) -> None:
    n, T = len(p.names), p.steps
    intro = sheet.section("Problem")
    source = (f"on the function f({', '.join(p.names)}) of the next section" if p.f is not None
              else f"with {T} given gradient{'s' if T > 1 else ''}")
    head = TITLES[p.method]
    intro.text(f"{head[0].upper() + head[1:]}, {T} step{'s' if T > 1 else ''} {source}; "
               f"{n} parameter{'s' if n > 1 else ''} ({', '.join(p.names)}).")
    cols, vals = [r"\eta"], [p.eta]
    if p.method in ("momentum", "nesterov"):
        cols, vals = cols + [r"\alpha"], vals + [p.alpha]
    if p.method in ("rmsprop", "adaptive_gain"):
        cols, vals = cols + [r"\beta"], vals + [p.beta]
    if p.method == "adam":
        cols, vals = cols + [r"\beta_{1}", r"\beta_{2}"], vals + [p.beta1, p.beta2]
    if p.method in USED_BY["epsilon"]:
        cols, vals = cols + [r"\epsilon"], vals + [p.eps]
    if p.clip is not None:
        cols, vals = cols + [r"\theta"], vals + [p.clip]
    intro.table(cols + ["steps"], [vals + [T]])
    intro.table(["parameter"] + p.texs, [["start"] + list(p.w0)])
    if p.given is not None:
        intro.table(["t", "g^{(t)}"], [[t, g] for t, g in enumerate(p.given, start=1)], title="Given gradients")


def _function_rules(page, p: Problem) -> None:
    env = Env(page, [page.sym(tex, 1.0) for tex in p.texs], p.texs)
    page.step(None, "f", p.f(env))
    page.text("Its gradient, derived once (with SymPy), one partial derivative per parameter:", "text")
    for i, tex in enumerate(p.texs):
        page.step(None, rf"g_{{{i + 1}}} = \frac{{\partial f}}{{\partial {tex}}}", p.grad[i](env))
    page.text(r"Each step evaluates these at its point: $g^{(t)} = \nabla f(w^{(t-1)})$"
              + (r" (for nesterov at the look-ahead point $\hat{w}^{(t)}$)." if p.method == "nesterov" else "."),
              "note")


def _method_rules(page, p: Problem) -> None:
    ones = np.ones(len(p.names))
    if p.method == "nesterov":
        page.math(r"\hat{w}^{(t)} = w^{(t-1)} - \alpha \Delta w^{(t-1)}", "look ahead")
        page.math(r"g^{(t)} = \nabla f(\hat{w}^{(t)})", "gradient at the look-ahead point")
    elif p.f is not None:
        page.math(r"g^{(t)} = \nabla f(w^{(t-1)})", "gradient at the current point")
    else:
        page.math(r"g^{(t)}", "the t-th given gradient")
    if p.clip is not None:
        page.math(r"g^{(t)} \leftarrow \frac{\theta}{\|g^{(t)}\|} g^{(t)} \quad \text{if } \|g^{(t)}\| > \theta, "
                  r"\quad \|g\| = \sqrt{\sum_{j} g_{j}^{2}}", "clipping, before the step")
    state = {name: ones for name, _, _ in STATES[p.method]}
    if p.method == "adaptive_gain":
        page.math(r"\gamma_{j}^{(t)} = \gamma_{j}^{(t-1)} + \beta \quad \text{if } g_{j}^{(t)} g_{j}^{(t-1)} > 0",
                  "same sign: the gain grows (t ≥ 2)")
        page.math(r"\gamma_{j}^{(t)} = \gamma_{j}^{(t-1)} (1 - \beta) \quad \text{if } g_{j}^{(t)} g_{j}^{(t-1)} < 0",
                  "sign change: the gain shrinks")
        page.math(r"\gamma_{j}^{(t)} = \gamma_{j}^{(t-1)} \quad \text{if } g_{j}^{(t)} g_{j}^{(t-1)} = 0", "")
    g = page.sym("g^{(t)}", ones)
    _update(page, p, "t", page.sym("w^{(t-1)}", ones), g, state, None)
    for line in _conventions(p):
        page.text(line, "note")


def _conventions(p: Problem) -> list[str]:
    out = []
    m = p.method
    if m in ("momentum", "nesterov"):
        out.append(r"The notes write $w(t+1) := w(t) - \Delta w(t)$ (seed 003, l. 689); here $w^{(t)}$ is the "
                   r"point after step t and $w^{(0)}$ the start: the same update, the index shifted by one.")
    if m == "momentum":
        out.append(r"PyTorch's SGD(momentum=α) keeps $b^{(t)} = \alpha b^{(t-1)} + g^{(t)}$ and steps "
                   r"$w \leftarrow w - \eta b^{(t)}$: with a constant η, $\Delta w^{(t)} = \eta b^{(t)}$, "
                   "the same points.")
    if m == "nesterov":
        out.append(r"PyTorch's SGD(nesterov=True) is the same method written for the look-ahead point: its "
                   r"parameter after step t is $w^{(t)} - \alpha \Delta w^{(t)}$ here (the next $\hat{w}$), its "
                   r"buffer $\Delta w^{(t)} / \eta$, and it steps by $\eta (g + \alpha b)$.")
        out.append(r"The notes' second line (l. 697) adds $+\eta\,\partial L/\partial w$: the sign is a slip, "
                   r"the step goes against the gradient, $w^{(t)} = \hat{w}^{(t)} - \eta g^{(t)}$.")
    if m == "rmsprop":
        out.append((r"ε outside the root, $\sqrt{\mathrm{MS}} + \epsilon$, as PyTorch's RMSprop; the notes "
                    r"(l. 719) and TensorFlow 1 put it inside, $\sqrt{\mathrm{MS} + \epsilon}$ "
                    "(epsilon_placement: inside).") if not p.inside else
                   (r"ε inside the root, $\sqrt{\mathrm{MS} + \epsilon}$, as the notes (l. 719) and "
                    r"TensorFlow 1; PyTorch's RMSprop puts it outside, $\sqrt{\mathrm{MS}} + \epsilon$."))
    if m == "adagrad":
        out.append("As torch.optim.Adagrad with lr_decay 0 and initial_accumulator_value 0.")
    if m == "adam":
        out.append(r"At t = 1, $\hat{m} = g$ and $\hat{v} = g^{2}$, so every parameter moves by "
                   r"$\eta\, g / (|g| + \epsilon) \approx \pm\eta$, whatever the size of its gradient.")
    if m == "adaptive_gain":
        out.append(r"The notes call the gain $g_{ij}$ (l. 702); here it is γ, because g is the gradient. "
                   r"'Consistent' gradient (l. 706) is read as: the same sign as at the step before.")
    if p.clip is not None:
        out.append(r"PyTorch's clip_grad_norm_ scales by $\theta / (\|g\| + 10^{-6})$, a hair less than the "
                   r"exact $\theta / \|g\|$ used here.")
    return out


def _step_builder(p: Problem, t: int, w, state):
    def build(page):
        cols = [f"w^{{({t - 1})}}"] + [f"{tex}^{{({t - 1})}}" for name, tex, _ in STATES[p.method]
                                       if name not in ("m_hat", "v_hat")]
        vals = [w] + [state[name] for name, _, _ in STATES[p.method] if name not in ("m_hat", "v_hat")]
        if p.method == "adaptive_gain":
            cols, vals = cols[:1], vals[:1]
            if t > 1:
                cols, vals = cols + [f"g^{{({t - 1})}}", f"\\gamma^{{({t - 1})}}"], vals + [state["g_prev"],
                                                                                          state["gains"]]
        page.table(cols, [vals])
        _step(page, p, t, w, state)
    return build


def _step(page, p: Problem, t: int, w, state) -> dict:
    """Step t from the point w and the state before it, each formula stated once (shown or silent)."""
    out = {}
    wp = page.sym(f"w^{{({t - 1})}}", w)
    at = w
    if p.method == "nesterov":
        dw = page.sym(rf"\Delta w^{{({t - 1})}}", state["velocity"])
        look = page.step(None, rf"\hat{{w}}^{{({t})}}", wp - page.sym(r"\alpha", p.alpha) * dw,
                         "Look ahead along the velocity")
        at = np.asarray(ops.value(look), dtype=float)
    g = _gradient(page, p, t, at)
    out["at"] = at
    g = _clip(page, p, t, g)
    out["g"] = np.asarray(ops.value(g), dtype=float)
    new = _update(page, p, t, wp, g, dict(state), state.get("g_prev"))
    out.update({k: np.asarray(ops.value(v), dtype=float) for k, v in new.items()})
    if p.f is not None:
        out["f"] = float(ops.value(_loss(page, p, t, out["w"], "Value of the function at the new point")))
    return out


def _gradient(page, p: Problem, t: int, at):
    n = len(p.names)
    path = (lambda i: None) if p.clip is not None else (lambda i: ("gradients", t, i))
    if p.given is not None:
        value = p.given[t - 1]
        if p.clip is None:
            value = _given_result(page, ("gradients", t), value)
        page.text(f"The given gradient of step {t}: $g^{{({t})}} = {_inline(value)}$", "text")
        return page.sym(f"g^{{({t})}}", value)
    hat = p.method == "nesterov"
    texs = [(rf"\hat{{{tex}}}" if hat else tex) + _up(t if hat else t - 1) for tex in p.texs]
    env = Env(page, [page.sym(tex, at[i]) for i, tex in enumerate(texs)], p.texs)
    where = rf"\hat{{w}}^{{({t})}}" if hat else f"w^{{({t - 1})}}"
    comps = []
    for i in range(n):
        label = f"Gradient $g^{{({t})}} = \\nabla f({where})$" if i == 0 else ""
        comps.append(page.step(path(i + 1), f"g_{{{i + 1}}}^{{({t})}}", p.grad[i](env), label, scalar=True))
    return _gather(page, None if p.clip is not None else ("gradients", t), f"g^{{({t})}}",
                   rf"\nabla f({where})", comps)


def _gather(page, path, tex, whole, comps):
    """The vector of the component steps as a step of its own (a student's whole vector,
    gradients[t], is then marked and carried forward as a component, gradients[t][j], is)."""
    return page.step(path, tex, page.sym(whole, _vec(comps)), components=False)


def _given_result(page, path, value):
    """A given number kept as a result (not rounded: it is given), on a page that remembers."""
    if page.keep:
        page.sheet.result(path, np.asarray(value, dtype=float), exact=True)
    return value


def _inline(value) -> str:
    return "[" + ", ".join(f"{float(x):g}" for x in np.asarray(value).reshape(-1)) + "]"


def _clip(page, p: Problem, t: int, g):
    if p.clip is None:
        return g
    norm = page.step(None, rf"\|g^{{({t})}}\|", ops.sqrt(ops.total(g ** 2)), "Gradient norm", scalar=True)
    if float(ops.value(norm)) > p.clip:
        return page.step(("gradients", t), rf"\tilde{{g}}^{{({t})}}",
                         page.sym(r"\theta", p.clip) / norm * g,
                         rf"Clipped: $\|g^{{({t})}}\| > \theta$, so g is rescaled to norm θ")
    page.text(rf"$\|g^{{({t})}}\| \leq \theta$: the gradient is used as it is.", "note")
    value = ops.value(g)
    if page.keep:  # a given gradient stays as given (not rounded)
        value = page.sheet.result(("gradients", t), value, exact=p.given is not None)
    return page.sym(f"g^{{({t})}}", value)


def _update(page, p: Problem, t, wp, g, state: dict, g_prev) -> dict:
    """The method's update from w^{(t-1)} = wp with the gradient g; t is a step or "t" (rules)."""
    def path(name):
        return None if t == "t" else (name, t)
    up, pr = _up(t), _up(_prev(t))
    eta = page.sym(r"\eta", p.eta)
    new = {}
    m = p.method
    if m == "gd":
        step = eta * g
    elif m in ("momentum", "nesterov"):
        dw = page.sym(rf"\Delta w{pr}", state["velocity"])
        step = new["velocity"] = page.step(path("velocity"), rf"\Delta w{up}",
                                           page.sym(r"\alpha", p.alpha) * dw + eta * g, "Velocity")
    elif m == "adagrad":
        G = new["accumulator"] = page.step(path("accumulator"), f"G{up}", page.sym(f"G{pr}", state["accumulator"])
                                           + g ** 2, "Sum of squared gradients")
        _no_zero_denominator(p, t, G, "G")
        step = eta * g / (ops.sqrt(G) + page.sym(r"\epsilon", p.eps))
    elif m == "rmsprop":
        beta = page.sym(r"\beta", p.beta)
        MS = new["mean_square"] = page.step(path("mean_square"), rf"\mathrm{{MS}}{up}",
                                            beta * page.sym(rf"\mathrm{{MS}}{pr}", state["mean_square"])
                                            + (1 - beta) * g ** 2, "Mean square")
        _no_zero_denominator(p, t, MS, "MS")
        eps = page.sym(r"\epsilon", p.eps)
        step = eta * g / (ops.sqrt(MS + eps) if p.inside else ops.sqrt(MS) + eps)
    elif m == "adam":
        b1, b2 = page.sym(r"\beta_{1}", p.beta1), page.sym(r"\beta_{2}", p.beta2)
        mm = new["m"] = page.step(path("m"), f"m{up}", b1 * page.sym(f"m{pr}", state["m"]) + (1 - b1) * g,
                                  "First moment")
        vv = new["v"] = page.step(path("v"), f"v{up}", b2 * page.sym(f"v{pr}", state["v"]) + (1 - b2) * g ** 2,
                                  "Second moment")
        if t == "t":
            b1t, b2t = page.sym(r"\beta_{1}^{t}", p.beta1), page.sym(r"\beta_{2}^{t}", p.beta2)
        else:
            b1t, b2t = b1 ** t, b2 ** t
        mh = new["m_hat"] = page.step(path("m_hat"), rf"\hat{{m}}{up}", mm / (1 - b1t), "Bias correction")
        vh = new["v_hat"] = page.step(path("v_hat"), rf"\hat{{v}}{up}", vv / (1 - b2t))
        _no_zero_denominator(p, t, vh, "v̂")
        step = eta * mh / (ops.sqrt(vh) + page.sym(r"\epsilon", p.eps))
    elif m == "adaptive_gain":
        gains = _gains(page, p, t, g, state["gains"], g_prev)
        new["gains"] = gains
        step = eta * ops.odot(gains, g) if t == "t" or len(p.names) > 1 else eta * gains * g
    else:  # pragma: no cover - METHODS is checked by the reader
        raise ValueError(m)
    new["w"] = page.step(None if t == "t" else ("trajectory", t + 1), f"w{up}", wp - step, "New point")
    return new


def _gains(page, p: Problem, t, g, gains, g_prev):
    """adaptive_gain: γ^{(1)} = 1; from t = 2 on each γ_j grows by β where g_j keeps its sign and
    shrinks by the factor 1 − β where it flips (unchanged where the product is 0)."""
    if t == "t":
        return page.sym(r"\gamma^{(t)}", gains)
    if t == 1:
        value = np.asarray(gains, dtype=float)
        if page.keep:
            value = page.sheet.result(("gains", 1), value)
        return page.sym(r"\gamma^{(1)}", value)
    beta = page.sym(r"\beta", p.beta)
    gv = np.asarray(ops.value(g), dtype=float)
    out = []
    for j in range(len(p.names)):
        idx = f"_{{{j + 1}}}"
        prod = page.step(None, f"s{idx}^{{({t})}}",
                         page.sym(f"g{idx}^{{({t})}}", gv[j]) * page.sym(f"g{idx}^{{({t - 1})}}", g_prev[j]),
                         rf"Gains: $s_{{j}}^{{({t})}} = g_{{j}}^{{({t})}} g_{{j}}^{{({t - 1})}}$ is positive where "
                         "the gradient kept its sign" if j == 0 else "", scalar=True)
        old = page.sym(rf"\gamma{idx}^{{({t - 1})}}", gains[j])
        s = float(ops.value(prod))
        if s > 0:
            formula, why = old + beta, "same sign: the gain grows by β"
        elif s < 0:
            formula, why = old * (1 - beta), "the sign flipped: the gain shrinks by the factor 1 − β"
        else:
            formula, why = old, "a zero gradient: the gain stays"
        out.append(page.step(("gains", t, j + 1), rf"\gamma{idx}^{{({t})}}", formula, note=why, scalar=True))
    names = [rf"\gamma_{{{j + 1}}}^{{({t})}}" for j in range(len(out))]
    whole = r"\left(" + ", ".join(names if len(names) <= 4 else names[:2] + [r"\ldots", names[-1]]) + r"\right)"
    return _gather(page, ("gains", t), rf"\gamma^{{({t})}}", whole, out)


def _loss(page, p: Problem, t: int, w, label: str):
    env = Env(page, [page.sym(tex + _up(t), w[i]) for i, tex in enumerate(p.texs)], p.texs)
    return page.step(("losses", t + 1), f"f(w^{{({t})}})", p.f(env), label, scalar=True)


def _not_finite(p: Problem, t: int, w, exc) -> InputError:
    """A step whose numbers are no longer finite (the sheet stops at them): from a moderate
    point the function is not defined (or overflows) where the steps go; from a huge one the
    steps diverge."""
    name = getattr(exc, "name", None) or "a quantity"
    where = "at the start" if t == 0 else f"at step {t}"
    if p.f is not None and np.all(np.abs(w) < 1e100):
        return p.reader.error(("function",), f"{where}, {name} is not a finite number: the function or its "
                                             "gradient is not defined (or overflows float64) where the steps go")
    return p.reader.error(("learning_rate",), f"the steps diverge: {where}, {name} is beyond float64; a "
                                              "smaller learning rate keeps them finite")


def _no_zero_denominator(p: Problem, t, root, what: str) -> None:
    """With ε = 0 the update divides by √G (√MS, √v̂); where that is 0 it is undefined."""
    if t == "t" or p.eps != 0:
        return
    zero = [name for name, v in zip(p.names, np.asarray(ops.value(root), dtype=float).reshape(-1)) if v == 0]
    if zero:
        raise p.reader.error(("epsilon",), f"with ε = 0 the update of {', '.join(zero)} at step {t} divides by "
                                           f"√{what} = 0 (0/0 where its gradients so far are all 0): give a "
                                           "positive epsilon")
