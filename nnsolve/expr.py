"""Formulas stated once.

A solver writes a formula with named quantities, e.g.::

    f1 = sigma(Wf @ x1 + Uf @ h0 + bf)

and gets one object that holds the value (float64 numpy) *and* the structure, from which
the renderers print the symbolic line (σ(W_f x₁ + U_f h₀ + b_f)), the line with the
numbers put in (σ(0.7 · 1 + 0.45 · 2 + 0.1 · 0 + 0.15)), the intermediate forms
(σ(1.75)) and the value. The value and its description can't drift apart, and the
numbers are formatted only by the renderer (so ``--precision`` applies everywhere).
"""
from __future__ import annotations

import numpy as np

# Precedences: a child binding more loosely than its parent gets parentheses.
P_ADD, P_MUL, P_NEG, P_POW, P_ATOM = 1, 2, 3, 4, 5


def _arr(v):
    return np.asarray(v, dtype=float)


class Expr:
    prec = P_ATOM
    value: np.ndarray

    # -- building --------------------------------------------------------------------
    def __add__(self, other):
        return Add([(1, self), (1, lift(other))])

    def __radd__(self, other):
        return Add([(1, lift(other)), (1, self)])

    def __sub__(self, other):
        return Add([(1, self), (-1, lift(other))])

    def __rsub__(self, other):
        return Add([(1, lift(other)), (-1, self)])

    def __mul__(self, other):
        return Mul(self, lift(other))

    def __rmul__(self, other):
        return Mul(lift(other), self)

    def __matmul__(self, other):
        return MatVec(self, lift(other))

    def __truediv__(self, other):
        return Div(self, lift(other))

    def __neg__(self):
        return Neg(self)

    def __pow__(self, k):
        return Pow(self, int(k))

    @property
    def T(self):
        return Transpose(self)

    def children(self):
        return ()

    @property
    def scalar(self) -> float:
        """The value of a one-element quantity as a float."""
        return float(np.asarray(self.value).reshape(-1)[0])

    @property
    def size(self) -> int:
        return int(np.asarray(self.value).size)


def lift(x) -> Expr:
    return x if isinstance(x, Expr) else Const(x)


class Sym(Expr):
    """A named quantity: given in the problem, or the value of an earlier step."""

    def __init__(self, tex: str, value):
        self.tex = tex
        self.value = _arr(value)


class Const(Expr):
    """A literal number of the formula (the 1 in 1 − z): the same in every form."""

    def __init__(self, value, tex: str | None = None):
        self.value = _arr(value)
        self.tex = tex


class Add(Expr):
    prec = P_ADD

    def __init__(self, terms):
        flat = []
        for sign, t in terms:
            if isinstance(t, Add) and sign == 1:
                flat.extend(t.terms)
            else:
                flat.append((sign, t))
        self.terms = flat
        v = 0.0
        for sign, t in flat:
            v = v + sign * t.value
        self.value = _arr(v)

    def children(self):
        return tuple(t for _, t in self.terms)


class Mul(Expr):
    """a b: a product of scalars, or a scalar times a vector (η δ); with
    ``elementwise`` the Hadamard product a ⊙ b of two vectors (see :func:`odot`)."""
    prec = P_MUL

    def __init__(self, a: Expr, b: Expr, elementwise: bool = False):
        self.a, self.b = a, b
        self.elementwise = elementwise
        self.value = _arr(a.value * b.value)

    def children(self):
        return (self.a, self.b)


class Div(Expr):
    prec = P_MUL

    def __init__(self, a: Expr, b: Expr):
        self.a, self.b = a, b
        self.value = _arr(a.value / b.value)

    def children(self):
        return (self.a, self.b)


class Neg(Expr):
    prec = P_NEG

    def __init__(self, a: Expr):
        self.a = a
        self.value = _arr(-a.value)

    def children(self):
        return (self.a,)


class Pow(Expr):
    prec = P_POW

    def __init__(self, a: Expr, k: int):
        self.a, self.k = a, k
        self.value = _arr(a.value ** k)

    def children(self):
        return (self.a,)


