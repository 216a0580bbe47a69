"""kind: nearest_neighbour — memory-based learning: the k-nearest-neighbour rule.

The training samples (x_i, d_i) are kept in memory; a query x is classified by the k stored
samples nearest to it (Euclidean or Manhattan distance), by a majority vote of their labels.
Equal distances keep the samples' order; a tied vote goes to the class of the nearest
neighbour among the tied classes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import ops
from ..given import Field, title

SUMMARY = "memory-based learning: the distances to every stored sample, the k nearest and their vote"
HEADLINE = "nearest-neighbour classification (memory-based learning)"

METRICS = ("euclidean", "manhattan")
MAX_SAMPLES = 10_000
MAX_QUERIES = 1_000
MAX_WORK = 2_000_000  # queries × samples × n
SHOW_QUERIES = 3      # queries worked out in full before the rest are summarised (the renderer's head)

_LABEL = {"type": ["string", "number"]}

GIVEN = (
    title("Nearest neighbour"),
    Field("samples", "list", "the stored samples: x and its class label d", flow=True,
          what="a list of stored samples {x: [...], d: label}",
          example=[{"x": [1, 2], "d": "A"}, {"x": [3, 4], "d": "B"}, {"x": [1, 1], "d": "A"}],
          fields=(Field("x", "vector", "the stored input", shape=("n",), notation="x_{i}"),
                  Field("d", "any", "its class label: a name or a number", schema=_LABEL,
                        what="the class label d: a name or a number"))),
    Field("queries", "list", "the inputs to classify", of="vector", shape=("Q", "n"), example=[[2, 2], [4, 4]],
          what="a list of query vectors, each as long as the stored x"),
    Field("k", "integer", "majority vote of the k nearest; a tied vote goes to the class of the nearest among "
          "the tied", default=1, minimum=1, example=1),
    Field("metric", "choice", "euclidean: √(Σ (x_i − z_i)²) | manhattan: Σ |x_i − z_i|", choices=METRICS,
          default="euclidean", example="euclidean"),
)


@dataclass
class Problem:
    X: np.ndarray     # N × n stored inputs
    labels: list      # N labels, as written
    Q: np.ndarray     # queries
    k: int
    metric: str


def _describe(value) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "a mapping"
    if value is None:
        return "nothing (null)"
    return repr(value)


def read(r, kind):
    items = r.items("samples", what=r.fields["samples"].what)
    if len(items) > MAX_SAMPLES:
        raise r.error(("samples",), f"expected at most {MAX_SAMPLES} samples, got {len(items)}")
    X, labels = [], []
    n = None
    for path, item in items:
        s = r.element(path, item)
        if n is None:
            x = s.vector("x", what="the stored input x, a list of numbers")
            n = len(x)
        else:
            x = s.vector("x", length=n, what=f"an input vector of length {n} (as long as the first sample's x)")
        d = s.raw("d", what="the class label d: a name or a number")
        if isinstance(d, bool):
            raise s.error(path + ("d",), f"expected the class label d: a name or a number, got {_describe(d)} "
                                         f"(YAML reads yes/no/true/false as booleans: write the label in quotes, "
                                         f"d: \"yes\")")
        if isinstance(d, (list, dict)):
            raise s.error(path + ("d",), f"expected the class label d: a name or a number, got {_describe(d)}")
        if isinstance(d, float) and not np.isfinite(d):
            raise s.error(path + ("d",), f"expected the class label d: a name or a number, got {d}")
        s.finish()
        X.append(x)
        labels.append(d)
    raw_q = r.raw("queries", what=r.fields["queries"].what)
    if isinstance(raw_q, list) and raw_q and not any(isinstance(v, list) for v in raw_q) and n > 1 \
            and len(raw_q) == n:
        Q = r.array_value(raw_q, ("queries",), ndim=1, shape=(n,))[None, :]  # one query written flat
    else:
        Q = []
        for path, v in r.items("queries", what=r.fields["queries"].what):
            Q.append(r.array_value(v, path, ndim=1, shape=(n,),
                                   what=f"a query vector of length {n} (as long as the stored x)"))
        Q = np.array(Q)
    if len(Q) > MAX_QUERIES:
        raise r.error(("queries",), f"expected at most {MAX_QUERIES} queries, got {len(Q)}")
    if len(Q) * len(X) * n > MAX_WORK:
        raise r.error(("queries",), f"{len(Q)} queries × {len(X)} samples × {n} inputs is too large a problem to "
                                    f"write out (at most {MAX_WORK})")
    k, metric = r.values("k", "metric")
    if k > len(X):
        raise r.error(("k",), f"expected k ≤ {len(X)}, the number of stored samples, got {k}")
    return Problem(np.array(X), labels, Q, k, metric)


# -- the formulas ---------------------------------------------------------------------------------

def _abs(v):
    return np.abs(v)


def distance(page, p: Problem, i, z, x, path=None, label=""):
    """d(z, x_i): √(Σ_l (z_l − x_il)²) or Σ_l |z_l − x_il|."""
    zs, xs = page.sym("z_{l}", z), page.sym(f"x_{{{i}l}}", x)
    if p.metric == "euclidean":
        f = ops.sqrt(ops.total((zs - xs) ** 2, "l"))
    else:
        f = ops.total(ops.func(r"\operatorname{abs}", _abs, zs - xs), "l")
    return page.step(path, f"d(z, x_{{{i}}})", f, label, scalar=True)


def nearest(p: Problem, dists) -> list:
    """The k nearest sample numbers (from 1), nearest first; equal distances keep the samples' order."""
    order = sorted(range(len(dists)), key=lambda i: (dists[i], i))
    return [i + 1 for i in order[:p.k]]


