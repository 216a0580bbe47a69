"""kind: attention — additive (Bahdanau, seed 004) and dot-product attention: the score of
every key, their softmax (the attention weights α) and the context, the weighted sum of
the values.

Notation is Bahdanau's for every type: the query s (with several queries, s_{i−1} is the
decoder state before output i), the keys h_j, the scores e_j (e_{ij}), the weights α_j
(α_{ij}) and the context c (c_i); the values are the keys h_j unless given (v_j).
"""
from __future__ import annotations

import functools
import operator
from dataclasses import dataclass

import numpy as np

from .. import nn, ops
from ..given import Field, title
from .softmax import normalise, shifted

SUMMARY = "additive (Bahdanau) or dot-product attention: every key's score, the softmax weights α, the context"
HEADLINE = "attention: scores, weights and context"

TYPES = ("additive", "dot", "scaled_dot", "general")
MAX_DIM = 4096
MAX_SCORES = 100_000      # queries × keys
MAX_WORK = 50_000_000     # the multiply-adds of all the scores
FULL_KEYS = 6             # up to this many keys, every key's score is written out; beyond, the first 3
SHOWN_KEYS = 3
SUM_FORM = 6              # the context as α_1 h_1 + … + α_k h_k up to this many keys; beyond, Hᵀ α
SHOW_GIVEN = 64           # the problem section lists a matrix up to this many numbers

_MATRIX = {"anyOf": [
    {"type": "array", "minItems": 1, "items": {"anyOf": [
        {"type": "array", "items": {"type": "number"}, "minItems": 1}, {"type": "number"}]}},
    {"type": "number"}]}

GIVEN = (
    title("Bahdanau attention"),
    Field("type", "choice", "additive: e_j = v_aᵀ tanh(W_a s + U_a h_j) | dot: e_j = s·h_j | scaled_dot: "
          "e_j = s·h_j / √d | general: e_j = sᵀ W_a h_j", choices=TYPES, example="additive"),
    Field("query", "vector", "the query (Bahdanau's decoder state s_{i−1})", notation="s", shape=("d_s",),
          instead=("queries",), example=[0.5, -0.2], what="the query s, a list of numbers"),
    Field("queries", "matrix", "several queries, one per row: the results get one row per query",
          shape=("n", "d_s"), default=None, template="comment", lead="or, several queries (instead of query):",
          example=[[0.5, -0.2], [0.1, 0.4]], what="a list of queries, one list of numbers each"),
    Field("keys", "matrix", "h_1 … h_k, one key per row (Bahdanau's annotations)", shape=("k", "d_h"),
          example=[[1, 0], [0, 1], [1, 1]], what="the keys h_1 … h_k, a list of rows"),
    Field("values", "matrix", "one value per key (row): c = Σ_j α_j v_j", shape=("k", "d_v"), default=None,
          default_text="the keys", template="comment", example=[[1, 2], [3, 4], [5, 6]],
          what="the values, one row per key"),
    Field("W", "matrix", "W_a: additive: a × d_s, on the query; general: d_s × d_h, e_j = sᵀ W_a h_j",
          default=None, example=[[0.1, 0.2], [0.3, -0.1]],
          note="required by additive and general; dot and scaled_dot have no weights",
          what="the weight matrix W_a, a list of rows"),
    Field("U", "matrix", "U_a (a × d_h), on the keys (additive only)", shape=("a", "d_h"), default=None,
          needs=(("type", "additive"),), example=[[0.4, 0.0], [-0.2, 0.5]],
          what="the weight matrix U_a, a list of rows"),
    Field("v", "vector", "v_a, the scoring vector (additive only; Bahdanau's v_a)", shape=("a",), default=None,
          needs=(("type", "additive"),), example=[1.0, -1.0], what="the scoring vector v_a, a list of numbers"),
)


@dataclass
class Problem:
    type: str
    S: np.ndarray          # n × d_s queries
    many: bool             # given as queries: results have a row per query
    H: np.ndarray          # k × d_h keys
    V: np.ndarray          # k × d_v values
    values_given: bool
    W: np.ndarray | None
    U: np.ndarray | None
    v: np.ndarray | None


