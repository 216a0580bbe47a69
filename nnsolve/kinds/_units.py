"""The threshold units of the classical neuron (McCulloch–Pitts step, sign, Haykin's
piecewise-linear unit, the stochastic unit with its pseudo-temperature T), as records of the
same type as the library's activations (:class:`nnsolve.nn.activations.Activation`).

They are kept here, beside the kinds that use them (neuron, activation, hebbian), and not in
:mod:`nnsolve.nn`: the library's list is what mlp layers and rnn/bptt offer, and a step or
sign unit there would be wrong (its derivative is 0 or undefined, so backpropagation would
learn nothing). :func:`lookup` finds a name among both.

Derivatives: 0 away from a kink; undefined (NaN from ``derivative``) at a kink, which the
kinds write as ``null``. The stochastic unit's record is its firing probability
P(v) = 1 / (1 + e^(−v/T)): y itself is random (+1 with probability P(v), else −1).
"""
from __future__ import annotations

import difflib
import math

import numpy as np

from .. import nn, ops
from ..expr import sigmoid_np
from ..nn.activations import Activation

UNITS = ("step", "sign", "piecewise_linear", "stochastic")


def _arr(v):
    return np.asarray(v, dtype=float)


def _kink_derivative(v, kinks, inside=None):
    """0 away from the kinks (``inside``: where the slope is 1), NaN at a kink."""
    v = _arr(v)
    out = np.zeros_like(v) if inside is None else np.where(inside(v), 1.0, 0.0)
    for k in kinks:
        out = np.where(v == k, np.nan, out)
    return out


def _threshold(name: str, low: float, strict: bool, summary: str, tex: str, sympy: tuple, aliases: tuple,
               make) -> Activation:
    """A threshold unit: y = 1 if v ≥ 0 (``strict``: v > 0) else ``low``; derivative 0,
    undefined at the jump."""
    fires = (lambda v: _arr(v) > 0) if strict else (lambda v: _arr(v) >= 0)
    lo = f"{low:g}"
    definition = (rf"\begin{{cases}} 1 & v > 0 \\ {lo} & v \leq 0 \end{{cases}}" if strict else
                  rf"\begin{{cases}} 1 & v \geq 0 \\ {lo} & v < 0 \end{{cases}}")
    derivative = lambda v: _kink_derivative(v, (0.0,))
    return Activation(
        name, summary, tex, definition,
        r"\begin{cases} 0 & v \neq 0 \\ \text{undefined} & v = 0 \end{cases}",
        value=lambda v: np.where(fires(v), 1.0, low), derivative=derivative,
        prime=lambda v, y: ops.func(tex + "'", derivative, v),
        sympy=sympy[1] if strict else sympy[0], range=(low, 1.0), max_slope=None,
        aliases=aliases, params={"strict": strict}, bind=lambda strict=False: make(strict))


def step(strict: bool = False) -> Activation:
    """McCulloch–Pitts: y = 1 if v ≥ 0 else 0 (``strict``: only v > 0 fires)."""
    return _threshold("step", 0.0, strict, "threshold (Heaviside) unit: 1 if v ≥ 0 else 0; derivative 0, "
                      "undefined at 0", r"\operatorname{step}", ("Heaviside(x, 1)", "Heaviside(x, 0)"),
                      ("threshold", "heaviside", "hardlim"), step)


def sign(strict: bool = False) -> Activation:
    """y = 1 if v ≥ 0 else −1 (``strict``: only v > 0 gives 1)."""
    return _threshold("sign", -1.0, strict, "bipolar threshold unit: 1 if v ≥ 0 else −1; derivative 0, "
                      "undefined at 0", r"\operatorname{sgn}",
                      ("Piecewise((1, x >= 0), (-1, True))", "Piecewise((1, x > 0), (-1, True))"),
                      ("signum", "sgn", "bipolar", "hardlims"), sign)


def _pwl(v):
    v = _arr(v)
    return np.where(v >= 0.5, 1.0, np.where(v <= -0.5, 0.0, v + 0.5))


def _pwl_derivative(v):
    return _kink_derivative(v, (-0.5, 0.5), inside=lambda a: (a > -0.5) & (a < 0.5))


PIECEWISE_LINEAR = Activation(
    "piecewise_linear", "Haykin's piecewise-linear unit: 1 for v ≥ ½, v + ½ between, 0 for v ≤ −½",
    r"\operatorname{pwl}",
    r"\begin{cases} 1 & v \geq \frac{1}{2} \\ v + \frac{1}{2} & -\frac{1}{2} < v < \frac{1}{2} \\ "
    r"0 & v \leq -\frac{1}{2} \end{cases}",
    r"\begin{cases} 1 & |v| < \frac{1}{2} \\ 0 & |v| > \frac{1}{2} \\ \text{undefined} & v = \pm\frac{1}{2} "
    r"\end{cases}",
    value=_pwl, derivative=_pwl_derivative,
    prime=lambda v, y: ops.func(r"\operatorname{pwl}'", _pwl_derivative, v),
    sympy="Piecewise((1, x >= 1/2), (x + 1/2, x > -1/2), (0, True))", range=(0.0, 1.0), max_slope=1.0,
    aliases=("piecewise", "saturating_linear", "satlin"))


