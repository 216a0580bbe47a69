"""What the classical single-neuron kinds share (neuron, delta_rule, hebbian): the list of
training samples {x, d}, the bounds on their size, and naming the logic function a unit
computes on a truth table."""
from __future__ import annotations

import itertools

import numpy as np

from ..given import Field

MAX_INPUTS = 1024          # n, the inputs of the unit
MAX_ROWS = 4096            # rows of a neuron's inputs (a truth table of 12 inputs)
MAX_EPOCHS = 10_000
MAX_PRESENTATIONS = 200_000  # epochs × samples
FULL_PRESENTATIONS = 8     # presentations of an epoch written out in full; the table has them all


def samples_field(example, d_meaning: str, *, d_required: bool = True, note: str = "") -> Field:
    """samples: a list of {x: [...], d: ...}, presented in order every epoch."""
    d = Field("d", "number", d_meaning, what="the desired output d, a number",
              **({} if d_required else {"default": None}))
    return Field("samples", "list", "presented in this order every epoch"
                 + ("; d is the desired output" if d_required else ""), flow=True, note=note,
                 what="a list of samples {x: [...], d: ...}", example=example,
                 fields=(Field("x", "vector", "the input, as long as the weights", shape=("n",), notation="x"), d))


def read_weights(r):
    w = r.vector("weights", what="the initial weights w, a list of numbers (one per input)")
    if len(w) > MAX_INPUTS:
        raise r.error(("weights",), f"expected at most {MAX_INPUTS} weights, got {len(w)}")
    return w


def read_samples(r, n: int, *, need_d: str | None = None):
    """(X: N × n, d: N numbers with NaN where a sample has no d). ``need_d``: why every
    sample must have d (None: d is optional)."""
    X, d = [], []
    for path, item in r.items("samples", what=r.fields["samples"].what):
        s = r.element(path, item)
        s.finish()  # an unknown key first: y or t written for d
        x = s.vector("x", length=n, what=f"an input vector of length {n} (as many as the weights)")
        if need_d is not None and not s.has("d"):
            raise r.error(path, f"missing key 'd': {need_d}")
        target = s.field("d")
        X.append(x)
        d.append(np.nan if target is None else target)
    return np.array(X, dtype=float), np.array(d, dtype=float)


def presentations_work(p, **sizes):
    """The work estimate (nnsolve.work.Work) of a training over samples × epochs: the
    description and how to shrink it are common; ``sizes`` are the kind's own counts."""
    from .. import work as W
    N, n = p.X.shape
    E, P = p.epochs, p.X.shape[0] * p.epochs
    return W.Work(what=f"{P:,} presentations ({N:,} sample{'s' if N > 1 else ''} × {E:,} epoch{'s' if E > 1 else ''}) "
                       f"of {n} input{'s' if n > 1 else ''}",
                  key=p.size_key, shrink="use fewer samples or epochs, or fewer inputs", **sizes)


def check_presentations(r, N: int, epochs: int) -> None:
    if N * epochs > MAX_PRESENTATIONS:
        raise r.error(("epochs",), f"{N} samples × {epochs} epochs is more than {MAX_PRESENTATIONS} "
                                   f"presentations")


def truth_table(n: int) -> np.ndarray:
    """Every binary input of length n, in counting order, x₁ most significant."""
    return np.array(list(itertools.product((0.0, 1.0), repeat=n)), dtype=float)


# -- which logic function --------------------------------------------------------------------

def _complete(X: np.ndarray):
    """The two input levels (low, high) if the rows of X are every combination of them once
    (a full truth table over {0, 1} or {−1, 1}), else None."""
    N, n = X.shape
    if N != 2 ** n or n > 12:
        return None
    for low in (0.0, -1.0):
        if np.all((X == low) | (X == 1.0)):
            rows = {tuple(row) for row in (X == 1.0)}
            if len(rows) == N:
                return low, 1.0
    return None


def logic_function(X: np.ndarray, y: np.ndarray) -> str | None:
    """The name of the Boolean function the outputs y give on the truth table X (AND, OR,
    NAND, NOR, XOR, XNOR, x₁, NOT x₂, …), or None when X is not a full truth table, y is not
    two-valued, or the function has no common name."""
    levels = _complete(X)
    if levels is None:
        return None
    y = np.asarray(y, dtype=float)
    if not np.all((y == 1.0) | (y == 0.0) | (y == -1.0)):
        return None
    if np.any(y == 0.0) and np.any(y == -1.0):
        return None
    ins = X == 1.0                       # True where an input is "on"
    out = y == 1.0
    n = X.shape[1]
    ones = ins.sum(axis=1)
    names = [
        ("AND", ones == n), ("OR", ones >= 1), ("NAND", ones < n), ("NOR", ones == 0),
        ("XOR" if n == 2 else "odd parity (XOR)", ones % 2 == 1),
        ("XNOR" if n == 2 else "even parity (XNOR)", ones % 2 == 0),
    ]
    if n >= 3 and n % 2 == 1:
        names.append(("MAJORITY", ones > n / 2))
    if n == 1:
        names = [("the identity (y = x₁)", ins[:, 0]), ("NOT", ~ins[:, 0])]
    else:
        for i in range(n):
            names += [(f"x{_sub(i + 1)} (the other inputs are ignored)", ins[:, i]),
                      (f"NOT x{_sub(i + 1)} (the other inputs are ignored)", ~ins[:, i])]
    names += [("a constant: it always fires", np.ones(len(y), bool)),
              ("a constant: it never fires", np.zeros(len(y), bool))]
    for name, truth in names:
        if np.array_equal(out, truth):
            return name
    return None


def _sub(k: int) -> str:
    return "".join("₀₁₂₃₄₅₆₇₈₉"[int(c)] for c in str(k))


def new(base: str, l=None) -> str:
    """The updated value of a quantity, written one way in every classical kind: a superscript
    "new", w^{new}; a per-layer quantity keeps its layer first, W^{(1), new}."""
    if l is None:
        return base + r"^{\text{new}}"
    return base + r"^{(" + str(l) + r"),\,\text{new}}"