def read(r, kind):
    typ = r.field("type")
    has_q, has_qs = r.has("query"), r.has("queries")
    if has_q and has_qs:
        raise r.error(("queries",), "give either query (one) or queries (one per row), not both")
    if not has_q and not has_qs:
        raise r.error((), "missing key 'query': expected the query s, a list of numbers (or queries: "
                          "a list of queries, one per row)")
    if has_q:
        S = r.vector("query", what="the query s, a list of numbers")[None, :]
    else:
        S = r.matrix("queries", what="a list of queries, one list of numbers (of one length) each")
    n, ds = S.shape
    H = r.matrix("keys", what="the keys h_1 … h_k, one list of numbers (of one length) per key")
    k, dh = H.shape
    if max(ds, dh) > MAX_DIM:
        raise r.error(("keys",), f"expected vectors of at most {MAX_DIM} numbers")
    if n * k > MAX_SCORES:
        raise r.error(("keys",), f"{n} queries × {k} keys is more than {MAX_SCORES} scores to write out")
    values_given = r.has("values")
    if values_given:
        V = r.matrix("values", what=f"the values, one row per key ({k} rows, one list of numbers each)")
        if V.shape[0] != k:
            raise r.error(("values",), f"expected one value per key: {k} rows (keys has {k}), got {V.shape[0]}")
        if V.shape[1] > MAX_DIM:
            raise r.error(("values",), f"expected values of at most {MAX_DIM} numbers")
    else:
        V = H
    qkey = "query" if has_q else "queries"
    W = U = v = None
    has_W, has_U, has_v = r.has("W"), r.has("U"), r.has("v")
    for key, there, users in (("W", has_W, ("additive", "general")), ("U", has_U, ("additive",)),
                              ("v", has_v, ("additive",))):
        if there and typ not in users:
            raise r.error((key,), f"{key} is used only by type {' or '.join(users)} "
                                  f"(this attention is type {typ}"
                                  + (", which has no weights)" if typ in ("dot", "scaled_dot") else ")"))
    if typ == "additive":
        for key, there, what in (("W", has_W, "W_a (a × d_s)"), ("U", has_U, "U_a (a × d_h)"),
                                 ("v", has_v, "v_a (a)")):
            if not there:
                raise r.error((), f"missing key '{key}': additive attention needs W, U and v; {key} is {what}")
        W = r.matrix("W", shape=(None, ds), what=f"W_a, a matrix with d_s = {ds} columns (one per component of "
                                                 f"the query; a rows, the size of the alignment layer)")
        a = W.shape[0]
        U = r.matrix("U", shape=(a, dh), what=f"U_a, an {a} × {dh} matrix (a = {a}, the rows of W; d_h = {dh}, "
                                              f"the length of each key)")
        v = r.vector("v", length=a, what=f"v_a, a vector of length a = {a} (the rows of W)")
        if a > MAX_DIM:
            raise r.error(("W",), f"expected at most {MAX_DIM} rows")
        work = n * k * a * (dh + 1) + n * a * ds
    elif typ == "general":
        if not has_W:
            raise r.error((), f"missing key 'W': general attention needs W_a ({ds} × {dh}), e_j = sᵀ W_a h_j")
        W = r.matrix("W", shape=(ds, dh), what=f"W_a, a {ds} × {dh} matrix (d_s = {ds}, the length of the "
                                               f"query; d_h = {dh}, the length of each key)")
        work = n * k * ds * (dh + 1)
    else:
        if ds != dh:
            raise r.error((qkey,), f"{typ} attention needs the query as long as each key: the keys have "
                                   f"{dh} components, the query {ds}")
        work = n * k * ds
    if work > MAX_WORK:
        raise r.error(("keys",), "too large a problem to write out")
    return Problem(typ, S, has_qs, H, V, values_given, W, U, v)


# -- the formulas ---------------------------------------------------------------------------

def _ij(i, j) -> str:
    """The subscript of query i (None: a single query) and key j."""
    if i is None:
        return f"{j}"
    return f"{i}{j}" if len(f"{i}{j}") == 2 else f"{i},{j}"


def _s(i) -> str:
    return "s" if i is None else f"s_{{{i - 1}}}" if isinstance(i, int) else "s_{i-1}"


