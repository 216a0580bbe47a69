"""kind: perceptron — Rosenblatt's perceptron convergence training."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import ops
from . import _units
from ._classical import new
from ..given import Field, title

SUMMARY = "Rosenblatt perceptron training: epochs of samples until no weight changes"

HEADLINE = "Rosenblatt perceptron training"
MAX_EPOCHS = 100_000  # the work estimate (work below) bounds samples × epochs

GIVEN = (
    title("My perceptron"),
    Field("weights", "vector", "initial weights, one per input", shape=("n",), notation="w",
          example=[0.5, -1, -0.5], what="the initial weights w, a list of numbers"),
    Field("bias", "number", "initial bias", notation="b", default=0.0, example=0.5),
    Field("learning_rate", "number", "learning rate", notation=r"\eta", default=1.0, positive=True, example=1),
    Field("activation", "choice", "step: y = 1 if v >= 0 else 0 | sign: y = 1 if v >= 0 else -1",
          choices=("step", "sign"), default="step", example="step"),
    Field("strict", "boolean", "true: step/sign fire only for v > 0 (step(0) = 0, sign(0) = −1)", default=False,
          example=False, template="comment"),
    Field("update_bias", "boolean", "false keeps b fixed (a fixed threshold θ = −b)", default=True,
          example=True, template="comment"),
    Field("max_epochs", "integer", "stop after this many epochs if not converged", default=100,
          minimum=1, maximum=MAX_EPOCHS, example=100),
    Field("samples", "list", "presented in this order every epoch; d is the desired output", flow=True,
          what="a list of samples {x: [...], d: ...}",
          example=[{"x": [1, -1, -1], "d": 0}, {"x": [1, 1, 1], "d": 1}],
          fields=(Field("x", "vector", "the input, as long as the weights", shape=("n",), notation="x"),
                  Field("d", "number", "the desired output: 0 or 1 (step), −1 or 1 (sign)",
                        what="the desired output d"))),
)


@dataclass
class Problem:
    w: np.ndarray
    b: float
    eta: float
    activation: str
    max_epochs: int
    X: np.ndarray
    d: np.ndarray
    size_key: tuple = ("samples",)  # where the size of the training comes from (for messages)
    strict: bool = False       # step/sign fire only for v > 0
    update_bias: bool = True   # false: b stays fixed


def read(r, kind):
    w = r.vector("weights", what="the initial weights w, a list of numbers")
    n = len(w)
    b, eta, activation, max_epochs = r.values("bias", "learning_rate", "activation", "max_epochs")
    labels = (0.0, 1.0) if activation == "step" else (-1.0, 1.0)
    X, d = [], []
    for path, item in r.items("samples", what=r.fields["samples"].what):
        s = r.element(path, item)
        x = s.vector("x", length=n, what=f"an input vector of length {n} (as many as the weights)")
        target = s.field("d")
        if target not in labels:
            raise r.error(path + ("d",), f"expected d to be {int(labels[0])} or {int(labels[1])} "
                                         f"for the {activation} activation, got {target:g}")
        s.finish()
        X.append(x)
        d.append(target)
    key = ("max_epochs",) if "max_epochs" in r.data else ("samples",)
    strict, update_bias = r.values("strict", "update_bias")
    return Problem(w, b, eta, activation, max_epochs, np.array(X), np.array(d), key, strict, update_bias)


def work(p: Problem):
    """The size of the working (nnsolve.work): every presentation of every epoch, at worst
    (training may converge sooner), is five steps, a row of the table and a result."""
    from .. import work as W
    N, n = p.X.shape
    E = p.max_epochs
    P = N * E
    c = W.cell(n)
    return W.Work(
        what=f"up to {P:,} presentations ({N:,} sample{'s' if N > 1 else ''} × {E:,} epoch{'s' if E > 1 else ''}) "
             f"of {n} input{'s' if n > 1 else ''}",
        key=p.size_key, shrink="use fewer samples or epochs (max_epochs), or fewer inputs",
        steps=13 * P, numbers=6 * n * P, results=(n + 7) * P + n + 5,
        detail=(E, N * (3 * W.step(1, 2 * n + 1) + W.step(n, 3 * n) + W.step(1, 2))),
        shown=3 * W.SHOWN_STEP,
        tables=[(P, 7 + 3 * c), (N, c + 2), (1, 2 * c + 2)])


def separable_2d(X: np.ndarray, d: np.ndarray) -> bool:
    """Whether two classes of points in the plane can be split by a line
    (their convex hulls are disjoint)."""
    A = [tuple(p) for p in X[d == d.max()]]
    B = [tuple(p) for p in X[d != d.max()]]
    if not A or not B:
        return True

    def hull(pts):
        pts = sorted(set(pts))
        if len(pts) <= 2:
            return pts

        def cross(o, a, b):
            return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
        lower, upper = [], []
        for p in pts:
            while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
                lower.pop()
            lower.append(p)
        for p in reversed(pts):
            while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
                upper.pop()
            upper.append(p)
        return lower[:-1] + upper[:-1]

    ha, hb = hull(A), hull(B)
    # Separating axis test over the edge normals of both hulls (and, for degenerate hulls,
    # the normal of the segment itself and the segment direction).
    axes = []
    for h in (ha, hb):
        k = len(h)
        for i in range(k):
            p, q = h[i], h[(i + 1) % k]
            ex, ey = q[0] - p[0], q[1] - p[1]
            if ex or ey:
                axes.append((-ey, ex))
                axes.append((ex, ey))
    for a in A:
        for b in B:
            axes.append((b[0] - a[0], b[1] - a[1]))
    for ax in axes:
        pa = [ax[0] * p[0] + ax[1] * p[1] for p in ha]
        pb = [ax[0] * p[0] + ax[1] * p[1] for p in hb]
        if max(pa) < min(pb) - 1e-12 or max(pb) < min(pa) - 1e-12:
            return True
    return False


def _coef(c: float) -> str:
    return f"{round(float(c), 10):g}"


def boundary(w, b) -> str:
    """The line w₁x₁ + w₂x₂ + b = 0 in LaTeX, written as a hand solution does: 2 x_1 + x_2 - 3 = 0."""
    terms = []
    for i, c in enumerate(w, start=1):
        c = float(c)
        if c == 0:
            continue
        size = "" if abs(c) == 1 else _coef(abs(c)) + " "
        terms.append(("-" if c < 0 else "+", f"{size}x_{{{i}}}"))
    if float(b) != 0 or not terms:
        terms.append(("-" if float(b) < 0 else "+", _coef(abs(float(b)))))
    text = ""
    for k, (sign, t) in enumerate(terms):
        text += (("-" if sign == "-" else "") if k == 0 else f" {sign} ") + t
    return text + " = 0"


def solve(p: Problem, sheet) -> None:
    n = len(p.w)
    N = len(p.X)
    intro = sheet.section("Problem")
    fires = "v > 0" if p.strict else "v \\geq 0"
    intro.text(f"A single neuron with {n} inputs, activation "
               + (f"step: $y = 1$ if ${fires}$, else $0$" if p.activation == "step"
                  else f"sign: $y = 1$ if ${fires}$, else $-1$")
               + f"; {N} training samples presented in order each epoch"
               + ("; the bias is kept fixed (a fixed threshold $\\theta = -b$)." if not p.update_bias else "."))
    intro.table(["", "w", "b", r"\eta"], [["initial", p.w, p.b, p.eta]])
    intro.table(["sample", "x", "d"], [[k + 1, x, t] for k, (x, t) in enumerate(zip(p.X, p.d))])
    rules = sheet.section("Rules")
    rules.math(r"v = w^{\top} x + b", "net input")
    rules.math(r"y = \varphi(v)", "output")
    rules.math(r"e = d - y", "error")
    rules.math(r"w \leftarrow w + \eta e x, \quad b \leftarrow b + \eta e" if p.update_bias
               else r"w \leftarrow w + \eta e x, \quad b \text{ fixed}", "update")
    if p.strict:
        rules.text("The unit fires only for $v > 0$ (a strict threshold), so at $v = 0$ "
                   + ("step gives $0$." if p.activation == "step" else "sign gives $-1$.")
                   + " (The default, as PyTorch's heaviside with value 1 at 0, fires at $v = 0$.)", "note")

    unit = _units.lookup(p.activation, strict=p.strict)  # the threshold unit, as kind: neuron has it

    def present(page, epoch, k, weights, bias, x, d):
        """One presented sample, each formula stated once, on a shown or the silent page.
        Its quantities are history[i].v, … with i counting every presentation from 1."""
        i = (epoch - 1) * N + k
        h = lambda name: ("history", i, name)
        sheet.result(h("epoch"), epoch, exact=True)
        sheet.result(h("sample"), k, exact=True)
        W, xs, bs = page.sym(r"w^{\top}", weights[None, :]), page.sym(f"x_{{{k}}}", x), page.sym("b", bias)
        v = page.step(h("v"), "v", W @ xs + bs, f"Sample {k}: net input", components=False, scalar=True)
        y = page.step(h("y"), "y", ops.apply(unit, v), scalar=True)
        sheet.result(h("d"), float(d), exact=True)
        e = page.step(h("e"), "e", page.sym(f"d_{{{k}}}", d) - y, scalar=True)
        if ops.value(e).item() == 0:
            page.text("$y = d$: no change.", "note")
            return v, y, e, sheet.result(h("weights"), weights), sheet.result(h("bias"), bias, scalar=True)
        eta = page.sym(r"\eta", p.eta)
        new_w = page.step(h("weights"), new("w"), page.sym("w", weights) + eta * e * xs, components=False)
        if p.update_bias:
            new_b = page.step(h("bias"), new("b"), bs + eta * e, scalar=True)
        else:
            new_b = sheet.result(h("bias"), bias, scalar=True)
        return v, y, e, new_w, new_b

    def epoch_working(epoch, start):
        def build(page):
            weights, bias = start
            for k, (x, d) in enumerate(zip(p.X, p.d), start=1):
                *_, nw, nb = present(page, epoch, k, weights, bias, x, d)
                weights, bias = ops.value(nw).reshape(-1), ops.value(nb).item()
        return build

    weights, bias = p.w.astype(float).copy(), float(p.b)
    rows = []
    updates = 0
    converged = False
    epoch = 0
    scalar = lambda q: ops.value(q).item()
    seen: dict = {}  # (sample, w, b) before a presentation -> (epoch, presentation number)
    cycle = None  # (epoch, sample where the cycle starts, its period in presentations, epoch it repeats in)
    for epoch in range(1, p.max_epochs + 1):
        sheet.section(f"Epoch {epoch}", level=3, detail=True, builder=epoch_working(epoch, (weights, bias)))
        changed = 0
        for k, (x, d) in enumerate(zip(p.X, p.d), start=1):
            if cycle is None:  # the same sample met with the same weights: every later row repeats
                key = (k, tuple(weights.tolist()), bias)
                if key in seen:
                    e0, i0 = seen[key]
                    cycle = (e0, k, len(rows) - i0, epoch)
                seen.setdefault(key, (epoch, len(rows)))
            v, y, e, new_w, new_b = present(sheet.silent, epoch, k, weights, bias, x, d)
            err = scalar(e)
            dw = ops.value(new_w).reshape(-1) - weights
            if err != 0:
                updates += 1
                changed += 1
            weights, bias = ops.value(new_w).reshape(-1), scalar(new_b)
            rows.append([epoch, k, x, scalar(v), scalar(y), float(d), err, dw, weights.copy(), bias])
        if changed == 0:
            converged = True
            break

    table = sheet.section("Training, sample by sample")
    columns = ["epoch", "sample", "x", "v", "y", "d", "e", r"\Delta w", r"w", "b"]
    if cycle is not None and not converged:
        first, k0, period, again = cycle  # sample k0 of epoch `first` is met again in epoch `again`
        per = period // N  # the same sample recurs: the period is whole epochs
        start = (f"sample {k0} of " if k0 > 1 else "") + f"epoch {first}"
        table.text(f"From {start} on the weights repeat with period {per} epoch{'s' if per > 1 else ''} "
                   f"({period} presentations): sample {k0} meets the same $w$ and $b$ in epoch {first + per} as in "
                   f"epoch {first}, so the same rows come round forever and the perceptron never converges. The "
                   f"perceptron convergence theorem guarantees convergence on linearly separable samples: "
                   f"the data are not linearly separable.", "warning")
        last = rows[-1][0]
        table.table(columns, rows, note=(
            f"Epochs {again + 1}–{last} repeat the rows of epoch{'s' if per > 1 else ''} "
            f"{again - per + 1}{'–' + str(again) if per > 1 else ''} (the cycle)." if last > again else None))
    else:
        table.table(columns, rows)
    end = sheet.section("Result")
    if converged:
        end.text(f"Converged after {epoch} epochs (no sample of epoch {epoch} had $e \\neq 0$), "
                 f"with {updates} updates (presentations with $e \\neq 0$).", "result")
    else:
        end.text(f"Not converged after {p.max_epochs} epochs ({updates} weight updates).", "warning")
        if n == 2 and cycle is None and not separable_2d(p.X, p.d):
            end.text("The samples are not linearly separable (no line splits the two classes, as in XOR): "
                     "the perceptron can never converge on them.", "note")
    end.table(["", "w", "b"], [["final", weights, bias]])
    if n == 2:
        end.text(f"Decision boundary of the final weights: ${boundary(weights, bias)}$"
                 + (" (the unit fires where the left-hand side is positive"
                    + (")" if p.strict else " or zero)")
                    + (", a line that separates the two classes." if converged else
                       "; it does not separate the two classes.")), "result" if converged else "note")
    sheet.result(("weights",), weights)
    sheet.result(("bias",), bias, scalar=True)
    sheet.result(("epochs",), epoch, exact=True)
    sheet.result(("converged",), converged, exact=True)
    sheet.result(("updates",), updates, exact=True)