class Transpose(Expr):
    def __init__(self, a: Expr):
        self.a = a
        self.value = _arr(np.atleast_2d(a.value).T)

    def children(self):
        return (self.a,)


class MatVec(Expr):
    """M v: a matrix (outputs × inputs) times a vector; printed as juxtaposition."""
    prec = P_MUL

    def __init__(self, m: Expr, v: Expr):
        self.m, self.v = m, v
        mv = np.atleast_2d(m.value)
        self.value = _arr(mv @ np.atleast_1d(v.value))

    def children(self):
        return (self.m, self.v)


class Outer(Expr):
    """a bᵀ: the outer product (δ yᵀ). In symbols it binds like a single factor
    (η δ yᵀ, −δ yᵀ); with numbers put in, it keeps its parentheses."""
    prec = P_POW

    def __init__(self, a: Expr, b: Expr):
        self.a, self.b = a, b
        self.value = _arr(np.outer(a.value, b.value))

    def children(self):
        return (self.a, self.b)


class Func(Expr):
    """A named function applied element-wise (σ, tanh, ReLU, …) or to a whole vector
    (softmax, Σ)."""

    def __init__(self, tex: str, fn, arg: Expr, *, elementwise: bool = True, value=None):
        self.tex = tex
        self.fn = fn
        self.arg = arg
        self.elementwise = elementwise
        self.value = _arr(fn(arg.value) if value is None else value)

    def children(self):
        return (self.arg,)


class Group(Func):
    """(x): a bracket the working evaluates on its own, so a step reads as a chain
    a · (b + c) = a · (−0.0364) = …: with the numbers put in, the bracket shows its terms;
    evaluated one stage further, its value. Its value is x's (nothing is computed)."""

    def __init__(self, arg: Expr):
        super().__init__("", _same, arg, elementwise=True, value=arg.value)


def _same(v):
    return v


class Sum(Expr):
    """Σ_j of a vector expression; printed expanded over the components."""

    def __init__(self, arg: Expr, index: str = "j"):
        self.arg = arg
        self.index = index
        self.value = _arr(np.sum(arg.value))

    def children(self):
        return (self.arg,)


class Mean(Sum):
    """1/n Σ_j of a vector expression."""

    def __init__(self, arg: Expr, index: str = "j"):
        super().__init__(arg, index)
        self.value = _arr(np.mean(arg.value))


# -- common functions -----------------------------------------------------------------

def sigmoid_np(v):
    """1 / (1 + e^(−v)), as torch.sigmoid computes it; for v < −709 e^(−v) overflows to inf
    and the value is the correct limit 0."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-np.asarray(v, dtype=float)))


def softmax_np(v):
    v = np.asarray(v, dtype=float)
    e = np.exp(v - np.max(v))
    return e / np.sum(e)


def odot(a, b) -> Mul:
    """a ⊙ b, the element-wise product."""
    return Mul(lift(a), lift(b), elementwise=True)


# The named functions (σ, tanh, …) are the records of nnsolve.nn applied through nnsolve.ops;
# these names stay for formulas written directly with expr (derive, the tests).

def sigma(x: Expr) -> Func:
    from .ops import sigma as f
    return f(x)


def tanh(x: Expr) -> Func:
    from .ops import tanh as f
    return f(x)


def relu(x: Expr) -> Func:
    from .ops import relu as f
    return f(x)


def exp(x: Expr) -> Func:
    from .ops import exp as f
    return f(x)


def log(x: Expr) -> Func:
    from .ops import log as f
    return f(x)


def softmax(x: Expr) -> Func:
    from .ops import softmax as f
    return f(x)


def written(formal: Expr, shown: Expr) -> Expr:
    """``shown`` (a definition written out: σ(v) as 1/(1 + e^{−v})) printed as itself, but
    valued as ``formal`` (its value, bit for bit) and walked into ``formal`` too (so a σ
    written out is still found as a σ by :func:`walk`)."""
    import copy
    node = copy.copy(shown)
    node.value = formal.value
    node.formal = formal
    return node


def walk(e: Expr):
    yield e
    for c in e.children():
        yield from walk(c)
    formal = getattr(e, "formal", None)  # a definition written out (see written)
    if formal is not None:
        yield from walk(formal)