def _score_path(p: Problem, i, j):
    return ("scores", i, j) if p.many else ("scores", j)


def _path(p: Problem, name: str, i):
    return (name, i) if p.many else (name,)


def query_term(page, p: Problem, i, s):
    """additive: W_a s, once per query; general: none."""
    if p.type != "additive":
        return None
    return page.step(None, "q" if i is None else f"q_{{{i}}}", page.sym("W_{a}", p.W) @ s,
                     "The query's projection, the same for every key", components=False)


def score_formula(page, p: Problem, s, h, Ws=None):
    """e = a(s, h) in one formula: v_aᵀ tanh(W_a s + U_a h), sᵀ h, sᵀ h / √d or sᵀ (W_a h).
    ``Ws``: the query term W_a s when computed already (additive)."""
    sT = page.sym(rf"{getattr(s, 'tex', 's')}^{{\top}}", ops.value(s)[None, :])
    if p.type == "additive":
        Ws = page.sym("W_{a}", p.W) @ s if Ws is None else Ws
        return page.sym(r"v_{a}^{\top}", p.v[None, :]) @ ops.tanh(Ws + page.sym("U_{a}", p.U) @ h)
    if p.type == "general":
        return sT @ (page.sym("W_{a}", p.W) @ h)
    dot = sT @ h
    if p.type == "scaled_dot":
        dot = dot / ops.sqrt(page.sym("d", float(p.H.shape[1])))
    return dot


def key_terms(page, p: Problem) -> list:
    """The keys' projections k_j (additive: U_a h_j; general: W_a h_j), the same for every
    query, so worked once: in full for the first keys, the rest in a table. dot products: []."""
    if p.type not in ("additive", "general"):
        return []
    k = p.H.shape[0]
    M = page.sym("U_{a}" if p.type == "additive" else "W_{a}", p.U if p.type == "additive" else p.W)
    out = []
    for j in range(1, k + 1):
        full = k <= FULL_KEYS or j <= SHOWN_KEYS
        where = page if full else page.sheet.silent
        kj = where.step(None, f"k_{{{j}}}", (M if full else ops.value(M)) @ where.sym(f"h_{{{j}}}", p.H[j - 1]),
                        f"Key $j = {j}$: its projection", components=False)
        out.append(ops.value(kj))
    if page.shown and k > FULL_KEYS:
        page.table(["j", "h_{j}", "k_{j}"], [[j, p.H[j - 1], out[j - 1]] for j in range(1, k + 1)],
                   title=f"Every key's projection (keys {SHOWN_KEYS + 1} … {k} worked as key 1)")
    return out


def score(page, p: Problem, i, j, s, q, kj):
    """The score e_j (e_ij) of key j on a shown or silent page, from the query s, its
    projection q (additive) and the key's projection k_j (additive, general) or the key h_j."""
    sub = _ij(i, j)
    e_tex = f"e_{{{sub}}}"
    path = _score_path(p, i, j)
    if p.type == "additive":
        t = page.step(None, f"t_{{{sub}}}", ops.tanh(q + kj), f"Key $j = {j}$: the alignment network's hidden "
                      "layer", components=False)
        return page.step(path, e_tex, page.sym(r"v_{a}^{\top}", p.v[None, :]) @ t, "its score", scalar=True)
    if p.type == "general":
        sT = page.sym(rf"{_s(i)}^{{\top}}", ops.value(s)[None, :])
        return page.step(path, e_tex, sT @ kj, f"Key $j = {j}$: its score", scalar=True)
    return page.step(path, e_tex, score_formula(page, p, s, kj), f"Key $j = {j}$: its score", scalar=True)


def context(page, p: Problem, i, alpha):
    """c = Σ_j α_j v_j (the values; the keys h_j unless given)."""
    k = p.H.shape[0]
    a = ops.value(alpha)
    vname = "v" if p.values_given else "h"
    c_tex = "c" if i is None else f"c_{{{i}}}"
    if k <= SUM_FORM:
        terms = [page.sym(rf"\alpha_{{{_ij(i, j)}}}", a[j - 1]) * page.sym(f"{vname}_{{{j}}}", p.V[j - 1])
                 for j in range(1, k + 1)]
        formula = functools.reduce(operator.add, terms)
    else:
        formula = page.sym(rf"{vname.upper()}^{{\top}}", p.V.T) @ alpha
    return page.step(_path(p, "context", i), c_tex, formula, "The context: the weighted sum of the values",
                     components=False)


