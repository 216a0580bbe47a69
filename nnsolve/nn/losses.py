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
    formula: Callable         # (d, y, logs=None) -> L, with ops; logs: (ln y, ln(1 − y)) from the logits
    grad: Callable            # (d, y) -> ∂L/∂y
    neg_grad: Callable        # (d, y) -> −∂L/∂y, as the notes write it
    neg_grad_tex: str         # LaTeX of −∂E/∂y_j in d_j, y_j
    canonical: str | None     # output activation with which ∂L/∂v = y − d
    probabilities: bool = False  # outputs must lie in (0, 1)
    sympy: str = ""           # for derive: L in y (output) and d (target)
    aliases: tuple = ()


LOSSES: dict[str, Loss] = {}


def _ln(x, logs, i):
    """ln x: from the logits when the kind gives them (``logs``: (ln y, ln(1 − y)), see
    :func:`log_terms`), else of x itself."""
    return logs[i] if logs is not None else ops.log(x)


def _lse(z, axis=None):
    """ln Σ e^z without overflow."""
    top = np.max(z, axis=axis, keepdims=True)
    out = top + np.log(np.sum(np.exp(z - top), axis=axis, keepdims=True))
    return out.reshape(()) if axis is None else np.squeeze(out, axis=axis)


def log_terms(act, v, y):
    """(ln y, ln(1 − y)) of an output y = f(v), as formula nodes ln(y), ln(1 − y) (arrays
    on a silent page) valued from the logits v in the log domain, as PyTorch's
    cross_entropy and binary_cross_entropy_with_logits do: for the sigmoid
    ln σ(a v) = −softplus(−a v), ln(1 − σ(a v)) = −softplus(a v); for the softmax
    ln y_j = v_j − ln Σ_k e^{v_k}. Exact where y rounds to 0 or 1 in float64 (a loss of
    2000 from the logits [1000, −1000] with target [0, 1], not ∞). None for another f."""
    if act is None or act.name not in ("sigmoid", "softmax"):
        return None
    z = np.asarray(ops.value(v), dtype=float)
    if act.name == "sigmoid":
        z = act.params.get("a", 1.0) * z
        ln_y, ln_1my = -np.logaddexp(0.0, -z), -np.logaddexp(0.0, z)
    else:
        total = _lse(z)
        ln_y = z - total
        with np.errstate(divide="ignore"):
            ln_1my = np.log1p(-np.exp(ln_y))
        j = int(np.argmax(z))
        if z.size > 1 and ln_y[j] > -0.7:  # y_j above ½: 1 − y_j is the sum of the others
            ln_1my[j] = _lse(np.delete(z, j)) - total
    return ops.log_exact(y, ln_y), ops.log_exact(1 - y, ln_1my)


def _add(l: Loss) -> None:
    LOSSES[l.name] = l


_add(Loss(
    "half_sse", "half the sum of squared errors", "½ Σ_j (d_j − y_j)²",
    rule=lambda d, y, j="j": rf"\frac{{1}}{{2}} \sum_{{{j}}} ({d} - {y})^{{2}}",
    formula=lambda d, y, logs=None: ops.const(0.5, r"\frac{1}{2}", like=y) * _sum((d - y) ** 2, y),
    grad=lambda d, y: y - d, neg_grad=lambda d, y: d - y, neg_grad_tex=r"d_{j} - y_{j} = e_{j}",
    canonical="linear", sympy="(d - y)**2/2"))
_add(Loss(
    "mse", "mean squared error", "(1/k) Σ_j (d_j − y_j)²",
    rule=lambda d, y, j="j": rf"\frac{{1}}{{k}} \sum_{{{j}}} ({d} - {y})^{{2}}",
    formula=lambda d, y, logs=None: (d - y) ** 2 if _k(y) == 1 else ops.mean((d - y) ** 2),
    grad=lambda d, y: ops.const(2.0 / _k(y), rf"\frac{{2}}{{{_k(y)}}}", like=y) * (y - d),
    neg_grad=lambda d, y: ops.const(2.0 / _k(y), rf"\frac{{2}}{{{_k(y)}}}", like=y) * (d - y),
    neg_grad_tex=r"\frac{2}{k} (d_{j} - y_{j})", canonical=None, sympy="(d - y)**2"))
_add(Loss(
    "bce", "binary cross-entropy", "−Σ_j [d_j ln y_j + (1 − d_j) ln(1 − y_j)]",
    rule=lambda d, y, j="j": rf"-\sum_{{{j}}} \left[ {d} \ln {y} + (1 - {d}) \ln (1 - {y}) \right]",
    formula=lambda d, y, logs=None: -_sum(d * _ln(y, logs, 0) + (1 - d) * _ln(1 - y, logs, 1), y),
    grad=lambda d, y: (y - d) / ops.times(y, 1 - y, _k(y)),
    neg_grad=lambda d, y: d / y - (1 - d) / (1 - y),
    neg_grad_tex=r"\frac{d_{j}}{y_{j}} - \frac{1 - d_{j}}{1 - y_{j}}", canonical="sigmoid", probabilities=True,
    sympy="-(d*log(y) + (1 - d)*log(1 - y))", aliases=("binary_cross_entropy",)))
_add(Loss(
    "cross_entropy", "cross-entropy", "−Σ_j d_j ln y_j",
    rule=lambda d, y, j="j": rf"-\sum_{{{j}}} {d} \ln {y}",
    formula=lambda d, y, logs=None: -_sum(d * _ln(y, logs, 0), y),
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
