"""kind: competitive — winner-take-all competitive learning, and a 1-D self-organising map.

Each presented sample x: every output neuron j scores it (the Euclidean distance
d_j = ‖x − w_j‖, not squared, or the dot product s_j = w_jᵀ x), the best score wins (the
smallest distance or the largest dot product; a tie goes to the lowest j), and the winner,
with every neuron within ``radius`` of it on the line of neurons, moves towards x:
w_j ← w_j + η (x − w_j). The rest keep their weights (seed 003: Δw_j = η(x − w_j) if the
neuron wins, 0 if it loses).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import ops
from ..given import Field, title

SUMMARY = "competitive learning: scores, the winner and its update per sample; a 1-D map with a radius"
HEADLINE = "winner-take-all competitive learning (and a 1-D self-organising map)"

SIMILARITIES = ("distance", "dot")
MAX_EPOCHS = 10_000
MAX_PRESENTATIONS = 20_000
MAX_WORK = 4_000_000  # presentations × k × n
MAX_NEURONS = 1_000

GIVEN = (
    title("Competitive learning"),
    Field("weights", "matrix", "the initial weights, one row w_j per output neuron", shape=("k", "n"),
          notation="W", example=[[0.2, 0.6], [0.8, 0.4]],
          what="the initial weights: a k × n matrix, one row w_j per output neuron"),
    Field("learning_rate", "number", "learning rate of the update w_j ← w_j + η (x − w_j)", notation=r"\eta",
          positive=True, example=0.5, what="the learning rate η, a positive number"),
    Field("similarity", "choice", "distance: winner = argmin ‖x − w_j‖ | dot: winner = argmax w_j·x",
          choices=SIMILARITIES, default="distance", example="distance"),
    Field("radius", "integer", "neurons with |j − winner| ≤ radius (on a line) are updated too",
          default=0, minimum=0, maximum=MAX_NEURONS, example=0,
          note="0: winner-take-all; 1 or more: a 1-D self-organising map (Kohonen) with a fixed radius and η"),
    Field("epochs", "integer", "passes over the samples", default=1, minimum=1, maximum=MAX_EPOCHS, example=1),
    Field("samples", "list", "the inputs x, presented in this order every epoch", of="vector",
          shape=("N", "n"), example=[[0.1, 0.9], [0.9, 0.2]],
          what="a list of input vectors x, each as long as a row of weights"),
)


@dataclass
class Problem:
    W: np.ndarray      # k × n
    eta: float
    similarity: str
    radius: int
    epochs: int
    X: np.ndarray      # N × n


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def read(r, kind):
    raw_w = r.raw("weights", what=r.fields["weights"].what)
    raw_s = r.raw("samples", what=r.fields["samples"].what)
    one_input = isinstance(raw_s, list) and raw_s and all(_is_number(v) for v in raw_s)
    if one_input and isinstance(raw_w, list) and raw_w and all(_is_number(v) for v in raw_w):
        raw_w = [[v] for v in raw_w]  # n = 1: a flat list is one weight per neuron
    W = r.array_value(raw_w, ("weights",), ndim=2, what=r.fields["weights"].what)
    k, n = W.shape
    if k > MAX_NEURONS:
        raise r.error(("weights",), f"expected at most {MAX_NEURONS} neurons (rows), got {k}")
    eta, similarity, radius, epochs = r.values("learning_rate", "similarity", "radius", "epochs")
    X = []
    for path, v in r.items("samples", what=r.fields["samples"].what):
        X.append(r.array_value(v, path, ndim=1, shape=(n,),
                               what=f"an input vector of length {n} (as long as a row of weights)"))
    N = len(X)
    if N * epochs > MAX_PRESENTATIONS:
        raise r.error(("epochs",), f"{N} samples × {epochs} epochs is more than {MAX_PRESENTATIONS} presentations")
    if N * epochs * k * n > MAX_WORK:
        raise r.error(("samples",), f"{N * epochs} presentations × {k} neurons × {n} inputs is too large a "
                                    f"problem to write out (at most {MAX_WORK})")
    return Problem(W, eta, similarity, radius, epochs, np.array(X))


# -- the formulas -------------------------------------------------------------------------------

def score(page, p: Problem, j: int, x, w, path=None, label=""):
    """Neuron j's score of x: d_j = ‖x − w_j‖ = √(Σ_i (x_i − w_ji)²), or s_j = w_jᵀ x."""
    if p.similarity == "distance":
        xs, wj = page.sym("x_{i}", x), page.sym(f"w_{{{j}i}}", w)
        return page.step(path, f"d_{{{j}}}", ops.sqrt(ops.total((xs - wj) ** 2, "i")), label, scalar=True)
    wt = page.sym(f"w_{{{j}}}^{{\\top}}", np.asarray(w, dtype=float)[None, :])
    return page.step(path, f"s_{{{j}}}", wt @ page.sym("x", x), label, scalar=True)