def one_query(page, p: Problem, i, s_value, keys: list):
    """The working of one query: every key's score, the softmax, the context. ``i``: the
    query's number (None for a single query); ``keys``: the keys' projections (additive,
    general). Returns (scores, weights, context)."""
    k = p.H.shape[0]
    s = page.sym(_s(i), s_value)
    q = query_term(page, p, i, s)
    scores = np.empty(k)
    for j in range(1, k + 1):
        full = k <= FULL_KEYS or j <= SHOWN_KEYS
        where = page if full else page.sheet.silent
        name, value = (f"k_{{{j}}}", keys[j - 1]) if keys else (f"h_{{{j}}}", p.H[j - 1])
        args = (s, q) if where is page else (ops.value(s), _value(q))
        e = score(where, p, i, j, *args, where.sym(name, value))
        scores[j - 1] = float(ops.value(e))
    if page.shown and k > FULL_KEYS:
        page.table(["j", "e_{" + _ij(i, "j") + "}"], [[j, scores[j - 1]] for j in range(1, k + 1)],
                   title=f"Every key's score (keys {SHOWN_KEYS + 1} … {k} worked as key 1)")
    e_name = "e" if i is None else f"e_{{{i}}}"
    alpha, _, _ = normalise(page, page.sym(e_name, scores), shift=shifted(scores, "auto"), name=e_name,
                            out=r"\alpha" if i is None else rf"\alpha_{{{i}}}", path=_path(p, "weights", i),
                            exp_tex=lambda t: "E" if i is None else f"E_{{{i}}}", what="score",
                            sum_tex="S" if i is None else f"S_{{{i}}}")
    c = context(page, p, i, alpha)
    return scores, ops.value(alpha), ops.value(c)


def _value(x):
    return None if x is None else ops.value(x)


# -- solving --------------------------------------------------------------------------------

def _given_cell(a: np.ndarray):
    return a if a.size <= SHOW_GIVEN else " × ".join(map(str, a.shape))


