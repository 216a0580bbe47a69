"""One vocabulary of operations, for formulas and for plain numbers.

Every operation a solver's formula uses takes either an :class:`~nnsolve.expr.Expr` (and
builds the formula, so the working can print it symbolic, with numbers put in, and
evaluated) or a float64 array (and just computes). The ``Expr`` nodes compute their values
with the very same numpy functions, in the same order, so a shown run and a silent run of
one formula agree bit for bit by construction::

    from nnsolve import ops
    f = ops.sigma(Wf @ x + Uf @ h + bf)     # Expr in, Expr out; arrays in, array out

Hand rounding (``rounding: N``) lives here too: while :func:`rounding` is active, each
function value a formula shows (σ(1.75) = 0.852) is rounded to N decimals, and so is the
argument it is taken of, exactly as a careful hand calculation writes them down. The
recorder (:mod:`nnsolve.sheet`) rounds each step's value with :func:`round_value`.
"""
from __future__ import annotations

import contextlib
import decimal

import numpy as np

from . import expr as E
from .expr import Expr

# -- hand rounding ----------------------------------------------------------------------

_ROUNDING: list = [None]  # decimals of the hand rounding in force, or None


def current_rounding() -> int | None:
    return _ROUNDING[0]


@contextlib.contextmanager
def rounding(decimals: int | None):
    """Within the block, function values (and their arguments) are rounded to ``decimals``."""
    saved = _ROUNDING[0]
    _ROUNDING[0] = decimals
    try:
        yield
    finally:
        _ROUNDING[0] = saved


def round_half_away(x, decimals: int):
    """x rounded to ``decimals`` places, half away from zero, as a calculator does: the
    decimal number the float64 prints as (15 significant digits, so 2.675 is 2.675 and
    rounds to 2.68) is rounded, not its binary approximation."""
    q = decimal.Decimal(1).scaleb(-decimals)
    context = decimal.Context(prec=400)  # quantize needs every digit up to the last decimal

    def one(v: float) -> float:
        v = float(v)
        if not np.isfinite(v):
            return v
        d = decimal.Decimal(f"{v:.15g}").quantize(q, rounding=decimal.ROUND_HALF_UP, context=context)
        return float(d) + 0.0  # + 0.0: no negative zero
    a = np.asarray(x, dtype=float)
    if a.ndim == 0:
        return np.asarray(one(a))
    return np.array([one(v) for v in a.reshape(-1)], dtype=float).reshape(a.shape)


# -- slips (for marking: "what if the student did this?") ---------------------------------

_SWAP: dict = {}  # activation name -> the record used in its place
_PRIME_OF_V: list = [False]  # derivatives of the output taken of the pre-activation instead


@contextlib.contextmanager
def slip(swap: dict | None = None, prime_of_v: bool = False):
    """Within the block, every application of an activation named in ``swap`` uses the
    given record instead (σ for tanh), and with ``prime_of_v`` an activation's derivative
    is written in the pre-activation where the output belongs (v(1 − v) for σ′)."""
    saved = dict(_SWAP), _PRIME_OF_V[0]
    _SWAP.clear()
    _SWAP.update(swap or {})
    _PRIME_OF_V[0] = prime_of_v
    try:
        yield
    finally:
        _SWAP.clear()
        _SWAP.update(saved[0])
        _PRIME_OF_V[0] = saved[1]


def plain() -> bool:
    """True when numbers are computed as written: no hand rounding, no slip swapped in. A
    kind's loop over many silent steps may then run its formulas on numbers directly."""
    return _ROUNDING[0] is None and not _SWAP and not _PRIME_OF_V[0]


def round_value(x):
    """x under the hand rounding in force (unchanged without one)."""
    n = _ROUNDING[0]
    return x if n is None else round_half_away(x, n)


# -- building or computing --------------------------------------------------------------

def is_expr(x) -> bool:
    return isinstance(x, Expr)


def value(x) -> np.ndarray:
    """The value of a formula or of a plain number/array, as float64."""
    return x.value if isinstance(x, Expr) else np.asarray(x, dtype=float)


def func(tex: str, fn, x, *, elementwise: bool = True):
    """fn applied to x: a named function node ``tex(x)`` for a formula, fn(x) for numbers.
    Under hand rounding the argument and the value are rounded (both are written down)."""
    if _ROUNDING[0] is not None:
        v = round_value(np.asarray(fn(round_value(value(x))), dtype=float))
        return E.Func(tex, fn, x, elementwise=elementwise, value=v) if isinstance(x, Expr) else v
    if isinstance(x, Expr):
        return E.Func(tex, fn, x, elementwise=elementwise)
    return np.asarray(fn(np.asarray(x, dtype=float)), dtype=float)


