"""Loss functions, one record each.

A loss is written for a target ``d`` and an output ``y`` (the kinds pass their own named
quantities: d and y in mlp, y_t and ŷ_t in rnn), with :mod:`nnsolve.ops`, so the same record
builds the working's formula or computes on arrays. Each record has the loss ``formula``,
its gradient ``grad`` = ∂L/∂y, the negative gradient ``neg_grad`` = −∂E/∂y in the form
Haykin's δ uses, the rule in LaTeX for any symbols, and the output activation with which
the output error simplifies to ŷ − y (the canonical pairing).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .. import ops


def _k(y) -> int:
    return int(np.size(ops.value(y)))


def _sum(x, y):
    """Σ_j over the outputs; a single output needs no Σ."""
    return x if _k(y) == 1 else ops.total(x)


@dataclass(frozen=True)
class Loss:
    name: str
    title: str                # in words: "half the sum of squared errors"
    summary: str
    rule: Callable            # (d, y, j) -> LaTeX of the loss, d and y the component symbols
    formula: Callable         # (d, y) -> L, with ops
    grad: Callable            # (d, y) -> ∂L/∂y
    neg_grad: Callable        # (d, y) -> −∂L/∂y, as the notes write it
    neg_grad_tex: str         # LaTeX of −∂E/∂y_j in d_j, y_j
    canonical: str | None     # output activation with which ∂L/∂v = y − d
    probabilities: bool = False  # outputs must lie in (0, 1)
    sympy: str = ""           # for derive: L in y (output) and d (target)
    aliases: tuple = ()


LOSSES: dict[str, Loss] = {}


def _add(l: Loss) -> None:
    LOSSES[l.name] = l


_add(Loss(
    "half_sse", "half the sum of squared errors", "½ Σ_j (d_j − y_j)²",
    rule=lambda d, y, j="j": rf"\frac{{1}}{{2}} \sum_{{{j}}} ({d} - {y})^{{2}}",
    formula=lambda d, y: ops.const(0.5, r"\frac{1}{2}", like=y) * _sum((d - y) ** 2, y),
    grad=lambda d, y: y - d, neg_grad=lambda d, y: d - y, neg_grad_tex=r"d_{j} - y_{j} = e_{j}",
    canonical="linear", sympy="(d - y)**2/2"))
_add(Loss(
    "mse", "mean squared error", "(1/k) Σ_j (d_j − y_j)²",
    rule=lambda d, y, j="j": rf"\frac{{1}}{{k}} \sum_{{{j}}} ({d} - {y})^{{2}}",
    formula=lambda d, y: (d - y) ** 2 if _k(y) == 1 else ops.mean((d - y) ** 2),
    grad=lambda d, y: ops.const(2.0 / _k(y), rf"\frac{{2}}{{{_k(y)}}}", like=y) * (y - d),
    neg_grad=lambda d, y: ops.const(2.0 / _k(y), rf"\frac{{2}}{{{_k(y)}}}", like=y) * (d - y),
    neg_grad_tex=r"\frac{2}{k} (d_{j} - y_{j})", canonical=None, sympy="(d - y)**2"))
_add(Loss(
    "bce", "binary cross-entropy", "−Σ_j [d_j ln y_j + (1 − d_j) ln(1 − y_j)]",
    rule=lambda d, y, j="j": rf"-\sum_{{{j}}} \left[ {d} \ln {y} + (1 - {d}) \ln (1 - {y}) \right]",
    formula=lambda d, y: -_sum(d * ops.log(y) + (1 - d) * ops.log(1 - y), y),
    grad=lambda d, y: (y - d) / ops.times(y, 1 - y, _k(y)),
    neg_grad=lambda d, y: d / y - (1 - d) / (1 - y),
    neg_grad_tex=r"\frac{d_{j}}{y_{j}} - \frac{1 - d_{j}}{1 - y_{j}}", canonical="sigmoid", probabilities=True,
    sympy="-(d*log(y) + (1 - d)*log(1 - y))", aliases=("binary_cross_entropy",)))
_add(Loss(
    "cross_entropy", "cross-entropy", "−Σ_j d_j ln y_j",
    rule=lambda d, y, j="j": rf"-\sum_{{{j}}} {d} \ln {y}",
    formula=lambda d, y: -_sum(d * ops.log(y), y),
    grad=lambda d, y: -(d / y), neg_grad=lambda d, y: d / y, neg_grad_tex=r"\frac{d_{j}}{y_{j}}",
    canonical="softmax", probabilities=True, sympy="-d*log(y)", aliases=("ce",)))


def loss(name: str) -> Loss:
    key = name.strip().lower()
    l = LOSSES.get(key) or next((v for v in LOSSES.values() if key in v.aliases), None)
    if l is None:
        raise KeyError(name)
    return l


def loss_names() -> list[str]:
    return list(LOSSES)