def solve(p: Problem, sheet) -> None:
    n, ds = p.S.shape
    k, dh = p.H.shape
    intro = sheet.section("Problem")
    kind_text = {"additive": "additive (Bahdanau) attention", "dot": "dot-product attention",
                 "scaled_dot": "scaled dot-product attention", "general": "general (Luong) attention"}[p.type]
    intro.text(f"{kind_text[0].upper() + kind_text[1:]}: {n} quer{'ies' if n > 1 else 'y'} of length {ds}, "
               f"k = {k} key{'s' if k > 1 else ''} of length {dh}"
               + (f", values of length {p.V.shape[1]}" if p.values_given else " (the values are the keys)") + ".")
    rows = [[j, p.H[j - 1]] + ([p.V[j - 1]] if p.values_given else []) for j in range(1, k + 1)]
    intro.table(["j", "h_{j}"] + (["v_{j}"] if p.values_given else []), rows[:200],
                title="Keys" + (" and values" if p.values_given else ""),
                note=f"{k - 200} more rows in the problem file." if k > 200 else None)
    if p.many:
        intro.table(["i", "s_{i-1}"], [[i, p.S[i - 1]] for i in range(1, min(n, 200) + 1)], title="Queries")
    else:
        intro.table(["s"], [[p.S[0]]], title="Query")
    if p.type == "additive":
        intro.table(["W_{a}", "U_{a}", "v_{a}"], [[_given_cell(p.W), _given_cell(p.U), p.v]],
                    title=f"Weights of the alignment network (a = {p.W.shape[0]})")
    elif p.type == "general":
        intro.table(["W_{a}"], [[_given_cell(p.W)]], title="Weights")

    softmax = nn.activation("softmax")

    def rules(page):
        s = page.sym(_s("i") if p.many else "s", p.S[0])
        ij = "ij" if p.many else "j"
        page.step(None, f"e_{{{ij}}}", score_formula(page, p, s, page.sym("h_{j}", p.H[0])),
                  "score" + (" (the alignment model a(s, h_j), a small feed-forward network)"
                             if p.type == "additive" else ""))
        e = "e_{i}" if p.many else "e"
        q, t = ("q_{i}", "t_{ij}") if p.many else ("q", "t_{j}")
        once = " (once, for every query)" if p.many else ""
        if p.type == "additive":
            page.text(f"The working computes the score in parts: the query's projection ${q} = W_{{a}} {s.tex}$, each "
                      f"key's projection $k_{{j}} = U_{{a}} h_{{j}}${once}, the hidden layer "
                      f"${t} = {nn.activation('tanh').tex}({q} + k_{{j}})$ and the score $e_{{{ij}}} = v_{{a}}^{{\\top}} {t}$.", "note")
        elif p.type == "general":
            page.text(f"The working computes each key's projection $k_{{j}} = W_{{a}} h_{{j}}${once} "
                      f"and the score $e_{{{ij}}} = {s.tex}^{{\\top}} k_{{j}}$.", "note")
        ik = "ik" if p.many else "k"
        definition = softmax.definition.replace("v_{j}", f"e_{{{ij}}}").replace("v_{k}", f"e_{{{ik}}}")
        page.math(rf"\alpha_{{{ij}}} = {softmax.tex}({e})_{{j}} = {definition}", "attention weights")
        vname = "v" if p.values_given else "h"
        page.math(rf"c{'_{i}' if p.many else ''} = \sum_{{j=1}}^{{{k}}} \alpha_{{{ij}}} {vname}_{{j}}",
                  "context")
        page.text(r"Every $\alpha_{" + ij + r"} \geq 0$ and $\sum_{j} \alpha_{" + ij + r"} = 1$ (the sum runs over the "
                  r"keys $j$, for each query), so the context is a weighted average of the values.", "note")
        if p.type in ("dot", "scaled_dot"):
            page.text("In the Transformer's notation the query $s$ is $q$, the keys $h_{j}$ are $k_{j}$ and the values "
                      + ("$v_{j}$" if p.values_given else "are the keys") + "; "
                      + ("$d$ is the length of a key (torch's scaled_dot_product_attention divides by $\\sqrt{d}$ too)."
                         if p.type == "scaled_dot" else "scaled_dot divides each score by $\\sqrt{d}$."), "note")
    sheet.rules("Rules", rules)

    if not p.many:
        page = sheet.section("Scores, attention weights and context")
        scores, alpha, c = one_query(page, p, None, p.S[0], key_terms(page, p))
        end = sheet.section("Result")
        end.table(["j", "e_{j}", r"\alpha_{j}"], [[j, scores[j - 1], alpha[j - 1]] for j in range(1, k + 1)],
                  note=f"The weights sum to {float(np.sum(alpha)):.12g}.")
        end.table(["c"], [[c]])
        return

    keys = []
    if p.type in ("additive", "general"):
        keys = key_terms(sheet.section("The keys' projections, the same for every query"), p)
    S_all, A_all, C_all = [], [], []
    for i in range(1, n + 1):
        s_value = p.S[i - 1]

        def build(page, i=i, s_value=s_value):
            one_query(page, p, i, s_value, keys)
        sheet.section(f"Query i = {i}: $s_{{{i - 1}}}$", level=3, detail=True, builder=build)
        scores, alpha, c = one_query(sheet.silent, p, i, s_value, keys)
        S_all.append(scores)
        A_all.append(alpha)
        C_all.append(c)
    summary = sheet.section("Summary over the queries")
    cols = [f"j = {j}" for j in range(1, min(k, 12) + 1)]
    summary.table(["i"] + cols, [[i] + list(S_all[i - 1][:12]) for i in range(1, n + 1)],
                  title="Scores $e_{ij}$" + (" (the first 12 keys)" if k > 12 else ""))
    summary.table(["i"] + cols, [[i] + list(A_all[i - 1][:12]) for i in range(1, n + 1)],
                  title=r"Attention weights $\alpha_{ij}$ (each row sums to 1)")
    summary.table(["i", "c_{i}"], [[i, C_all[i - 1]] for i in range(1, n + 1)], title="Contexts")
