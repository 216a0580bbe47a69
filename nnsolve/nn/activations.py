"""Activation functions, one record each.

Each record says, once: the name (and aliases), the symbol and definition in LaTeX, the
value (numpy, as PyTorch defines it), the derivative as a formula built with
:mod:`nnsolve.ops` (in terms of the output y where the classic identity exists: σ(1 − σ),
1 − tanh²), the same derivative as plain numpy, the expression ``nnsolve derive`` parses,
and the facts (range, largest slope). Adding an activation is adding one record to
``ACTIVATIONS`` below; mlp layers, rnn/bptt ``hidden_activation`` and ``nnsolve derive``
take it at once.

Derivatives at a kink (v = 0) are PyTorch's: 0 for relu, the negative slope for leaky_relu,
1 for elu.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .. import ops
from ..expr import sigmoid_np, softmax_np


@dataclass(frozen=True)
class Activation:
    name: str
    summary: str                 # one line, for `nnsolve derive --list` and the README
    tex: str                     # the function's symbol: \sigma, \tanh, \mathrm{ReLU}
    definition: str              # LaTeX of f(v)
    prime_tex: str               # LaTeX of f'(v) as `prime` writes it (y = f(v))
    value: Callable              # numpy: f(v)
    derivative: Callable         # numpy: f'(v)
    prime: Callable              # (v, y) -> f'(v) written with nnsolve.ops (Expr or array)
    sympy: str                   # f(x) as text SymPy's parse_expr reads (for derive)
    identity: str | None = None  # f'(x) in terms of f itself, as text, where one is classic
    range: tuple = (-math.inf, math.inf)
    max_slope: float | None = None  # sup |f'|
    aliases: tuple = ()
    elementwise: bool = True
    identity_map: bool = False   # f(v) = v: applied as no function at all
    params: dict = field(default_factory=dict)  # parameter name -> default
    bind: Callable | None = None  # (**params) -> Activation with those parameters

    def with_params(self, **params) -> "Activation":
        """The record with its parameters set (σ with slope a, leaky_relu's negative slope)."""
        given = {k: v for k, v in params.items() if k in self.params and v is not None}
        if not given or all(given[k] == self.params[k] for k in given) or self.bind is None:
            return self
        return self.bind(**{**self.params, **given})


def _times(a, b):
    """a ⊙ b, written as a plain product when the operands are numbers."""
    if not (ops.is_expr(a) or ops.is_expr(b)):  # numbers: the product (what ops.times computes)
        return np.multiply(a, b)
    return ops.times(a, b, int(np.size(ops.value(b))))


def _erf(v):
    return np.vectorize(math.erf, otypes=[float])(np.asarray(v, dtype=float))


def _std_normal_cdf(v):
    return 0.5 * (1.0 + _erf(np.asarray(v, dtype=float) * math.sqrt(0.5)))


def _std_normal_pdf(v):
    v = np.asarray(v, dtype=float)
    return np.exp(-0.5 * v * v) / math.sqrt(2.0 * math.pi)


# -- sigmoid (with an optional slope a) ---------------------------------------------------

def _sigmoid(a: float = 1.0) -> Activation:
    if a == 1:
        value, tex, definition = sigmoid_np, r"\sigma", r"\frac{1}{1 + e^{-v}}"
        prime = lambda v, y: _times(y, 1 - y)
        prime_tex = r"y (1 - y)"
    else:
        value = lambda v: sigmoid_np(a * np.asarray(v, dtype=float))
        tex, definition = r"\sigma_{a}", r"\frac{1}{1 + e^{-a v}}"
        prime = lambda v, y: ops.const(a, "a", like=y) * _times(y, 1 - y)
        prime_tex = r"a y (1 - y)"
    return Activation(
        "sigmoid", "σ(x) = 1/(1 + e^−x); σ′(x) = σ(x)(1 − σ(x))", tex, definition, prime_tex,
        value=value, derivative=lambda v: a * value(v) * (1 - value(v)), prime=prime,
        sympy="1/(1 + exp(-x))", identity="sigma(x)*(1 - sigma(x))", range=(0.0, 1.0),
        max_slope=a / 4, aliases=("logistic", "sigma"), params={"a": a}, bind=lambda a=1.0: _sigmoid(a))


def _leaky_relu(negative_slope: float = 0.01) -> Activation:
    s = negative_slope
    value = lambda v: np.where(np.asarray(v) > 0, v, s * np.asarray(v, dtype=float)).astype(float)
    derivative = lambda v: np.where(np.asarray(v) > 0, 1.0, s)
    return Activation(
        "leaky_relu", f"x for x > 0, else {s:g} x (negative_slope); derivative 1 or {s:g}",
        r"\mathrm{LeakyReLU}", rf"\begin{{cases}} v & v > 0 \\ {s:g} v & v \leq 0 \end{{cases}}",
        rf"\begin{{cases}} 1 & v > 0 \\ {s:g} & v \leq 0 \end{{cases}}",
        value=value, derivative=derivative,
        prime=lambda v, y: ops.func(r"\mathrm{LeakyReLU}'", derivative, v),
        sympy=f"Piecewise((x, x > 0), ({s!r}*x, True))", range=(-math.inf, math.inf),
        max_slope=max(1.0, abs(s)), aliases=("leakyrelu", "lrelu"),
        params={"negative_slope": s}, bind=lambda negative_slope=0.01: _leaky_relu(negative_slope))


def _softplus_value(v):
    v = np.asarray(v, dtype=float)
    with np.errstate(over="ignore"):
        return np.where(v > 20, v, np.log1p(np.exp(np.minimum(v, 20))))  # torch: threshold 20


def _softplus_prime(v):
    v = np.asarray(v, dtype=float)
    return np.where(v > 20, 1.0, sigmoid_np(v))


ACTIVATIONS: dict[str, Activation] = {}


def _add(a: Activation) -> None:
    ACTIVATIONS[a.name] = a


_add(_sigmoid())
_add(Activation(
    "tanh", "tanh x = (eˣ − e^−x)/(eˣ + e^−x); tanh′(x) = 1 − tanh²(x)", r"\tanh",
    r"\frac{e^{v} - e^{-v}}{e^{v} + e^{-v}}", r"1 - y^{2}",
    value=lambda v: np.tanh(v), derivative=lambda v: 1 - np.tanh(v) ** 2, prime=lambda v, y: 1 - y ** 2,
    sympy="tanh(x)", identity="1 - tanh(x)**2", range=(-1.0, 1.0), max_slope=1.0))
_add(Activation(
    "relu", "max(0, x); derivative 1 for x > 0, 0 for x < 0 (0 at 0, as PyTorch)", r"\mathrm{ReLU}",
    r"\max(0, v)", r"\begin{cases} 1 & v > 0 \\ 0 & v \leq 0 \end{cases}",
    value=lambda v: np.maximum(v, 0.0), derivative=lambda v: (np.asarray(v) > 0).astype(float),
    prime=lambda v, y: ops.func(r"\mathrm{ReLU}'", lambda a: (np.asarray(a) > 0).astype(float), v),
    sympy="Max(0, x)", range=(0.0, math.inf), max_slope=1.0))
_add(Activation(
    "linear", "the identity f(x) = x; derivative 1", r"\mathrm{id}", "v", "1",
    value=lambda v: np.asarray(v, dtype=float), derivative=lambda v: np.ones_like(np.asarray(v, dtype=float)),
    prime=lambda v, y: ops.const(np.ones(np.shape(ops.value(v))), "1", like=v),
    sympy="x", range=(-math.inf, math.inf), max_slope=1.0, aliases=("identity", "none"), identity_map=True))
_add(Activation(
    "softmax", "s_i = e^z_i / Σ_k e^z_k; Jacobian ∂s_i/∂z_j = s_i(δ_ij − s_j)", r"\mathrm{softmax}",
    r"\frac{e^{v_{j}}}{\sum_{k} e^{v_{k}}}", r"y_{k} (\delta_{kj} - y_{j})",
    value=softmax_np, derivative=lambda v: np.diag(softmax_np(v)) - np.outer(softmax_np(v), softmax_np(v)),
    prime=lambda v, y: ops.const(np.diag(ops.value(y)) - np.outer(ops.value(y), ops.value(y)), "J", like=y),
    sympy="exp(x)/Sum(exp(x_k), (k, 1, n))", range=(0.0, 1.0), max_slope=0.25, elementwise=False))
_add(_leaky_relu())
_add(Activation(
    "elu", "x for x > 0, else eˣ − 1; derivative 1 or eˣ = ELU(x) + 1", r"\mathrm{ELU}",
    r"\begin{cases} v & v > 0 \\ e^{v} - 1 & v \leq 0 \end{cases}",
    r"\begin{cases} 1 & v > 0 \\ e^{v} = y + 1 & v \leq 0 \end{cases}",
    value=lambda v: np.where(np.asarray(v) > 0, v, np.expm1(np.minimum(v, 0.0))).astype(float),
    derivative=lambda v: np.where(np.asarray(v) > 0, 1.0, np.exp(np.minimum(v, 0.0))),
    prime=lambda v, y: ops.func(r"\mathrm{ELU}'",
                                lambda a: np.where(np.asarray(a) > 0, 1.0, np.exp(np.minimum(a, 0.0))), v),
    sympy="Piecewise((x, x > 0), (exp(x) - 1, True))", range=(-1.0, math.inf), max_slope=1.0))
_add(Activation(
    "softplus", "ln(1 + eˣ); derivative σ(x)", r"\mathrm{softplus}", r"\ln(1 + e^{v})", r"\sigma(v)",
    value=_softplus_value, derivative=_softplus_prime,
    prime=lambda v, y: ops.func(r"\sigma", _softplus_prime, v),
    sympy="log(1 + exp(x))", identity="sigma(x)", range=(0.0, math.inf), max_slope=1.0))
_add(Activation(
    "silu", "x σ(x) (swish); derivative σ(x)(1 + x(1 − σ(x)))", r"\mathrm{SiLU}", r"v \, \sigma(v)",
    r"\sigma(v) (1 + v (1 - \sigma(v)))",
    value=lambda v: np.asarray(v, dtype=float) * sigmoid_np(v),
    derivative=lambda v: sigmoid_np(v) * (1 + np.asarray(v, dtype=float) * (1 - sigmoid_np(v))),
    prime=lambda v, y: _times(ops.sigma(v), 1 + _times(v, 1 - ops.sigma(v))),
    sympy="x/(1 + exp(-x))", range=(-0.2784645427610738, math.inf), max_slope=1.0998393194,
    aliases=("swish",)))
_add(Activation(
    "gelu", "x Φ(x), Φ the standard normal CDF (erf form); derivative Φ(x) + x φ(x)", r"\mathrm{GELU}",
    r"v \, \Phi(v) = \frac{v}{2} \left(1 + \mathrm{erf}\left(\frac{v}{\sqrt{2}}\right)\right)",
    r"\Phi(v) + v \, \Phi'(v), \quad \Phi'(v) = \frac{e^{-v^{2}/2}}{\sqrt{2 \pi}}",
    value=lambda v: np.asarray(v, dtype=float) * 0.5 * (1.0 + _erf(np.asarray(v, dtype=float) * math.sqrt(0.5))),
    derivative=lambda v: _std_normal_cdf(v) + np.asarray(v, dtype=float) * _std_normal_pdf(v),
    prime=lambda v, y: ops.func(r"\Phi", _std_normal_cdf, v) + _times(v, ops.func(r"\Phi'", _std_normal_pdf, v)),
    sympy="x*(1 + erf(x/sqrt(2)))/2", range=(-0.16997120747990683, math.inf), max_slope=1.1289,
    aliases=()))


def activation(name: str, **params) -> Activation:
    """The record of NAME (or an alias), with its parameters set."""
    key = name.strip().lower().replace("-", "_")
    act = ACTIVATIONS.get(key)
    if act is None:
        act = next((a for a in ACTIVATIONS.values() if key in a.aliases), None)
    if act is None:
        raise KeyError(name)
    return act.with_params(**params)


def activation_names(*, elementwise_only: bool = False, exclude=()) -> list[str]:
    return [n for n, a in ACTIVATIONS.items() if (a.elementwise or not elementwise_only) and n not in exclude]
