"""kind: delta_rule — error-correction learning of one neuron: the Widrow–Hoff / LMS rule
(Adaline, a linear unit) and the delta rule for a sigmoid or tanh unit, online or batch
(seed 003: e = d − y, E = ½ e², Δw = η e x, w(n+1) = w(n) + Δw(n)).

Per presented sample: v = w·x + b; y = φ(v); e = d − y; E = ½ e²; δ = e φ′(v) (δ = e for
the linear unit); Δw = η δ x; Δb = η δ. Online: w and b change after every sample. Batch:
every sample of an epoch sees the epoch's starting weights, and the summed Δw, Δb are
applied at the end of the epoch.
"""
from __future__ import annotations

import functools
import operator
from dataclasses import dataclass

import numpy as np

from .. import nn, ops
from . import _units
from ._classical import new
from ..given import Field, title
from ._classical import (FULL_PRESENTATIONS, MAX_EPOCHS, check_presentations, presentations_work,
                         read_samples, read_weights, samples_field)

SUMMARY = "Widrow–Hoff / LMS (Adaline) and the delta rule for a sigmoid or tanh unit, online or batch"
HEADLINE = "error-correction learning: the Widrow–Hoff (LMS) rule and the delta rule"

ACTIVATIONS = ("linear", "sigmoid", "tanh")
MODES = ("online", "batch")

GIVEN = (
    title("Widrow–Hoff learning"),
    Field("weights", "vector", "initial weights, one per input", shape=("n",), notation="w", example=[0, 0],
          what="the initial weights w, a list of numbers"),
    Field("bias", "number", "initial bias", notation="b", default=0.0, example=0),
    Field("learning_rate", "number", "learning rate", notation=r"\eta", positive=True, example=0.1,
          what="the learning rate η, a positive number"),
    Field("activation", "choice", "linear: LMS / Adaline | sigmoid | tanh: the generalised delta rule",
          choices=ACTIVATIONS, default="linear", example="linear"),
    Field("slope", "number", "a in the sigmoid 1/(1 + exp(−a v))", notation="a", default=1.0, positive=True,
          example=1, template="comment", needs=(("activation", "sigmoid"),), what="the sigmoid's slope a"),
    Field("mode", "choice", "online: update after every sample | batch: add the Δw of the epoch, apply at its end",
          choices=MODES, default="online", example="online"),
    Field("epochs", "integer", "passes over the samples", default=1, minimum=1, maximum=MAX_EPOCHS, example=1),
    Field("update_bias", "boolean", "false keeps b fixed (Δb = 0)", default=True, example=False,
          template="comment"),
    samples_field([{"x": [1, 0], "d": 1}, {"x": [0, 1], "d": -1}], "the desired output"),
)


@dataclass
class Problem:
    w: np.ndarray
    b: float
    eta: float
    activation: str
    act: object
    mode: str
    epochs: int
    update_bias: bool
    X: np.ndarray
    d: np.ndarray
    size_key: tuple = ("samples",)  # where the size of the training comes from (for messages)


def read(r, kind):
    w = read_weights(r)
    n = len(w)
    b, eta, activation, a, mode, epochs, update_bias = r.values(
        "bias", "learning_rate", "activation", "slope", "mode", "epochs", "update_bias")
    if r.has("slope") and activation != "sigmoid":
        raise r.error(("slope",), f"slope is for activation: sigmoid (this unit's activation is {activation})")
    X, d = read_samples(r, n)
    check_presentations(r, len(X), epochs)
    key = ("epochs",) if "epochs" in r.data else ("samples",)
    return Problem(w, b, eta, activation, nn.activation(activation, a=a), mode, epochs, update_bias, X, d, key)