def update(page, p: Problem, j: int, x, w, path=None, label=""):
    """w_j ← w_j + η (x − w_j)."""
    wj = page.sym(f"w_{{{j}}}", w)
    return page.step(path, f"w_{{{j}}}^{{\\text{{new}}}}", wj + page.sym(r"\eta", p.eta) * (page.sym("x", x) - wj),
                     label, components=False)


def winner(p: Problem, scores) -> int:
    """The best score (smallest distance, largest dot product); a tie goes to the lowest j. Counts from 1."""
    best = None
    for j, s in enumerate(scores):
        if best is None or (s < scores[best] if p.similarity == "distance" else s > scores[best]):
            best = j
    return best + 1


def neighbourhood(p: Problem, c: int, k: int) -> list:
    """The neurons updated with winner c: |j − c| ≤ radius on the line 1 … k."""
    return [j for j in range(1, k + 1) if abs(j - c) <= p.radius]


# -- the working ----------------------------------------------------------------------------------

def _scores_head(sym: str, k: int) -> str:
    if k <= 3:
        return ", ".join(f"{sym}_{{{j}}}" for j in range(1, k + 1))
    return f"{sym}_{{1}}, \\ldots, {sym}_{{{k}}}"


def _symbol(p: Problem) -> str:
    return "d" if p.similarity == "distance" else "s"


