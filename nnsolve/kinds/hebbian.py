"""kind: hebbian — Hebb's rule: Fausett's Hebb net (supervised, Δw = η d x), the plain rule
(Δw = η y x with the unit's own output) and Oja's rule (Δw = η y (x − y w)); seed 000's
"classify using Hebbian learning".

Per presented sample: v = w·x + b (Oja: v = w·x, no bias) and y = φ(v) with the weights
before the update, then the Hebbian change and the update. After training every sample is
classified with the final weights (`outputs`), and where every sample has a d,
`all_correct` says whether y = d for all.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import ops
from ..given import Field, title
from . import _units
from ._classical import new
from ._classical import (FULL_PRESENTATIONS, MAX_EPOCHS, check_presentations, logic_function,
                         presentations_work, read_samples, read_weights, samples_field)

SUMMARY = "Hebb's rule: Fausett's Hebb net (Δw = η d x), plain Hebb (Δw = η y x) and Oja's rule"
HEADLINE = "Hebbian learning: the Hebb net, plain Hebb and Oja's rule"

RULES = ("supervised", "plain", "oja")
ACTIVATIONS = ("sign", "step", "linear")

GIVEN = (
    title("Hebb net for AND (bipolar)"),
    Field("rule", "choice", "supervised: Δw = η d x, Δb = η d (the Hebb net; needs d) | plain: Δw = η y x, "
          "Δb = η y with y = φ(w·x + b) | oja: Δw = η y (x − y w), no bias", choices=RULES, default="supervised",
          example="supervised"),
    Field("weights", "vector", "initial weights, one per input", shape=("n",), notation="w", example=[0, 0],
          what="the initial weights w, a list of numbers"),
    Field("bias", "number", "initial bias (not for oja)", notation="b", default=0.0, example=0),
    Field("learning_rate", "number", "learning rate", notation=r"\eta", default=1.0, positive=True, example=1,
          what="the learning rate η, a positive number"),
    Field("activation", "choice", "the unit's y = φ(v), for plain and oja and for the final check: "
          "sign | step | linear", choices=ACTIVATIONS, default=None, default_text="sign (linear for oja)",
          example="sign"),
    Field("strict", "boolean", "step/sign fire only for v > 0 (step gives 0 and sign −1 at v = 0)",
          default=False, example=True, template="comment"),
    Field("epochs", "integer", "passes over the samples", default=1, minimum=1, maximum=MAX_EPOCHS, example=1),
    samples_field([{"x": [1, 1], "d": 1}, {"x": [1, -1], "d": -1}, {"x": [-1, 1], "d": -1},
                   {"x": [-1, -1], "d": -1}], "the desired output (needed by the supervised rule)",
                  d_required=False, note="the default example: bipolar AND, Fausett's Hebb net exercise"),
)


@dataclass
class Problem:
    rule: str
    w: np.ndarray
    b: float
    eta: float
    activation: str
    act: object
    epochs: int
    X: np.ndarray
    d: np.ndarray   # NaN where a sample has no d
    size_key: tuple = ("samples",)  # where the size of the training comes from (for messages)


def read(r, kind):
    rule = r.field("rule")
    w = read_weights(r)
    n = len(w)
    b, eta, activation, strict, epochs = r.values("bias", "learning_rate", "activation", "strict", "epochs")
    if rule == "oja" and r.has("bias"):
        raise r.error(("bias",), "Oja's rule has no bias (Δw = η y (x − y w) with y = φ(w·x)): leave bias out")
    if activation is None:
        activation = "linear" if rule == "oja" else "sign"
    if r.has("strict") and activation not in ("step", "sign"):
        raise r.error(("strict",), f"strict is for activation: step or sign (this unit's activation is {activation})")
    X, d = read_samples(r, n, need_d="the supervised Hebb rule (Δw = η d x) needs the desired output d of every "
                                    "sample" if rule == "supervised" else None)
    check_presentations(r, len(X), epochs)
    act = _units.lookup(activation, strict=strict)
    key = ("epochs",) if "epochs" in r.data else ("samples",)
    return Problem(rule, w, 0.0 if rule == "oja" else b, eta, activation, act, epochs, X, d, key)


def work(p: Problem):
    """The size of the working (nnsolve.work): each presentation is about six steps, a row of
    the tables and a history entry; each epoch shows its first presentations in full."""
    from .. import work as W
    N, n = p.X.shape
    E = p.epochs
    P = N * E
    c = W.cell(n)
    shown = min(N, FULL_PRESENTATIONS)
    return presentations_work(
        p,
        steps=8 * P + 2 * N, numbers=6 * n * P, results=(2 * n + 6) * P + N + n + 2,
        detail=(E, shown * (W.step(1, 2 * n + 1) + 3 * W.step(1, 3) + 2 * W.step(n, 3 * n + 2))
                + N * (6 + 3 * c) * W.CELL["terminal"]),
        shown=(4 + 2 * min(N, FULL_PRESENTATIONS)) * W.SHOWN_STEP,
        tables=[(P, 6 + 3 * c), (N, c + 2), (N, c + 3)])


def present(page, p: Problem, i, k, weights, bias, x, d, first=True):
    """One presented sample (history[i], sample k), each formula stated once (shown, silent or
    rules page): v and y with the weights before the update, the Hebbian change, the update.
    Returns (v, y, Δw, Δb, w, b); Δb and b are None for Oja's rule."""
    h = lambda name: ("history", i, name)
    oja = p.rule == "oja"
    W, xs = page.sym(r"w^{\top}", weights[None, :]), page.sym(f"x_{{{k}}}", x)
    bs = None if oja else page.sym("b", bias)
    label = "net input" if k == "k" else f"Sample {k}: net input"
    v = page.step(h("v"), "v", W @ xs if oja else W @ xs + bs, label, scalar=True)
    y = page.step(h("y"), "y", ops.apply(p.act, v), "output of the unit" if first else "", scalar=True)
    eta = page.sym(r"\eta", p.eta)
    if p.rule == "supervised":
        ds = page.sym(f"d_{{{k}}}", d)
        dw = page.step(h("delta_w"), r"\Delta w", eta * ds * xs, "Hebbian change: target times input" if first
                       else "", components=False)
        db = page.step(h("delta_b"), r"\Delta b", eta * ds, scalar=True)
    elif p.rule == "plain":
        dw = page.step(h("delta_w"), r"\Delta w", eta * y * xs, "Hebbian change: output times input" if first
                       else "", components=False)
        db = page.step(h("delta_b"), r"\Delta b", eta * y, scalar=True)
    else:
        ws = page.sym("w", weights)
        dw = page.step(h("delta_w"), r"\Delta w", eta * y * (xs - y * ws),
                       "Oja's change: Hebb's η y x minus the forgetting term η y² w" if first else "",
                       components=False)
        db = None
    new_w = page.step(h("weights"), new("w"), page.sym("w", weights) + dw, "update" if first else "",
                      components=False)
    new_b = None if oja else page.step(h("bias"), new("b"), bs + db, scalar=True)
    return v, y, dw, db, new_w, new_b