def work(p: Problem):
    """The size of the working (nnsolve.work): each presentation is about ten steps, a row of
    the tables and a history entry; each epoch shows its first presentations in full."""
    from .. import work as W
    N, n = p.X.shape
    E = p.epochs
    P = N * E
    c = W.cell(n)
    shown = min(N, FULL_PRESENTATIONS)
    return presentations_work(
        p,
        steps=12 * P + E, numbers=8 * n * P, results=(2 * n + 8) * P + E + n + 1,
        detail=(E, shown * (W.step(1, 2 * n + 1) + 6 * W.step(1, 3) + 2 * W.step(n, 2 * n + 2))
                + N * (8 + 3 * c) * W.CELL["terminal"]),
        shown=8 * W.SHOWN_STEP,
        tables=[(P, 8 + 3 * c), (N, c + 2), (1, c + 2)])


def present(page, p: Problem, i, k, weights, bias, x, d, first=True):
    """One presented sample (history[i], sample k), each formula stated once: on a shown page,
    the silent page or the rules page. Online, it ends with the update. Returns the
    quantities (v, y, e, E, Δw, Δb, w, b), the last two after the update (online) or None."""
    h = lambda name: ("history", i, name)
    W, xs, bs = page.sym(r"w^{\top}", weights[None, :]), page.sym(f"x_{{{k}}}", x), page.sym("b", bias)
    v = page.step(h("v"), "v", W @ xs + bs, "net input" if k == "k" else f"Sample {k}: net input", scalar=True)
    y = page.step(h("y"), "y", ops.apply(p.act, v), "output" if first else "", scalar=True)
    ds = page.sym(f"d_{{{k}}}", d)
    e = page.step(h("e"), "e", ds - y, "error" if first else "", scalar=True)
    E = page.step(h("E"), "E", nn.loss("half_sse").formula(ds, y), "error energy" if first else "", scalar=True)
    eta = page.sym(r"\eta", p.eta)
    if p.act.identity_map:
        g = e
    else:
        dphi = page.step(None, r"\varphi'(v)", ops.prime(p.act, v, y), "slope of the activation" if first else "",
                         scalar=True)
        g = page.step(None, r"\delta", e * dphi, "local gradient" if first else "", scalar=True)
    dw = page.step(h("delta_w"), r"\Delta w", eta * g * xs, "weight change" if first else "", components=False)
    if p.update_bias:
        db = page.step(h("delta_b"), r"\Delta b", eta * g, "bias change" if first else "", scalar=True)
    else:
        db = page.sheet.result(h("delta_b"), 0.0, scalar=True) if page.keep else np.asarray(0.0)
    if p.mode != "online":
        return v, y, e, E, dw, db, None, None
    new_w = page.step(h("weights"), new("w"), page.sym("w", weights) + dw, "update" if first else "",
                      components=False)
    if p.update_bias:
        new_b = page.step(h("bias"), new("b"), bs + db, scalar=True)
    else:
        new_b = page.sheet.result(h("bias"), bias, scalar=True) if page.keep else bias
    return v, y, e, E, dw, db, new_w, new_b


def batch_update(page, p: Problem, i, weights, bias, dws, dbs, ks):
    """The end of a batch epoch: w ← w + Σ_k Δw_k (and b), the weights of history[i]."""
    terms = [page.sym(rf"\Delta w_{{{k}}}", dw) for k, dw in zip(ks, dws)]
    total_w = page.step(None, r"\sum_{k} \Delta w_{k}", functools.reduce(operator.add, terms),
                        "Sum of the epoch's weight changes", components=False)
    new_w = page.step(("history", i, "weights"), new("w"), page.sym("w", weights) + total_w,
                      "Update at the end of the epoch", components=False)
    if p.update_bias:
        tb = [page.sym(rf"\Delta b_{{{k}}}", db) for k, db in zip(ks, dbs)]
        total_b = page.step(None, r"\sum_{k} \Delta b_{k}", functools.reduce(operator.add, tb), scalar=True)
        new_b = page.step(("history", i, "bias"), new("b"), page.sym("b", bias) + total_b, scalar=True)
    else:
        new_b = page.sheet.result(("history", i, "bias"), bias, scalar=True) if page.keep else bias
    return new_w, new_b