def solve(p: Problem, sheet) -> None:
    k, n = p.W.shape
    N = len(p.X)
    dist = p.similarity == "distance"
    sym = _symbol(p)

    intro = sheet.section("Problem")
    what = ("winner-take-all: only the winner learns" if p.radius == 0 else
            f"a 1-D self-organising map: the {k} neurons stand on a line, and the winner's neighbours within "
            f"radius {p.radius} learn with it")
    intro.text(f"{k} output neuron{'s' if k > 1 else ''} competing for {N} sample{'s' if N > 1 else ''} of "
               f"n = {n} input{'s' if n > 1 else ''}; {what}; η = {p.eta:g}, "
               f"{p.epochs} epoch{'s' if p.epochs > 1 else ''}.")
    intro.table(["j", "w_{j}"], [[j + 1, p.W[j]] for j in range(k)], title="Initial weights")
    intro.table(["sample", "x"], [[s + 1, x] for s, x in enumerate(p.X)], title="Samples")

    def rules(page):
        x = p.X[0]
        score(page, p, "j", x, p.W[0])
        if dist:
            page.math(r"c = \arg\min_{j} d_{j}", "winner: the nearest weight vector (a tie goes to the lowest j)")
        else:
            page.math(r"c = \arg\max_{j} s_{j}", "winner: the largest net input (a tie goes to the lowest j)")
        update(page, p, "j", x, p.W[0], label="update of the winner" + (
            "" if p.radius == 0 else f" and of every j with |j − c| ≤ {p.radius}"))
        page.text("Every other neuron keeps its weights (Δw_j = 0 if the neuron loses)."
                  + (" The scores are Euclidean distances, not squared (the squared distance picks the same "
                     "winner)." if dist else
                     " With dot products, a weight vector that is simply longer wins more often; the notes "
                     "(Haykin) keep the weights normalised for this rule, which nnsolve does not do for you."),
                  "note")
        if p.radius:
            page.text(f"Kohonen's map usually shrinks the neighbourhood and η as training goes on; here both "
                      f"stay fixed (radius {p.radius}, η = {p.eta:g}), and the neighbourhood is a window on "
                      "the line of neurons (every neighbour learns with the same η).", "note")
    sheet.rules("Rules", rules)

    def present(page, i, epoch, s, x, W):
        """One presentation, on a shown or the silent page: the scores, the winner, the updates.
        Returns (scores, winner, updated neurons, weights after)."""
        h = lambda *rest: ("history", i) + rest
        sheet.result(h("epoch"), epoch, exact=True)
        sheet.result(h("sample"), s, exact=True)
        scores = []
        for j in range(1, k + 1):
            label = (("Distances" if dist else "Net inputs (dot products)") + " to every neuron") if j == 1 else ""
            scores.append(ops.value(score(page, p, j, x, W[j - 1], h("scores", j), label)).item())
        c = winner(p, scores)
        sheet.result(h("winner"), c, exact=True)
        upd = neighbourhood(p, c, k)
        sheet.result(h("updated"), upd, exact=True)
        page.text(f"Winner: neuron {c} (${sym}_{{{c}}}$ is the " + ("smallest distance" if dist else
                                                                   "largest dot product") + ")" + ("" if p.radius == 0 else
                                 f"; with radius {p.radius} the neurons {', '.join(map(str, upd))} learn")
                  + ".", "result")
        new = W.copy()
        for j in range(1, k + 1):
            if j in upd:
                first = j == upd[0]
                label = ("Update: $w_{j} \\leftarrow w_{j} + \\eta (x - w_{j})$" if first else "")
                new[j - 1] = ops.value(update(page, p, j, x, W[j - 1], h("weights", j), label)).reshape(-1)
            else:
                new[j - 1] = sheet.result(h("weights", j), W[j - 1])
        if len(upd) < k:
            page.text("The other neurons keep their weights.", "note")
        return scores, c, upd, new

    def working(i, epoch, s, x, W):
        def build(page):
            page.table(["x"] + [f"w_{{{j}}}" for j in range(1, k + 1)] if k <= 4 else ["x"],
                       [[x] + [W[j] for j in range(k)] if k <= 4 else [x]])
            present(page, i, epoch, s, x, W)
        return build

    W = p.W.astype(float).copy()
    rows = []
    i = 0
    for epoch in range(1, p.epochs + 1):
        for s, x in enumerate(p.X, start=1):
            i += 1
            title_ = f"Epoch {epoch}, sample {s}" if p.epochs > 1 else f"Sample {s}"
            sheet.section(title_, level=3, detail=True, builder=working(i, epoch, s, x, W.copy()))
            scores, c, upd, W = present(sheet.silent, i, epoch, s, x, W)
            moved = W[[j - 1 for j in upd]]
            rows.append([epoch, s, x, np.array(scores), c, ", ".join(map(str, upd)),
                         moved[0] if len(upd) == 1 else moved])

    table = sheet.section("Training, sample by sample")
    table.table(["epoch", "sample", "x", _scores_head(sym, k), "winner", "updated", r"\text{new } w_{j}"],
                rows, note=None if p.radius == 0 else "With several neurons updated, one row w_j each, in order.")
    sheet.result(("weights",), W)

    end = sheet.section("Clusters with the final weights")
    end.text("Each sample goes to the neuron that wins it with the final weights.", "note")
    out = []
    for s, x in enumerate(p.X, start=1):
        scores = [ops.value(score(sheet.silent, p, j, x, W[j - 1])).item() for j in range(1, k + 1)]
        c = winner(p, scores)
        sheet.result(("clusters", s), c, exact=True)
        out.append([s, x, np.array(scores), c])
    end.table(["sample", "x", _scores_head(sym, k), "neuron"], out)
    end.table(["j", r"w_{j} \text{ (final)}"], [[j + 1, W[j]] for j in range(k)])