def vote(p: Problem, neighbours) -> tuple:
    """(the winning label, {label: votes} in order of first appearance): a majority vote; a tie goes
    to the class of the nearest neighbour among the tied classes."""
    counts: dict = {}
    keys = []
    for i in neighbours:
        lab = p.labels[i - 1]
        key = _key(lab)
        if key not in counts:
            counts[key] = 0
            keys.append((key, lab))
        counts[key] += 1
    top = max(counts.values())
    for key, lab in keys:  # nearest first: the first class with the top count wins a tie
        if counts[key] == top:
            return lab, {lab_: counts[k_] for k_, lab_ in keys}


def _key(label):
    """Labels 1 and 1.0 are one class; 'A' and 1 are not."""
    return ("num", float(label)) if isinstance(label, (int, float)) else ("text", str(label))


def _text(label) -> str:
    if isinstance(label, float) and label.is_integer():
        return str(int(label)) if abs(label) < 1e15 else f"{label:g}"
    return str(label)


# -- the working ----------------------------------------------------------------------------------

def solve(p: Problem, sheet) -> None:
    N, n = p.X.shape
    Q = len(p.Q)

    intro = sheet.section("Problem")
    intro.text(f"{N} stored sample{'s' if N > 1 else ''} $(x_{{i}}, d_{{i}})$ of n = {n} input{'s' if n > 1 else ''}; "
               f"{Q} quer{'ies' if Q > 1 else 'y'} $z$ to classify by the "
               + ("nearest neighbour" if p.k == 1 else f"{p.k} nearest neighbours and a majority vote")
               + f", with the {p.metric} distance.")
    intro.table(["i", "x_{i}", "d_{i}"], [[i + 1, x, _text(d)] for i, (x, d) in enumerate(zip(p.X, p.labels))],
                title="Stored samples (the memory)")
    intro.table(["query", "z"], [[q + 1, z] for q, z in enumerate(p.Q)], title="Queries")

    def rules(page):
        distance(page, p, "i", p.Q[0], p.X[0])
        if p.k == 1:
            page.math(r"i^{*} = \arg\min_{i} d(z, x_{i}), \quad \text{class of } z = d_{i^{*}}",
                      "the nearest neighbour's class (a tie in distance goes to the lower i)")
        else:
            page.text(f"The {p.k} stored samples nearest to z (equal distances keep the samples' order) vote "
                      "with their labels; the class with most votes wins, and a tied vote goes to the class of "
                      "the nearest neighbour among the tied classes.", "note")
        page.text("Memory-based learning (Haykin): training only stores the samples; all the work is done "
                  "when a query comes.", "note")
    sheet.rules("Rules", rules)

    def classify(page, q, z):
        """One query on a shown or the silent page: the distances, the neighbours, the vote."""
        dists = []
        for i, x in enumerate(p.X, start=1):
            label = "Distance to every stored sample" if i == 1 else ""
            dists.append(ops.value(distance(page, p, i, z, x, ("distances", q, i), label)).item())
        nb = nearest(p, dists)
        sheet.result(("neighbours", q), nb, exact=True)
        pred, counts = vote(p, nb)
        sheet.result(("prediction", q), pred, exact=True)
        if page.shown:
            ranked = sorted(range(N), key=lambda i: (dists[i], i))
            page.table(["rank", "i", "d(z, x_{i})", "class d_{i}"],
                       [[r + 1, i + 1, dists[i], _text(p.labels[i]) + (" ← neighbour" if r < p.k else "")]
                        for r, i in enumerate(ranked[:max(p.k + 2, min(N, 5))])],
                       title="Stored samples by distance" + (" (the nearest)" if N > max(p.k + 2, 5) else ""))
            if p.k < N and dists[ranked[p.k - 1]] == dists[ranked[p.k]]:
                page.text(f"Samples {ranked[p.k - 1] + 1} and {ranked[p.k] + 1} are equally far from z: "
                          "equal distances keep the samples' order, so the lower-numbered one is taken.", "note")
            if p.k == 1:
                page.text(f"Nearest neighbour: sample {nb[0]} ($d(z, x_{{{nb[0]}}})$ is the smallest distance), "
                          f"of class {_text(pred)}.", "result")
            else:
                page.table(["class", "votes"], [[_text(c), v] for c, v in counts.items()], title="The vote")
                top = max(counts.values())
                tied = [c for c, v in counts.items() if v == top]
                why = (f"{top} of {p.k} votes" if len(tied) == 1 else
                       f"a tie at {top} vote{'s' if top > 1 else ''} each between classes "
                       f"{', '.join(_text(c) for c in tied)}, won by the class of the nearest of them")
                page.text(f"The {p.k} nearest: samples {', '.join(map(str, nb))}; prediction: class "
                          f"{_text(pred)} ({why}).", "result")
        return dists, nb, pred

    rows = []
    for q, z in enumerate(p.Q, start=1):
        def build(page, q=q, z=z):
            classify(page, q, z)
        sheet.section(f"Query {q}: z = {_vector_text(z)}", level=3, detail=True, builder=build)
        dists, nb, pred = classify(sheet.silent, q, z)
        rows.append([q, z, ", ".join(map(str, nb)), _text(pred)])
    end = sheet.section("Result")
    end.table(["query", "z", "nearest" if p.k == 1 else f"{p.k} nearest", "prediction"], rows)


def _vector_text(z) -> str:
    return "[" + ", ".join(f"{v:g}" for v in z) + "]"