def epoch_error(page, epoch, Es, ks):
    terms = [page.sym(f"E_{{{k}}}", E) for k, E in zip(ks, Es)]
    return page.step(("epoch_error", epoch), rf"E^{{({epoch})}}", functools.reduce(operator.add, terms),
                     f"Error of epoch {epoch}: the sum of the E of its presentations", scalar=True)


BLOWUP = 1e100  # training stops (with a warning) once a weight, a change or an error passes this


def _blown(*values) -> bool:
    return any(not np.all(np.abs(np.asarray(v, dtype=float)) < BLOWUP) for v in values)


COLUMNS = ["k", "x", "d", "v", "y", "e", "E", r"\Delta w", r"\Delta b", "w", "b"]


def _shown_columns(p: Problem) -> list[int]:
    """The columns of the tables: x only for up to 2 inputs (the samples are listed above), y
    not for the linear unit (y = v), Δb and b not when the bias is fixed."""
    drop = set()
    if p.X.shape[1] > 2:
        drop.add("x")
    if p.act.identity_map:
        drop.add("y")
    if not p.update_bias:
        drop |= {r"\Delta b", "b"}
    return [j for j, c in enumerate(COLUMNS) if c not in drop]


def _table(page, p: Problem, rows, *, epoch_column=False, **kw):
    keep = _shown_columns(p)
    if epoch_column:  # the table of the whole training: the sample number k says which x
        keep = [j for j in keep if COLUMNS[j] != "x"]
    cols = [COLUMNS[j] for j in keep]
    if epoch_column:
        page.table(["epoch"] + cols, [[r[0]] + [r[1 + j] for j in keep] for r in rows], **kw)
    else:
        page.table(cols, [[r[j] for j in keep] for r in rows], **kw)