def stochastic(T: float = 1.0) -> Activation:
    """The firing probability of the stochastic unit, P(v) = 1 / (1 + e^(−v/T))."""
    if T == 1:
        value = sigmoid_np
        definition = r"\frac{1}{1 + e^{-v}}"
        prime = lambda v, y: ops.times(y, 1 - y, int(np.size(ops.value(y))))
        prime_tex = r"P (1 - P)"
    else:
        value = lambda v: sigmoid_np(_arr(v) / T)
        definition = r"\frac{1}{1 + e^{-v / T}}"
        prime = lambda v, y: ops.times(y, 1 - y, int(np.size(ops.value(y)))) / ops.const(T, "T", like=y)
        prime_tex = r"\frac{P (1 - P)}{T}"
    return Activation(
        "stochastic", "stochastic unit: y = +1 with probability P(v) = 1/(1 + e^(−v/T)), else −1; "
        "the record's value is P(v)", "P", definition, prime_tex,
        value=value, derivative=lambda v: value(v) * (1 - value(v)) / T, prime=prime,
        sympy="1/(1 + exp(-x/T))", range=(0.0, 1.0), max_slope=0.25 / T, aliases=("boltzmann",),
        params={"T": T}, bind=lambda T=1.0: stochastic(T))


_MAKE = {"step": step, "sign": sign, "piecewise_linear": lambda: PIECEWISE_LINEAR, "stochastic": stochastic}


def _key(name: str) -> str:
    return str(name).strip().lower().replace("-", "_").replace(" ", "_")


def canonical(name: str) -> str | None:
    """The record name of NAME (a unit or a library activation, or one of their aliases)."""
    key = _key(name)
    for unit in UNITS:
        if key == unit or key in _MAKE[unit]().aliases:
            return unit
    try:
        return nn.activation(key).name
    except KeyError:
        return None


def lookup(name: str, *, strict: bool = False, T: float = 1.0, a: float = 1.0,
           negative_slope: float = 0.01) -> Activation:
    """The record of NAME with its parameters: the units here, else the library's."""
    key = canonical(name)
    if key is None:
        raise KeyError(name)
    if key in ("step", "sign"):
        return _MAKE[key](strict)
    if key == "stochastic":
        return stochastic(T)
    if key == "piecewise_linear":
        return PIECEWISE_LINEAR
    return nn.activation(key, a=a, negative_slope=negative_slope)


def names(*, elementwise_only: bool = True, exclude=()) -> list[str]:
    """Every activation a neuron can have: the library's (element-wise) and the units."""
    return [n for n in nn.activation_names(elementwise_only=elementwise_only) if n not in exclude] + \
        [u for u in UNITS if u not in exclude]


def all_spellings(exclude=()) -> list[str]:
    """The names and aliases, for a JSON Schema enum."""
    out = []
    for n in names(exclude=exclude):
        rec = lookup(n)
        out += [n] + [a for a in rec.aliases if a not in out]
    return out


def unknown_message(name, known) -> str:
    close = difflib.get_close_matches(_key(name), list(known), n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"expected one of {', '.join(known)}, got '{name}'{hint}"


OPEN_BELOW = ("sigmoid", "tanh", "stochastic", "elu", "softplus")  # the bound is a limit, never reached
OPEN_ABOVE = ("sigmoid", "tanh", "stochastic")


def range_text(act: Activation) -> str:
    """The range of the unit in LaTeX: {0, 1} for step, (0, 1) for σ, [0, ∞) for ReLU."""
    lo, hi = act.range

    def f(x):
        return "-\\infty" if x == -math.inf else "\\infty" if x == math.inf else f"{x:g}"
    if act.name in ("step",):
        return r"\{0, 1\}"
    if act.name in ("sign",):
        return r"\{-1, 1\}"
    left = "(" if lo == -math.inf or act.name in OPEN_BELOW else "["
    right = ")" if hi == math.inf or act.name in OPEN_ABOVE else "]"
    return f"{left}{f(lo)}, {f(hi)}{right}"


_WORDS = {"step": "threshold (step)", "sign": "sign", "sigmoid": "logistic sigmoid", "tanh": "tanh",
          "piecewise_linear": "piecewise-linear", "stochastic": "stochastic", "relu": "ReLU",
          "leaky_relu": "leaky ReLU", "elu": "ELU", "softplus": "softplus", "silu": "SiLU", "gelu": "GELU"}


def words(act: Activation) -> str:
    """The activation in words and notation for the working's prose (never its YAML name):
    "logistic sigmoid activation $y = \\sigma(v)$", "linear activation ($y = v$)"."""
    if act.identity_map:
        return "linear activation ($y = v$)"
    if act.name == "stochastic":
        return "stochastic activation ($y = +1$ with probability $P(v)$, else $-1$)"
    return f"{_WORDS.get(act.name, act.name)} activation $y = {act.tex}(v)$"