def apply(activation, x):
    """An activation of the library (a record of :mod:`nnsolve.nn`, or its name) applied to x."""
    act = activation
    if isinstance(activation, str):
        from .nn import activation as lookup
        act = lookup(activation)
    if _SWAP:
        act = _SWAP.get(act.name, act)
    if act.identity_map:
        return x
    return func(act.tex, act.value, x, elementwise=act.elementwise)


def prime(activation, v, y):
    """f′(v) of an activation, written as the library states it (in terms of the output
    y = f(v) where the classic identity exists)."""
    from .nn import activation as lookup
    act = lookup(activation) if isinstance(activation, str) else activation
    if _SWAP:  # a swapped activation brings its own derivative
        act = _SWAP.get(act.name, act)
    return act.prime(v, v if _PRIME_OF_V[0] else y)


_ACTIVATIONS: list = []  # the library's table, looked up once (nn imports ops: not at import time)


def _lib(name: str):
    if not _ACTIVATIONS:
        from .nn.activations import ACTIVATIONS
        _ACTIVATIONS.append(ACTIVATIONS)
    return _ACTIVATIONS[0][name]


def sigma(x):
    return apply(_lib("sigmoid"), x)


def tanh(x):
    return apply(_lib("tanh"), x)


def relu(x):
    return apply(_lib("relu"), x)


def softmax(x):
    return apply(_lib("softmax"), x)


def exp(x):
    return func(r"\exp", _exp, x)


def _exp(v):
    return np.exp(v)


def log(x):
    return func(r"\ln", _log, x)


def _log(v):
    return np.log(v)


def log_exact(x, exact):
    """ln x, where ``exact`` is its value computed another way, in the log domain (ln σ(v) =
    −softplus(−v) from the logit v): a formula node ln(x) valued exactly even where x itself
    rounds to 0 or 1 in float64 (σ(1000) = 1, yet ln(1 − σ(1000)) = −1000). Under hand
    rounding the value is rounded as any function value."""
    v = round_value(np.asarray(exact, dtype=float))
    if isinstance(x, Expr):
        return E.Func(r"\ln", _log, x, value=v)
    return v


def sqrt(x):
    return func(r"\sqrt", _sqrt, x)


def _sqrt(v):
    return np.sqrt(v)


def odot(a, b):
    """a ⊙ b, the element-wise product (a b for numbers)."""
    if isinstance(a, Expr) or isinstance(b, Expr):
        return E.odot(a, b)
    return np.multiply(a, b)


def times(a, b, size: int):
    """a ⊙ b for vectors (size > 1), plain juxtaposition a b for scalars."""
    if isinstance(a, Expr) or isinstance(b, Expr):
        return E.odot(a, b) if size > 1 else E.lift(a) * E.lift(b)
    return np.multiply(a, b)


def outer(a, b):
    """a bᵀ."""
    if isinstance(a, Expr) or isinstance(b, Expr):
        return E.Outer(E.lift(a), E.lift(b))
    return np.outer(a, b)


def group(x):
    """(x) evaluated on its own line: a · (b + c) = a · (−0.0364) = … (a formula); x itself
    for numbers. The value is x's, unchanged."""
    if isinstance(x, Expr):
        return E.Group(x)
    return x


def written(formal, shown):
    """``formal`` (σ(v)) written out as ``shown`` (1/(1 + e^{−v})) in the working, with
    ``formal``'s value; ``formal`` itself for numbers."""
    if isinstance(formal, Expr) and isinstance(shown, Expr):
        return E.written(formal, shown)
    return formal


def total(x, index: str = "j"):
    """Σ_j x_j."""
    if isinstance(x, Expr):
        return E.Sum(x, index)
    return np.asarray(np.sum(x), dtype=float)


def mean(x, index: str = "j"):
    """1/n Σ_j x_j."""
    if isinstance(x, Expr):
        return E.Mean(x, index)
    return np.asarray(np.mean(x), dtype=float)


def const(value_, tex: str | None, like=None):
    """A literal number of a formula (the ½ of ½Σe²): a Const when building (``like`` an
    Expr, or no ``like``), the number itself when computing on arrays."""
    if like is not None and not isinstance(like, Expr):
        return np.asarray(value_, dtype=float)
    return E.Const(value_, tex)