def solve(p: Problem, sheet) -> None:
    N, n = p.X.shape
    act = p.act
    linear = act.identity_map
    intro = sheet.section("Problem")
    unit = ("a linear unit (Adaline): the Widrow–Hoff / LMS rule" if linear else
            f"a unit with {_units.words(act)}: the delta rule")
    intro.text(f"One neuron with {n} input{'s' if n > 1 else ''}, {unit}; {N} sample{'s' if N > 1 else ''}, "
               f"{p.mode} learning, {p.epochs} epoch{'s' if p.epochs > 1 else ''}"
               + ("; the bias is kept fixed" if not p.update_bias else "") + ".")
    intro.table(["", "w", "b", r"\eta"], [["initial", p.w, p.b, p.eta]])
    intro.table(["sample", "x", "d"], [[k + 1, x, t] for k, (x, t) in enumerate(zip(p.X, p.d))])

    def rules(page):
        present(page, p, 1, "k", p.w, p.b, p.X[0], p.d[0], first=False)
        if not linear:
            page.math(rf"\varphi(v) = {act.tex}(v) = {act.definition}, \quad \varphi'(v) = {act.prime_tex}",
                      p.activation)
        page.text(r"$E = \frac{1}{2} e^{2}$ is the error energy of the presentation; gradient descent on it gives "
                  r"$\Delta w = -\eta \partial E / \partial w = \eta e \varphi'(v) x$"
                  + (r" ($\varphi'(v) = 1$ for the linear unit: the Widrow–Hoff rule $\Delta w = \eta e x$)."
                     if linear else "."), "note")
        page.text(r"PyTorch's nn.MSELoss is $(d - y)^{2}$, without the $\frac{1}{2}$: its gradient, and a step of "
                  r"torch.optim.SGD with the same learning rate, is twice this $\Delta w$ (Hagan's LMS writes "
                  r"$w \leftarrow w + 2 \alpha e x$ for the same reason).", "note")
        if p.mode == "batch":
            page.text(r"Batch mode: every sample of an epoch uses the weights the epoch started with; at its end "
                      r"$w \leftarrow w + \sum_{k} \Delta w_{k}$ and $b \leftarrow b + \sum_{k} \Delta b_{k}$.", "note")
        if not p.update_bias:
            page.text("The bias is fixed: $\\Delta b = 0$.", "note")
    sheet.rules("Rules", rules)

    weights, bias = p.w.astype(float).copy(), float(p.b)
    value = lambda q: ops.value(q)
    i = 0
    all_rows = []
    diverged = False
    for epoch in range(1, p.epochs + 1):
        start_w, start_b = weights.copy(), bias
        starts, rows, dws, dbs, Es = [], [], [], [], []
        for k, (x, d) in enumerate(zip(p.X, p.d), start=1):
            i += 1
            sheet.result(("history", i, "epoch"), epoch, exact=True)
            sheet.result(("history", i, "sample"), k, exact=True)
            starts.append((weights.copy(), bias))
            v, y, e, E, dw, db, nw, nb = present(sheet.silent, p, i, k, weights, bias, x, d)
            if p.mode == "online":
                weights, bias = value(nw).reshape(-1).copy(), float(value(nb))
            elif k < N:  # inside a batch epoch the weights stand until its end
                sheet.result(("history", i, "weights"), weights)
                sheet.result(("history", i, "bias"), bias, scalar=True)
            else:
                nw, nb = batch_update(sheet.silent, p, i, start_w, start_b, dws + [value(dw)], dbs + [value(db)],
                                      range(1, N + 1))
                weights, bias = value(nw).reshape(-1).copy(), float(value(nb))
            dws.append(value(dw).reshape(-1))
            dbs.append(float(value(db)))
            Es.append(float(value(E)))
            rows.append([k, x, d, float(value(v)), float(value(y)), float(value(e)), float(value(E)), dws[-1],
                         dbs[-1], weights.copy(), bias])
            if _blown(weights, bias, dws[-1], Es[-1]):
                diverged = True
                break
        done = len(rows)
        epoch_error(sheet.silent, epoch, Es, range(1, done + 1))

        def build(page, epoch=epoch, first_i=i - done + 1, starts=starts, rows=rows, dws=dws, dbs=dbs, Es=Es,
                  start=(start_w, start_b), done=done):
            shown = min(done, FULL_PRESENTATIONS)
            for k in range(1, shown + 1):
                (w0, b0), x, d = starts[k - 1], p.X[k - 1], p.d[k - 1]
                present(page, p, first_i + k - 1, k, w0, b0, x, d, first=k == 1)
            if shown < done:
                page.text(f"Samples {shown + 1} to {done} are worked the same way; the table has them all.", "note")
            if p.mode == "batch" and done == N:
                batch_update(page, p, first_i + N - 1, start[0], start[1], dws, dbs, range(1, N + 1))
            if p.epochs > 1:  # one epoch: the table of the training below is this one
                _table(page, p, rows, title=f"Epoch {epoch}")
            epoch_error(page, epoch, Es, range(1, done + 1))
        sheet.section(f"Epoch {epoch}", level=3, detail=True, builder=build)
        all_rows += [[epoch] + r for r in rows]
        if diverged:
            break

    table = sheet.section("Training, sample by sample")
    _table(table, p, all_rows, epoch_column=True,
                note="w and b as they stand after each sample" + ("; in batch mode they change only at the end of "
                                                                   "each epoch" if p.mode == "batch" else "") + ".")
    end = sheet.section("Result")
    if diverged:
        end.text(f"The weights grow without bound: past $10^{{100}}$ at sample {done} of epoch {epoch}, where "
                 f"training stops (its error sums that epoch's presentations so far). The learning rate "
                 f"η = {p.eta:g} is too large for these inputs: LMS is stable only for η below 2 divided by "
                 "the largest eigenvalue of the inputs' correlation matrix.", "warning")
    end.table(["", "w", "b"], [["final", weights, bias]])
    sheet.result(("weights",), weights)
    sheet.result(("bias",), bias, scalar=True)
