"""kind: activation — a table of activation functions and their derivatives at given points.

Every function is a record: the library's (nnsolve.nn: sigmoid, tanh, relu, …) or the
neuron's threshold units (nnsolve.kinds._units: step, sign, piecewise_linear, stochastic).
The value, the derivative (in terms of the output where the classic identity exists:
σ(1 − σ), 1 − tanh²), the notation and the facts (range, largest slope) all come from the
record. Derivatives at a kink are PyTorch's where PyTorch defines one (ReLU′(0) = 0); the
threshold units' derivative is undefined (null) at their kinks.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import ops
from ..given import Field, title
from . import _units

SUMMARY = "activation functions and their derivatives at given points (sigmoid, tanh, ReLU, step, stochastic, …)"
HEADLINE = "activation functions and their derivatives"

NAMES = _units.names(exclude=("softmax",))
MAX_POINTS = 1000
KINKS = {"relu": (0.0,), "leaky_relu": (0.0,), "elu": (0.0,)}  # where the library takes PyTorch's value

GIVEN = (
    title("Activation functions"),
    Field("functions", "list", "the functions, by name: " + ", ".join(NAMES), of="string",
          example=["sigmoid", "tanh", "relu"], flow=True,
          schema={"type": "array", "minItems": 1, "items": {"type": "string", "enum": _units.all_spellings(("softmax",))}},
          what="a list of activation names"),
    Field("at", "vector", "the points v at which each function and its derivative are evaluated", shape=("m",),
          notation="v", example=[-2, 0, 0.5], what="the points v, a list of numbers"),
    Field("slope", "number", "a in the sigmoid 1/(1 + exp(−a v))", notation="a", default=1.0, positive=True,
          example=1, what="the sigmoid's slope a, a positive number"),
    Field("temperature", "number", "T in the stochastic unit's P(v) = 1/(1 + exp(−v/T))", notation="T",
          default=1.0, positive=True, example=0.5, template="comment",
          what="the pseudo-temperature T, a positive number"),
    Field("negative_slope", "number", "leaky_relu's slope for v < 0", default=0.01, minimum=0, example=0.1,
          template="comment", what="the negative slope of leaky_relu, a number ≥ 0"),
    Field("strict", "boolean", "step and sign fire only for v > 0 (step gives 0 and sign −1 at v = 0)",
          default=False, example=True, template="comment"),
)

PARAMS = {"slope": ("sigmoid",), "temperature": ("stochastic",), "negative_slope": ("leaky_relu",),
          "strict": ("step", "sign")}


@dataclass
class Problem:
    names: list      # canonical names, in the file's order
    acts: list       # their records, with parameters
    at: np.ndarray


def read(r, kind):
    items = r.items("functions", what="a list of activation names, e.g. [sigmoid, tanh, relu]")
    names = []
    for path, value in items:
        if not isinstance(value, str):
            raise r.error(path, f"expected an activation name ({', '.join(NAMES)}), got {value!r}")
        name = _units.canonical(value)
        if name == "softmax":
            raise r.error(path, "softmax is not a function of one number (it normalises a whole vector): "
                                "use kind: softmax")
        if name is None:
            raise r.error(path, _units.unknown_message(value, NAMES))
        if name in names:
            raise r.error(path, f"'{value}' is listed twice (as {name})")
        names.append(name)
    at = r.vector("at", what="the points v, a list of numbers")
    if len(at) > MAX_POINTS:
        raise r.error(("at",), f"expected at most {MAX_POINTS} points, got {len(at)}")
    a, T, neg, strict = r.values("slope", "temperature", "negative_slope", "strict")
    for key, users in PARAMS.items():
        if r.has(key) and not any(n in users for n in names):
            raise r.error((key,), f"{key} is for {' and '.join(users)}, which {'is' if len(users) == 1 else 'are'} "
                                  f"not among the functions")
    acts = [_units.lookup(n, strict=strict, T=T, a=a, negative_slope=neg) for n in names]
    return Problem(names, acts, at)


def _num(x: float) -> str:
    return f"{x:g}".replace("-", "−") if not float(x).is_integer() else str(int(x)).replace("-", "−")


def point(page, name, act, k, v, *, exact_kink: bool):
    """f(v_k) and f′(v_k) on a page: the value, then the derivative (written as the record
    states it, in terms of the output where the classic identity exists). At a kink of a
    threshold unit the derivative is undefined: recorded as null (None)."""
    vs = page.sym(f"v_{{{k}}}", v)
    tex = act.tex
    out = "p" if act.name == "stochastic" else "y"
    y = page.step(("values", name, k), f"{out}_{{{k}}}", _apply(act, vs), scalar=True)
    if exact_kink:
        page.text(f"${tex}'(v_{{{k}}})$ is undefined: $v_{{{k}}} = {_num(v)}$ is where the function jumps or "
                  f"bends (recorded as null).", "note")
        page.sheet.result(("derivatives", name, k), None, exact=True)
        return y, None
    d = page.step(("derivatives", name, k), f"{out}'_{{{k}}}", _prime(act, vs, y), scalar=True)
    return y, d


def _apply(act, v):
    return ops.apply(act, v)


def _prime(act, v, y):
    return ops.prime(act, v, y)


def solve(p: Problem, sheet) -> None:
    m = len(p.at)
    intro = sheet.section("Problem")
    intro.text(f"The value $f(v)$ and the derivative $f'(v)$ of {len(p.names)} function"
               f"{'s' if len(p.names) > 1 else ''} at {m} point{'s' if m > 1 else ''}.")
    if m <= 8:
        intro.table([f"v_{{{k}}}" for k in range(1, m + 1)], [list(p.at)], title="Points")
    else:
        intro.table(["k", "v_{k}"], [[k, v] for k, v in enumerate(p.at, start=1)], title="Points")

    defs = sheet.section("Definitions")
    defs.text("For each point $v_k$: $y_k = f(v_k)$ and $y'_k = f'(v_k)$, the derivative written, where the classic "
              "identity exists, in terms of the output $y$ (as backpropagation uses it).", "text")
    for name, act in zip(p.names, p.acts):
        defs.math(rf"{act.tex}(v) = {act.definition}, \quad {act.tex}'(v) = {act.prime_tex}", name)
    facts = [[name.replace("_", " "), f"${_units.range_text(act)}$", "" if act.max_slope is None else act.max_slope]
             for name, act in zip(p.names, p.acts)]
    defs.table(["function", "range", r"\max |f'|"], facts, title="Facts")
    notes = []
    if "sigmoid" in p.names:
        a = p.acts[p.names.index("sigmoid")].params.get("a", 1.0)
        if a == 1:
            notes.append("$\\sigma'(v) \\leq \\frac{1}{4}$ (at $v = 0$): each sigmoid layer a gradient passes back "
                         "through shrinks it at least 4-fold, the vanishing gradient.")
        else:
            notes.append(f"With slope $a = {a:g}$: $\\sigma_{{a}}'(v) = a y (1 - y) \\leq \\frac{{a}}{{4}} = {a / 4:g}$ "
                         "(at $v = 0$).")
    if any(n in p.names for n in ("step", "sign")):
        notes.append("The threshold units' derivative is 0 wherever it exists, so gradient descent cannot "
                     "train them: the perceptron rule and the delta rule (on v) are used instead.")
    if "stochastic" in p.names:
        notes.append("The stochastic unit fires (+1) with probability $P(v)$ and gives −1 otherwise; its value "
                     "here is $P(v)$, with $T$ the pseudo-temperature: a larger $T$ flattens $P$ towards ½ "
                     "(more noise), and as $T \\to 0$ it becomes the step from 0 to 1 at $v = 0$.")
    for text in notes:
        defs.text(text, "note")

    values = {n: [] for n in p.names}
    derivs = {n: [] for n in p.names}
    for name, act in zip(p.names, p.acts):
        kinks = [np.isnan(act.derivative(np.asarray(v))).item() for v in p.at]

        def build(page, name=name, act=act, kinks=kinks):
            for k, v in enumerate(p.at, start=1):
                point(page, name, act, k, v, exact_kink=kinks[k - 1])
                if name in KINKS and v in KINKS[name]:
                    page.text(f"$v = {_num(v)}$ is the kink: PyTorch's derivative there is used.", "note")
        sheet.section(f"{name}: ${act.tex}$", level=3, detail=True, builder=build)
        for k, v in enumerate(p.at, start=1):
            y, d = point(sheet.silent, name, act, k, v, exact_kink=kinks[k - 1])
            values[name].append(float(y))
            derivs[name].append(None if d is None else float(d))

    table = sheet.section("Summary")
    table.table(["v"] + [f"{a.tex}(v)" for a in p.acts],
                [[v] + [values[n][k] for n in p.names] for k, v in enumerate(p.at)], title="Values")
    table.table(["v"] + [f"{a.tex}'(v)" for a in p.acts],
                [[v] + ["undefined" if derivs[n][k] is None else derivs[n][k] for n in p.names]
                 for k, v in enumerate(p.at)], title="Derivatives")