def classify(page, p: Problem, k, weights, bias, x):
    """y of sample k with the final weights (the result outputs[k])."""
    W, xs = page.sym(r"w^{\top}", weights[None, :]), page.sym(f"x_{{{k}}}", x)
    v = page.step(None, f"v_{{{k}}}", W @ xs if p.rule == "oja" else W @ xs + page.sym("b", bias),
                  f"Sample {k}", scalar=True)
    return page.step(("outputs", k), f"y_{{{k}}}", ops.apply(p.act, v), scalar=True)


BLOWUP = 1e100  # training stops (with a warning) once a weight passes this


def _blown(*values) -> bool:
    return any(not np.all(np.abs(np.asarray(v, dtype=float)) < BLOWUP) for v in values)


def _columns(p: Problem):
    cols = ["k"] + (["x"] if p.X.shape[1] <= 2 else []) + (["d"] if p.rule == "supervised" else []) + ["v", "y", r"\Delta w"]
    cols += [] if p.rule == "oja" else [r"\Delta b"]
    return cols + ["w"] + ([] if p.rule == "oja" else ["b"])


def solve(p: Problem, sheet) -> None:
    N, n = p.X.shape
    oja = p.rule == "oja"
    has_d = bool(np.all(~np.isnan(p.d)))
    intro = sheet.section("Problem")
    what = {"supervised": "the Hebb net (supervised Hebb rule: the target d plays the output's part)",
            "plain": "plain Hebbian learning (the unit's own output y times the input)",
            "oja": "Oja's rule (Hebb's rule with a forgetting term that keeps ‖w‖ near 1)"}[p.rule]
    intro.text(f"One neuron with {n} input{'s' if n > 1 else ''}, {_units.words(p.act)}; {what}; "
               f"{N} sample{'s' if N > 1 else ''}, {p.epochs} epoch{'s' if p.epochs > 1 else ''}.")
    intro.table(["", "w"] + ([] if oja else ["b"]) + [r"\eta"],
                [["initial", p.w] + ([] if oja else [p.b]) + [p.eta]])
    intro.table(["sample", "x"] + (["d"] if has_d else []),
                [[k + 1, x] + ([t] if has_d else []) for k, (x, t) in enumerate(zip(p.X, p.d))])

    def rules(page):
        present(page, p, 1, "k", p.w, p.b, p.X[0], 0.0 if np.isnan(p.d[0]) else p.d[0], first=False)
        if not p.act.identity_map:
            page.math(rf"\varphi(v) = {p.act.tex}(v) = {p.act.definition}", p.activation)
        if p.rule == "supervised":
            page.text("v and y are shown with the weights before the update; the supervised rule does not use "
                      "them (it uses d), they show what the unit answered before it learned the sample.", "note")
            if has_d and np.any(p.d == 0):
                page.text("A sample with d = 0 changes nothing ($\\Delta w = \\eta \\cdot 0 \\cdot x$): with binary "
                          "targets the Hebb net cannot learn from its 'off' samples, which is why Fausett's Hebb net "
                          "uses bipolar targets (−1, 1).", "note")
        elif p.rule == "plain":
            page.text("Plain Hebbian learning has no decay: each presentation adds $\\eta y x$, so $\\|w\\|$ grows "
                      "without bound over the epochs (Oja's rule adds the forgetting term $-\\eta y^{2} w$).", "note")
        else:
            page.text("Oja's rule: for small $\\eta$ the weights converge to a unit vector along the first principal "
                      "direction of the inputs (the eigenvector of the largest eigenvalue of "
                      "$R = \\frac{1}{N} \\sum_{k} x_{k} x_{k}^{\\top}$).", "note")
    sheet.rules("Rules", rules)

    weights, bias = p.w.astype(float).copy(), float(p.b)
    value = ops.value
    i = 0
    all_rows = []
    diverged = False
    for epoch in range(1, p.epochs + 1):
        starts, rows = [], []
        for k, (x, d) in enumerate(zip(p.X, p.d), start=1):
            i += 1
            sheet.result(("history", i, "epoch"), epoch, exact=True)
            sheet.result(("history", i, "sample"), k, exact=True)
            starts.append((weights.copy(), bias))
            v, y, dw, db, nw, nb = present(sheet.silent, p, i, k, weights, bias, x, d)
            weights = value(nw).reshape(-1).copy()
            bias = bias if oja else float(value(nb))
            row = [k] + ([x] if n <= 2 else []) + ([d] if p.rule == "supervised" else []) + [float(value(v)), float(value(y)),
                                                                       value(dw).reshape(-1)]
            row += [] if oja else [float(value(db))]
            rows.append(row + [weights.copy()] + ([] if oja else [bias]))
            if _blown(weights, bias):
                diverged = True
                break
        done = len(rows)

        def build(page, epoch=epoch, first_i=i - done + 1, starts=starts, rows=rows, done=done):
            shown = min(done, FULL_PRESENTATIONS)
            for k in range(1, shown + 1):
                (w0, b0) = starts[k - 1]
                present(page, p, first_i + k - 1, k, w0, b0, p.X[k - 1], p.d[k - 1], first=k == 1)
            if shown < done:
                page.text(f"Samples {shown + 1} to {done} are worked the same way; the table has them all.", "note")
            if p.epochs > 1:  # one epoch: the table of the training below is this one
                page.table(_columns(p), rows, title=f"Epoch {epoch}")
        sheet.section(f"Epoch {epoch}", level=3, detail=True, builder=build)
        all_rows += [[epoch] + r for r in rows]
        if diverged:
            break

    table = sheet.section("Training, sample by sample")
    table.table(["epoch"] + _columns(p), all_rows, note="v and y with the weights before the update; w and b after it.")
    if diverged:
        table.text(f"The weights grow without bound: past $10^{{100}}$ at sample {done} of epoch {epoch}, where "
                   "training stops" + (" (plain Hebbian learning has no decay; Oja's rule bounds the weights)"
                                       if p.rule == "plain" else " (a smaller learning rate keeps Oja's rule stable)"
                                       if oja else "") + ".", "warning")
    sheet.result(("weights",), weights)
    if not oja:
        sheet.result(("bias",), bias, scalar=True)

    out = sheet.section("Classification with the final weights")
    out.table(["", "w"] + ([] if oja else ["b"]), [["final", weights] + ([] if oja else [bias])])
    ys = []
    for k, x in enumerate(p.X, start=1):
        y = classify(out if N <= FULL_PRESENTATIONS else sheet.silent, p, k, weights, bias, x)
        ys.append(float(value(y)))
    rows = [[k, x, ys[k - 1]] + ([p.d[k - 1], "yes" if ys[k - 1] == p.d[k - 1] else "no"] if has_d else [])
            for k, x in enumerate(p.X, start=1)]
    out.table(["k", "x", "y"] + (["d", "y = d"] if has_d else []), rows)
    if has_d:
        wrong = [k for k in range(1, N + 1) if ys[k - 1] != p.d[k - 1]]
        sheet.result(("all_correct",), not wrong, exact=True)
        if not wrong:
            gate = logic_function(p.X, p.d)
            out.text("$y = d$ for every sample: the trained neuron classifies them all correctly"
                     + (f" (it implements {gate})" if gate else "") + ".", "result")
        else:
            out.text(f"$y \\neq d$ for sample{'s' if len(wrong) > 1 else ''} " + ", ".join(map(str, wrong))
                     + ": Hebbian learning did not find weights that classify every sample.", "warning")
    if oja:
        norm = out.step(None, r"\|w\|", ops.sqrt(ops.total(ops.times(out.sym("w_{j}", weights), out.sym("w_{j}", weights), 1))),
                        "Length of the final weight vector", scalar=True)
        R = p.X.T @ p.X / N
        vals, vecs = np.linalg.eigh(R)
        u = vecs[:, -1]
        u = u if float(u @ weights) >= 0 else -u
        cos = float(u @ weights) / float(ops.value(norm)) if float(ops.value(norm)) > 0 else float("nan")
        out.table([r"\lambda_{1}", "u_{1}", r"\cos \angle(w, u_{1})"], [[vals[-1], u, cos]],
                  title="First principal direction of the inputs, of $R = \\frac{1}{N} \\sum_k x_k x_k^{\\top}$",
                  note="Oja's rule turns w towards $u_1$ and its length towards 1.")
