"""The backward pass of the gated cells (kinds lstm and gru; recurrent.md).

A loss on the outputs (``target``, ``loss``, optionally an ``output_layer``
ŷ_t = g(V h_t + c)) or gradients given from above (``upstream``) start a backward pass
through time, worked as Aidan Gomez's "Backpropogating an LSTM: A Numerical Example" and
the notes' BPTT do it: per time step, from t = T down to 1,

    ∂L/∂h_t = (from the output at t) + Δh_t (back from step t + 1) (+ the upstream part)
    lstm:  ∂L/∂c_t = ∂L/∂h_t ⊙ o_t ⊙ tanh'(c_t) + Δc_t,   Δc_{t−1} = ∂L/∂c_t ⊙ f_t
           δo_t = ∂L/∂h_t ⊙ tanh(c_t) ⊙ σ',  δi_t = ∂L/∂c_t ⊙ g_t ⊙ σ',
           δg_t = ∂L/∂c_t ⊙ i_t ⊙ tanh',     δf_t = ∂L/∂c_t ⊙ c_{t−1} ⊙ σ'
    Δh_{t−1} = Σ_gates U_*ᵀ δ*_t,  ∂L/∂x_t = Σ_gates W_*ᵀ δ*_t,
    ∂L/∂W_* = Σ_t δ*_t x_tᵀ,  ∂L/∂U_* = Σ_t δ*_t h_{t−1}ᵀ,  ∂L/∂b_* = Σ_t δ*_t.

Each step's formulas are written once (``lstm_back``, ``gru_back``) and run on the silent
page (every step, for the results) and on a builder page (the working of a step, made only
when shown), so the cost stays linear in T and the two agree bit for bit.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from .. import nn, ops
from ..expr import Add, Sym
from ..given import REQUIRED, Field

OUTPUT_ACTS = ["sigmoid", "softmax", "linear", "tanh"]
LOSSES = ["half_sse", "mse", "bce", "cross_entropy"]
SHOWN_BACK = 3     # the backward steps t = T, T − 1, T − 2 are always shown; the others with --full
SHOWN_OUT = 3      # output steps written out (the first ones, and the last); the others are in a table
SUM_TERMS = 6      # a total over up to this many steps is written out term by term
OUTER_SHOWN = 16   # per-step parts (outer products) up to this many entries are steps of their own
SMALL = 4          # vectors up to this long are shown in full in the tables, longer ones by their norm
QUICK_FROM = 8     # an LSTM of more steps runs its silent steps as loops on numbers (on a quick sheet)
SIG = nn.activation("sigmoid")
TANH = nn.activation("tanh")

_TARGET = {"anyOf": [{"type": "number"},
                     {"type": "array", "minItems": 1, "items": {"anyOf": [
                         {"type": "number"}, {"type": "array", "minItems": 1, "items": {"type": "number"}}]}}]}


# -- the givens ------------------------------------------------------------------------------

def head_fields(lstm: bool) -> tuple:
    """The keys of the backward pass (recurrent.md), shared by lstm and gru."""
    up = (Field("h", "matrix", "∂L/∂h_t arriving from above, one row per time step", shape=("T", "m"),
                default=None, default_text="zeros"),)
    if lstm:
        up += (Field("c", "vector", "∂L/∂c_T arriving from a later cell", shape=("m",), default=None,
                     default_text="zeros"),)
    return (
        Field("output", "choice", "last (a target for t = T) | every (a target per step)",
              choices=("last", "every"), default="last", example="every", template="comment",
              lead="The backward pass (optional): a target and a loss, or upstream gradients."),
        Field("output_layer", "mapping", "optional: ŷ_t = g(V h_t + c); without it ŷ_t = h_t",
              default=None, template="comment", what="a mapping {V: …, c: …, activation: …}",
              example={"V": [[0.5]], "c": [0], "activation": "linear"},
              fields=(Field("V", "matrix", "hidden → output", shape=("k", "m")),
                      Field("c", "vector", "output bias", shape=("k",), default=None, default_text="zeros"),
                      Field("activation", "choice", "g, the output activation", choices=OUTPUT_ACTS,
                            default=None, default_text="from the loss: bce → sigmoid, cross_entropy → "
                                                       "softmax, half_sse / mse → linear"))),
        Field("target", "any", "output: last → the target of ŷ_T; output: every → a list of T targets",
              default=None, template="comment", example=[0.5, 1.25], schema=_TARGET,
              note="a target is a vector of length k (a scalar when k = 1; with softmax also a class "
                   "index 0 … k−1)"),
        Field("loss", "choice", "the loss, summed over the steps with a target", choices=LOSSES, default=None,
              default_text="half_sse (bce with a sigmoid, cross_entropy with a softmax output layer)",
              example="half_sse", template="comment"),
        Field("learning_rate", "number", "optional: also the updated weights w ← w − η ∂L/∂w",
              notation=r"\eta", default=None, positive=True, example=0.1, template="comment",
              what="the learning rate η, a positive number"),
        Field("upstream", "mapping", "instead of target/loss: the gradients arriving from above",
              default=None, template="hide", what="a mapping {h: [[…], …]" + (", c: […]}" if lstm else "}"),
              example={"h": [[0.1], [0.2]]}, fields=up),
    )


# -- reading -----------------------------------------------------------------------------------

@dataclass
class Head:
    """What starts the backward pass: a loss on the outputs, or upstream gradients."""
    output: str = "last"
    V: np.ndarray | None = None   # the output layer (None: ŷ_t = h_t)
    c: np.ndarray | None = None
    act: str | None = None
    targets: list | None = None   # one array of length k per step with a target
    labels: list | None = None
    loss: str | None = None
    eta: float | None = None
    up_h: np.ndarray | None = None  # T × m
    up_c: np.ndarray | None = None  # m (lstm)

    @property
    def backward(self) -> bool:
        return self.targets is not None or self.up_h is not None or self.up_c is not None

    @property
    def layer(self) -> bool:
        return self.V is not None

    def steps(self, T: int) -> list:
        """The time steps (1-based) with a target."""
        if self.targets is None:
            return []
        return list(range(1, T + 1)) if self.output == "every" else [T]


def _what(value) -> str:
    return "a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict) else "a single value"


def read_head(r, T: int, m: int, lstm: bool) -> Head:
    keys = ("output", "output_layer", "target", "loss", "learning_rate", "upstream")
    has = {k: r.has(k) for k in keys}
    if has["upstream"]:
        for k in ("target", "loss", "output_layer", "output"):
            if has[k]:
                raise r.error(("upstream",), f"upstream gives the gradients arriving from above instead of a "
                                             f"target and a loss, but the file has {k} too: give one or the other")
        up = r.sub("upstream", what=r.fields["upstream"].what)
        up_h = up.matrix("h", None, shape=(T, m),
                         what=f"a T × m = {T} × {m} matrix: for each time step t the gradient ∂L/∂h_t "
                              f"arriving from above (T = {T} rows of length m = {m})")
        up_c = None
        if lstm:
            up_c = up.vector("c", None, length=m,
                             what=f"∂L/∂c_T arriving from a later cell, a vector of length m = {m}")
        up.finish()
        if up_h is None and up_c is None:
            raise r.error(("upstream",), "expected h: [[…], …] (T × m)" + (" and/or c: […] (length m)" if lstm else ""))
        return Head(up_h=up_h if up_h is not None else np.zeros((T, m)),  # only c given: nothing from above at h
                    up_c=up_c, eta=r.field("learning_rate"))
    if not has["target"]:
        for k in ("loss", "output_layer", "output", "learning_rate"):
            if has[k]:
                if k != "output_layer":
                    r.field(k)  # a malformed value is named first
                raise r.error((k,), f"{k} belongs to the backward pass, which needs a target (target: …) "
                                    "or the gradients from above (upstream: {h: …})")
        return Head()
    output = r.field("output")
    loss = r.field("loss")
    V = c = act = None
    if has["output_layer"]:
        ol = r.sub("output_layer", what=r.fields["output_layer"].what)
        V = ol.matrix("V", what=f"V, the hidden → output weights, a k × m matrix with m = {m} columns")
        if V.shape[1] != m:
            raise ol.error(ol.path + ("V",), f"expected V, the hidden → output weights, to have m = {m} "
                                             f"column{'s' if m > 1 else ''} (one per hidden unit), got "
                                             f"{V.shape[0]} × {V.shape[1]}")
        k = V.shape[0]
        c = ol.vector("c", np.zeros(k), length=k,
                      what=f"c, the output bias, a vector of length k = {k} (the rows of V)")
        given_act = ol.has("activation")
        act = ol.field("activation")
        ol.finish()
        if act is None:
            if loss == "bce" or (loss == "cross_entropy" and k == 1):
                act = "sigmoid"
            elif loss == "cross_entropy":
                act = "softmax"
            elif loss in ("half_sse", "mse") or loss is None:
                act = "linear"
        if act == "softmax" and k < 2:
            raise r.error(("output_layer", "activation") if given_act else ("output_layer", "V"),
                          "softmax needs k ≥ 2 outputs (V has 1 row, and the softmax of one number is "
                          "always 1); use activation: sigmoid for a single output")
        if loss is None:
            loss = {"sigmoid": "bce", "softmax": "cross_entropy"}.get(act, "half_sse")
        if loss in ("bce", "cross_entropy") and act not in ("sigmoid", "softmax"):
            raise r.error(("loss",), f"the {nn.loss(loss).title} loss needs outputs between 0 and 1: use "
                                     f"activation: sigmoid or softmax in output_layer (it is {act}), or "
                                     "loss: half_sse / mse")
    else:
        k = m
        if loss in ("bce", "cross_entropy"):
            raise r.error(("loss",), f"without output_layer the output is ŷ_t = h_t, which lies in (−1, 1): "
                                     f"the {nn.loss(loss).title} loss needs an output layer with a sigmoid or "
                                     "softmax (output_layer: {V: …, activation: sigmoid}); or use half_sse / mse")
        loss = loss or "half_sse"
    raw = r.raw("target")
    if output == "every":
        if not isinstance(raw, list) or len(raw) != T:
            got = f"{len(raw)}" if isinstance(raw, list) else _what(raw)
            raise r.error(("target",), f"expected a list of T = {T} targets, one per time step (output: every), "
                                       f"got {got}")
        pairs = [(("target", i), v) for i, v in enumerate(raw)]
        steps = range(1, T + 1)
    else:
        pairs = [(("target",), raw)]
        steps = [T]
    targets, labels = [], []
    for t, (path, value) in zip(steps, pairs):
        y, label = _target(r, value, path, k, act, loss, f"the target y_{t} of time step {t}")
        targets.append(y)
        labels.append(label)
    return Head(output, V, c, act, targets, labels, loss, r.field("learning_rate"))


def _target(r, value, path, k: int, act, loss: str, what: str):
    if not isinstance(value, (list, dict)) and act == "softmax":
        x = r.array_value(value, path, ndim=1, what=f"{what}: a class index 0 … {k - 1} or a vector of length {k}")[0]
        if not float(x).is_integer() or not 0 <= x < k:
            raise r.error(path, f"expected {what} as a class index, a whole number from 0 to {k - 1} "
                                f"(classes are counted from 0), got {x:g}")
        y = np.zeros(k)
        y[int(x)] = 1.0
        return y, f"class {int(x)}"
    source = "the rows of V" if act is not None else "ŷ_t = h_t, one per hidden unit"
    y = r.array_value(value, path, ndim=1, shape=(k,),
                      what=f"{what}: a vector of length k = {k} ({source})" + (" or a class index" if act == "softmax" else ""))
    if loss in ("bce", "cross_entropy") and (np.any(y < 0) or np.any(y > 1)):
        raise r.error(path, f"expected {what} with components between 0 and 1 for the {nn.loss(loss).title} "
                            f"loss, got {', '.join(f'{v:g}' for v in y)}")
    if loss == "cross_entropy" and act == "softmax" and abs(y.sum() - 1.0) > 1e-9:
        raise r.error(path, f"expected {what} to be a probability distribution (summing to 1) for softmax "
                            f"with cross-entropy, got components summing to {y.sum():g}")
    return y, None


# -- the size of the work ----------------------------------------------------------------------

def back_work(w, head: Head, T: int, n: int, m: int, gates: int):
    """The forward work w, with the backward pass added (per step about three times the forward)."""
    if not head.backward:
        return w
    from .. import work as W
    k = head.V.shape[0] if head.layer else m
    per = gates * m * (n + m + 1)
    return replace(w, what=w.what.replace(" over T", ", forwards and backwards, over T", 1),
                   steps=w.steps + T * (6 + 4 * gates), numbers=w.numbers + 4 * T * per,
                   flops=w.flops + 6 * T * per + 2 * T * k * m, results=w.results + T * (8 * m + n) + 2 * per,
                   tables=w.tables + [(T, 8 * W.cell(m) + 1)] * (gates + 2),
                   shown=w.shown + SHOWN_BACK * 20 * W.step(m * max(n, m), 0))


# -- formulas --------------------------------------------------------------------------------

def dd(num: str, den: str) -> str:
    return r"\frac{\partial " + num + r"}{\partial " + den + "}"


def at(t, d: int = 0) -> str:
    """The index t + d as text: 3, or t-1 in the rules."""
    if isinstance(t, str):
        return t if d == 0 else f"{t}{d:+d}"
    return str(t + d)


def part_tex(key_tex: str, t) -> str:
    return dd("L", key_tex) + (r"\Big|_{t}" if t == "t" else r"\Big|_{t=" + str(t) + "}")


def _sum(terms):
    out = terms[0]
    for q in terms[1:]:
        out = out + q
    return out


def _step(page, path, tex, formula, label="", **kw):
    """page.step; on the silent page, for a quantity with no result path and nothing to round or
    replace, just its value (what settling would give, without the bookkeeping)."""
    if path is None and not page.shown and page.keep and page.sheet.rounding is None and not page.sheet.given:
        return ops.value(formula).reshape(()) if kw.get("scalar") else ops.value(formula)
    return page.step(path, tex, formula, label, **kw)


def outer_part(page, tex: str, a, b):
    """a bᵀ, the part of a weight gradient at one step: a step of its own when small enough
    to read, else settled and named."""
    e = ops.outer(a, b)
    if not page.shown and page.sheet.rounding is None and not page.sheet.given:
        return e  # what settling would give (no rounding, nothing replaced), without its cost
    if page.shown and e.size > OUTER_SHOWN:
        return Sym(tex, page.sheet.settle(None, e.value))
    return page.step(None, tex, e, "")


def output_error(page, t, head: Head, yh, y, o):
    """∂L/∂o_t (output layer) or ∂L/∂ŷ_t (ŷ_t = h_t): the error the output sends back."""
    rec = nn.loss(head.loss)
    if not head.layer:
        return _step(page, None, dd("L", rf"\hat{{y}}_{{{t}}}"), rec.grad(y, yh),
                         f"Error at the output ({rec.title})")
    g = nn.activation(head.act)
    k = head.V.shape[0]
    lhs = dd("L", f"o_{{{t}}}")
    if rec.canonical == head.act:
        return _step(page, None, lhs, yh - y, "Error at the output",
                         note=f"$g = {g.tex}$ with the {rec.title}: the derivative of g cancels against that of "
                              r"the loss, so $\partial L/\partial o = \hat{y} - y$")
    gy = _step(page, None, dd("L", rf"\hat{{y}}_{{{t}}}"), rec.grad(y, yh), "Derivative of the loss by the output")
    if head.act == "softmax":
        s = _step(page, None, f"s_{{{t}}}", ops.total(ops.times(yh, gy, k)),
                      "Through the softmax: first the weighted sum ŷᵀ ∂L/∂ŷ", scalar=True)
        return _step(page, None, lhs, ops.times(yh, gy - s, k), "then ∂L/∂o = ŷ ⊙ (∂L/∂ŷ − s)")
    if g.identity_map:
        return _step(page, None, lhs, gy, "Linear output: ∂L/∂o = ∂L/∂ŷ")
    return _step(page, None, lhs, ops.times(ops.prime(g, o, yh), gy, k), f"Through $g = {g.tex}$")


@dataclass
class StepIn:
    """The numbers one backward step uses (forward values of step t, what comes back from t + 1)."""
    x: np.ndarray
    h_prev: np.ndarray
    gates: dict                 # lstm: f, i, g, o, c, c_prev; gru: z, r, h_tilde
    out: tuple | None = None    # (ŷ_t, y_t, o_t) at a step with a target
    carry_h: np.ndarray | None = None
    carry_c: np.ndarray | None = None
    up_h: np.ndarray | None = None
    up_c: np.ndarray | None = None


def _dh(page, t, head: Head, q: StepIn, wide: bool, V):
    """∂L/∂h_t from its sources; returns (∂L/∂h_t, the output error or None)."""
    terms, err = [], None
    if q.out is not None:
        yh, y, o = (page.sym(rf"\hat{{y}}_{{{t}}}", q.out[0]), page.sym(f"y_{{{t}}}", q.out[1]),
                    page.sym(f"o_{{{t}}}", q.out[2]))
        err = output_error(page, t, head, yh, y, o)
        terms.append(V.T @ err if V is not None else err)
    if q.carry_h is not None:
        terms.append(page.sym(rf"\Delta h_{{{t}}}", q.carry_h))
    if q.up_h is not None:
        terms.append(page.sym(rf"\Delta^{{\mathrm{{up}}}} h_{{{t}}}", q.up_h))
    src = [w for w, here in (("the output", q.out is not None), ("step t + 1", q.carry_h is not None),
                             ("above (upstream)", q.up_h is not None)) if here]
    dh = page.step(("dL_dh", t) if not isinstance(t, str) else None, dd("L", f"h_{{{t}}}"), _sum(terms),
                   "Error at the hidden state, from " + " and ".join(src), substitute=not wide)
    return dh, err


def lstm_back(page, t, head: Head, nums, q: StepIn, wide: bool = False, parts: bool = True):
    """One backward step of the LSTM (Gomez's order): ∂L/∂h_t, ∂L/∂c_t, δg, δi, δf, δo, the
    parts of the weight gradients, ∂L/∂x_t and what goes back to step t − 1.
    ``nums``: (W, U, b) dicts by gate and V (or None)."""
    Wd, Ud, _, Vv = nums
    p = at(t, -1)
    path = (lambda name: (name, t)) if not isinstance(t, str) else (lambda name: None)
    g_ = q.gates
    if page.shown:  # named quantities for the formulas (on the silent page they are the arrays themselves)
        W = {k: page.sym(f"W_{k}", v) for k, v in Wd.items()}
        U = {k: page.sym(f"U_{k}", v) for k, v in Ud.items()}
        V = page.sym("V", Vv) if Vv is not None and q.out is not None else None
        f, i, g, o = (page.sym(f"{k}_{{{t}}}", g_[k]) for k in "figo")
        c, c_prev = page.sym(f"c_{{{t}}}", g_["c"]), page.sym(f"c_{{{p}}}", g_["c_prev"])
        x, h_prev = page.sym(f"x_{{{t}}}", q.x), page.sym(f"h_{{{p}}}", q.h_prev)
    else:
        W, U, V = Wd, Ud, (Vv if q.out is not None else None)
        f, i, g, o, c, c_prev = (g_[k] for k in ("f", "i", "g", "o", "c", "c_prev"))
        x, h_prev = q.x, q.h_prev
    dh, err = _dh(page, t, head, q, wide, V)
    tc = ops.tanh(c)
    terms = [ops.odot(ops.odot(dh, o), ops.prime(TANH, c, tc))]
    if q.carry_c is not None:
        terms.append(page.sym(rf"\Delta c_{{{t}}}", q.carry_c))
    if q.up_c is not None:
        terms.append(page.sym(rf"\Delta^{{\mathrm{{up}}}} c_{{{t}}}", q.up_c))
    dc = page.step(path("dL_dc"), dd("L", f"c_{{{t}}}"), _sum(terms),
                   "Error at the cell state: through h = o ⊙ tanh(c)"
                   + (", and from step t + 1 through its forget gate" if q.carry_c is not None else "")
                   + (", and from a later cell (upstream)" if q.up_c is not None else ""))
    dg = page.step(path("delta_g"), rf"\delta g_{{{t}}}", ops.odot(ops.odot(dc, i), ops.prime(TANH, g, g)),
                   "Candidate: δ at its pre-activation")
    di = page.step(path("delta_i"), rf"\delta i_{{{t}}}", ops.odot(ops.odot(dc, g), ops.prime(SIG, i, i)),
                   "Input gate")
    df = page.step(path("delta_f"), rf"\delta f_{{{t}}}", ops.odot(ops.odot(dc, c_prev), ops.prime(SIG, f, f)),
                   "Forget gate")
    do = page.step(path("delta_o"), rf"\delta o_{{{t}}}", ops.odot(ops.odot(dh, tc), ops.prime(SIG, o, o)),
                   "Output gate")
    deltas = {"f": df, "i": di, "c": dg, "o": do}
    out = {"dh": dh, "dc": dc, "err": err, "deltas": deltas}
    if parts:
        out["factors"], out["parts"] = _parts(page, t, deltas, x, h_prev, err, V is not None,
                                              page.sym(f"h_{{{t}}}", q.gates["h"]), compute=parts != "factors")
    keys = ("f", "i", "c", "o")
    out["dx"] = page.step(path("grad_x"), dd("L", f"x_{{{t}}}"), _sum([W[k].T @ deltas[k] for k in keys]),
                          "Error at the input", substitute=not wide)
    first = t == 1
    out["carry_h"] = _step(page, ("grad_h0",) if first else None,
                               dd("L", "h_{0}") if first else rf"\Delta h_{{{p}}}",
                               _sum([U[k].T @ deltas[k] for k in keys]),
                               "Back to the initial state h₀" if first else "What goes back to step t − 1 through h",
                               substitute=not wide)
    out["carry_c"] = _step(page, ("grad_c0",) if first else None,
                               dd("L", "c_{0}") if first else rf"\Delta c_{{{p}}}", ops.odot(dc, f),
                               "Back to the initial cell state c₀" if first else
                               "What goes back to step t − 1 through the cell (the forget gate)")
    return out


def gru_back(page, t, head: Head, nums, q: StepIn, mode, wide: bool = False, parts: bool = True):
    """One backward step of the GRU in any of its conventions (``mode``: .before, the reset
    gate applied before U_h (cho, keras reset_after false), .znew, z weights the candidate
    (cho)). ``nums``: (W, U, b dicts by gate, b_hn or None, V or None)."""
    Wd, Ud, _, bhn, Vv = nums
    if page.shown:
        W = {k: page.sym(f"W_{k}", v) for k, v in Wd.items()}
        U = {k: page.sym(f"U_{k}", v) for k, v in Ud.items()}
        V = page.sym("V", Vv) if Vv is not None and q.out is not None else None
    else:
        W, U, V = Wd, Ud, (Vv if q.out is not None else None)
    p = at(t, -1)
    path = (lambda name: (name, t)) if not isinstance(t, str) else (lambda name: None)
    z, r = page.sym(f"z_{{{t}}}", q.gates["z"]), page.sym(f"r_{{{t}}}", q.gates["r"])
    ht = page.sym(rf"\tilde{{h}}_{{{t}}}", q.gates["h_tilde"])
    x, h_prev = page.sym(f"x_{{{t}}}", q.x), page.sym(f"h_{{{p}}}", q.h_prev)
    dh, err = _dh(page, t, head, q, wide, V)
    if mode.znew:
        dht = _step(page, None, dd("L", rf"\tilde{{h}}_{{{t}}}"), ops.odot(dh, z), "Through h = (1 − z) ⊙ h_prev + z ⊙ h̃")
        dz = _step(page, None, dd("L", f"z_{{{t}}}"), ops.odot(dh, ht - h_prev), "")
    else:
        dht = _step(page, None, dd("L", rf"\tilde{{h}}_{{{t}}}"), ops.odot(dh, 1 - z),
                        "Through h = (1 − z) ⊙ h̃ + z ⊙ h_prev")
        dz = _step(page, None, dd("L", f"z_{{{t}}}"), ops.odot(dh, h_prev - ht), "")
    d_h = page.step(path("delta_h"), rf"\delta \tilde{{h}}_{{{t}}}", ops.odot(dht, ops.prime(TANH, ht, ht)),
                    "Candidate: δ at its pre-activation")
    d_z = page.step(path("delta_z"), rf"\delta z_{{{t}}}", ops.odot(dz, ops.prime(SIG, z, z)),
                    "Update gate")
    if mode.before:
        s = _step(page, None, rf"(r \odot h)_{{{t}}}", ops.odot(r, h_prev), "The reset state (from the forward pass)")
        ds = _step(page, None, dd("L", rf"(r \odot h)_{{{t}}}"), U["h"].T @ d_h, "Back through U_h",
                       substitute=not wide)
        dr = _step(page, None, dd("L", f"r_{{{t}}}"), ops.odot(ds, h_prev), "")
    else:
        qv = U["h"] @ h_prev if bhn is None else U["h"] @ h_prev + page.sym("b_{hn}", bhn)
        qs = _step(page, None, f"q_{{{t}}}", qv, "The recurrent part of the candidate (from the forward pass)",
                       substitute=not wide)
        dr = _step(page, None, dd("L", f"r_{{{t}}}"), ops.odot(d_h, qs), "")
        dq = _step(page, None, dd("L", f"q_{{{t}}}"), ops.odot(d_h, r), "")
    d_r = page.step(path("delta_r"), rf"\delta r_{{{t}}}", ops.odot(dr, ops.prime(SIG, r, r)),
                    "Reset gate")
    deltas = {"z": d_z, "r": d_r, "h": d_h}
    out = {"dh": dh, "err": err, "deltas": deltas}
    if parts:
        hidden = {"h": s} if mode.before else {"h": h_prev}
        out["factors"], out["parts"] = _parts(page, t, deltas, x, h_prev, err, V is not None,
                                              page.sym(f"h_{{{t}}}", q.gates["h"]),
                                              rec={"h": (dq if not mode.before else d_h, hidden["h"])},
                                              bhn=dq if not mode.before else None, compute=parts != "factors")
    keys = ("z", "r", "h")
    out["dx"] = page.step(path("grad_x"), dd("L", f"x_{{{t}}}"), _sum([W[k].T @ deltas[k] for k in keys]),
                          "Error at the input", substitute=not wide)
    direct = ops.odot(dh, 1 - z) if mode.znew else ops.odot(dh, z)
    back = [direct, U["z"].T @ d_z, U["r"].T @ d_r]
    back.append(ops.odot(ds, r) if mode.before else U["h"].T @ dq)
    first = t == 1
    out["carry_h"] = _step(page, ("grad_h0",) if first else None,
                               dd("L", "h_{0}") if first else rf"\Delta h_{{{p}}}", _sum(back),
                               "Back to the initial state h₀" if first else "What goes back to step t − 1",
                               substitute=not wide)
    return out


def _parts(page, t, deltas, x, h_prev, err, layer: bool, h, rec=None, bhn=None, compute: bool = True):
    """The parts of every weight gradient contributed at step t: δ xᵀ, δ h_{t−1}ᵀ, δ (and for
    the output layer ∂L/∂o_t h_tᵀ, ∂L/∂o_t). Returns (factors: key -> (a, b) with the part
    a bᵀ, or (a, None) for a bias whose part is a; the parts computed, or None)."""
    v = ops.value
    factors = {}
    rec = rec or {}
    for k, d in deltas.items():
        factors[f"W_{k}"] = (d, x)
        factors[f"U_{k}"] = rec.get(k, (d, h_prev))
        factors[f"b_{k}"] = (d, None)
    if bhn is not None:
        factors["b_hn"] = (bhn, None)
    if layer and err is not None:
        factors["V"] = (err, h)
        factors["c"] = (err, None)
    parts = None
    if compute:
        page.text("This step's parts of the weight gradients (δ times the step's input, or its previous "
                  "state, transposed; a bias's part is its δ):")
        parts = {}
        for key, (a, b) in factors.items():
            parts[key] = v(a) if b is None else v(outer_part(page, part_tex(key_tex(key), t), a, b))
    if not page.shown:
        return factors, parts
    return {key: (v(a), None if b is None else v(b)) for key, (a, b) in factors.items()}, parts


# -- the output layer and the loss --------------------------------------------------------------

def output_step(page, t, head: Head, h, y, path_yh):
    """ŷ_t (through the output layer, or h_t itself) and the loss L_t of one step with a target."""
    h = page.sym(f"h_{{{t}}}", h)
    if head.layer:
        V, c = page.sym("V", head.V), page.sym("c", head.c)
        o = _step(page, None, f"o_{{{t}}}", V @ h + c, "Output net input")
        yh = page.step(path_yh, rf"\hat{{y}}_{{{t}}}", ops.apply(nn.activation(head.act), o), "Output")
        logs = nn.log_terms(nn.activation(head.act), o, yh)
    else:
        o = h
        yh = page.step(path_yh, rf"\hat{{y}}_{{{t}}}", h, "Output: the hidden state itself")
        logs = None
    rec = nn.loss(head.loss)
    L = _step(page, None, f"L_{{{t}}}", rec.formula(page.sym(f"y_{{{t}}}", y), yh, logs), f"Loss ({rec.title})",
                  scalar=True)
    return o, yh, L


def _label(head: Head, i: int):
    lab = head.labels[i] if head.labels else None
    return head.targets[i] if lab is None else lab


def output_section(sheet, head: Head, H: np.ndarray, T: int) -> dict:
    """ŷ_t and L_t at every step with a target, the first ones written out; the loss L.
    Returns {t: (ŷ_t, y_t, o_t)}."""
    steps = head.steps(T)
    every = head.output == "every"
    s = sheet.section("Output and loss")
    if head.layer:
        g = nn.activation(head.act)
        s.text(f"The output layer: $o_{{t}} = V h_{{t}} + c$, $\\hat{{y}}_{{t}} = g(o_{{t}}) = {g.tex}(o_{{t}})$"
               + (" at every time step." if every else f", only at the last step t = T = {T}."))
    else:
        s.text("No output layer: the output is the hidden state itself, $\\hat{y}_{t} = h_{t}$ (as in Gomez's "
               "example)" + (", at every time step." if every else f", only at the last step t = T = {T}."))
    rec = nn.loss(head.loss)
    s.math("L_{t} = " + rec.rule("y_{t,j}", r"\hat{y}_{t,j}"), "loss at step t")
    out, Ls, rows = {}, [], []
    shown = set(steps[:SHOWN_OUT]) | {steps[-1]}
    for i, t in enumerate(steps):
        page = s if t in shown else sheet.silent
        o, yh, L = output_step(page, t, head, H[t], head.targets[i], ("y_hat", t) if every else ("y_hat",))
        out[t] = (ops.value(yh), head.targets[i], ops.value(o))
        Ls.append(float(ops.value(L)))
        rows.append([t, ops.value(yh), _label(head, i), float(ops.value(L))])
    if len(steps) > len(shown):
        s.table(["t", r"\hat{y}_{t}", "y_{t}", "L_{t}"], rows, title="Every step with a target")
    if len(steps) == 1:
        s.step(("loss",), "L", Sym(f"L_{{{steps[0]}}}", Ls[0]), "The loss", scalar=True)
    elif len(steps) <= 8:
        s.step(("loss",), "L", Add([(1, Sym(f"L_{{{t}}}", v)) for t, v in zip(steps, Ls)]),
               "Summed over the time steps", scalar=True)
    else:
        s.step(("loss",), "L", Sym(rf"\sum_{{t=1}}^{{{T}}} L_{{t}}", math.fsum(Ls)), "Summed over the time steps",
               scalar=True)
    return out


# -- the backward pass, driven ------------------------------------------------------------------

@dataclass
class Cell:
    """How a kind's cell goes backwards: its name, weight keys (in the order of the results),
    the back step, the result names of its deltas (by gate key), the tex of the gates."""
    name: str
    gates: tuple            # gate keys of the weights: f i c o / z r h
    delta: dict             # gate key -> (result name, tex)
    back: object            # back(page, t, head, nums, StepIn, wide, parts) -> dict
    nums: tuple             # the weights as the back step takes them
    keys: list              # the per-gate weight keys, in order (W_f, …, b_hn)
    values: dict            # weight key -> its value (full shape); with a layout, the layout's keys
    layout: object = None   # a Layout: the results are keyed by its keys


def key_tex(key: str) -> str:
    a, _, b = key.partition("_")
    return f"{a}_{{{b}}}" if b else key


def backward(sheet, cell: Cell, head: Head, X: np.ndarray, H: np.ndarray, series: dict, C: np.ndarray | None,
             wide: bool, rules_shown: bool = True):
    """Output, loss and the backward pass of a gated cell. H: (T + 1) × m with h_0 in row 0;
    C likewise (lstm) or None; series: the gates, T × m each. Returns ∂L/∂x_t (T × n), what a
    layer below receives as its upstream gradient."""
    T, m = len(X), H.shape[1]
    n = X.shape[1]
    lstm = cell.name == "lstm"
    outs = output_section(sheet, head, H, T) if head.targets is not None else {}

    def stepin(t, carry_h, carry_c):
        g = {k: series[k][t - 1] for k in series}
        g["h"] = H[t]
        if lstm:
            g["c"], g["c_prev"] = C[t], C[t - 1]
        up_h = head.up_h[t - 1] if head.up_h is not None else None
        return StepIn(X[t - 1], H[t - 1], g, outs.get(t), carry_h, carry_c, up_h,
                      head.up_c if t == T else None)

    def rules(page):
        q = stepin(T, np.zeros(m), np.zeros(m) if lstm else None)
        if head.targets is not None:
            q.out = outs.get(T) or (np.zeros(m), np.zeros(m), np.zeros(m))
            output_step(page, "t", head, H[T], head.targets[-1], None)
        if head.up_h is not None:
            q.up_h = np.zeros(m)
        if head.up_c is not None:
            q.up_c = np.zeros(m)
        cell.back(page, "t", head, cell.nums, q, wide, False)
        _rule_texts(page, cell, head, T)
    if rules_shown:
        sheet.rules("Backward pass: the rules", rules)

    dLdh, deltas = np.zeros((T, m)), {k: np.zeros((T, m)) for k in cell.gates}
    dx = np.zeros((T, n))
    dLdc = np.zeros((T, m)) if lstm else None
    parts = [None] * (T + 1)
    factors = [None] * (T + 1)
    few = T <= SUM_TERMS  # the totals are written out part by part: compute the parts as the working does
    carry_h = carry_c = None

    def builder(t, q):
        def build(page):
            page.table([f"x_{{{t}}}", f"h_{{{t - 1}}}"], [[q.x, q.h_prev]])
            cell.back(page, t, head, cell.nums, q, wide)
        return build

    quick = None
    if lstm and T > QUICK_FROM and sheet.silent.sheet.quick:  # (then not few: the parts are not written out)
        quick = lstm_back_on_numbers(sheet.silent, head, cell.nums, X, H, C, series, outs, head.up_h, head.up_c)
    if quick is not None:  # the same numbers as the silent steps', remembered in the same order
        dLdh, dLdc, deltas, dx, carries, stacked, ends = quick
        for t in range(T, 0, -1):
            sheet.section(f"Backward pass, time step t = {t}", level=3, detail=t <= T - SHOWN_BACK,
                          builder=builder(t, stepin(t, *carries[t])))
        page = sheet.silent
        page.sheet.remember_steps(page, ("dL_dh", "dL_dc", "delta_g", "delta_i", "delta_f", "delta_o", "grad_x"),
                                  range(T, 0, -1), {"dL_dh": dLdh, "dL_dc": dLdc, "delta_g": deltas["c"],
                                                    "delta_i": deltas["i"], "delta_f": deltas["f"],
                                                    "delta_o": deltas["o"], "grad_x": dx})
        page.sheet.remember(page.path(("grad_h0",)), ends[0])
        page.sheet.remember(page.path(("grad_c0",)), ends[1])
    for t in range(T, 0, -1) if quick is None else ():
        q = stepin(t, carry_h, carry_c)
        sheet.section(f"Backward pass, time step t = {t}", level=3, detail=t <= T - SHOWN_BACK,
                      builder=builder(t, q))
        r = cell.back(sheet.silent, t, head, cell.nums, q, wide, True if few else "factors")
        dLdh[t - 1] = r["dh"]
        if lstm:
            dLdc[t - 1] = r["dc"]
            carry_c = r["carry_c"]
        for k in cell.gates:
            deltas[k][t - 1] = r["deltas"][k]
        parts[t], factors[t] = r["parts"], r["factors"]
        dx[t - 1] = r["dx"]
        carry_h = r["carry_h"]

    _step_table(sheet, cell, dLdh, dLdc, deltas, m)
    grads = _totals(sheet, cell, parts if few else None, factors, head, T, stacked=quick[5] if quick else None)
    if lstm:
        _forget_path(sheet, series["f"], T, m)
    if head.eta is not None:
        _update(sheet, cell, head, grads)
    return dx


def lstm_back_on_numbers(page, head: Head, nums, X, H, C, series: dict, outs: dict, up_h, up_c):
    """What ``lstm_back`` on the silent page (parts="factors") computes at every step, on numbers
    directly: the same operations in the same order (sums folded left as ``_sum`` does; tanh,
    tanh′ and σ′ from the library's records as ``ops`` applies them; the sheet's + 0.0 where
    a step is settled), without the formulas' and the recorder's calls per quantity. Only the
    output error at a step with a target goes through ``output_error`` itself. Only for a
    ``quick`` sheet; tests/test_gated_quick.py holds it equal to the silent steps, bit for bit.
    Returns (∂L/∂h, ∂L/∂c, the deltas by gate, ∂L/∂x, the carries into each step
    {t: (Δh_t, Δc_t)}, the factors of the parts stacked as _totals takes them,
    (∂L/∂h_0, ∂L/∂c_0)), or None when a value is beyond float64 (the silent steps then run
    and name the first one)."""
    W, U, _, Vv = nums
    T, m = len(X), H.shape[1]
    F, I, G, O = (series[k] for k in ("f", "i", "g", "o"))
    dLdh, dLdc, dx = np.empty((T, m)), np.empty((T, m)), np.empty((T, X.shape[1]))
    deltas = {k: np.empty((T, m)) for k in ("f", "i", "c", "o")}
    Df, Di, Dg, Do = deltas["f"], deltas["i"], deltas["c"], deltas["o"]
    WT = [W[k].T for k in ("f", "i", "c", "o")]
    UT = [U[k].T for k in ("f", "i", "c", "o")]
    tanh, tanh_prime, sigma_prime = TANH.value, TANH.prime, SIG.prime
    carries, errs = {T: (None, None)}, {}
    carry_h = carry_c = None
    with np.errstate(all="ignore"):
        for t in range(T, 0, -1):
            f, i, g, o, c, c_prev, x, h_prev = F[t - 1], I[t - 1], G[t - 1], O[t - 1], C[t], C[t - 1], X[t - 1], H[t - 1]
            terms, err, V = [], None, None
            out = outs.get(t)
            if out is not None:
                V = Vv
                err = output_error(page, t, head, page.sym("", out[0]), page.sym("", out[1]), page.sym("", out[2]))
                terms.append(V.T @ err if V is not None else err)
            if carry_h is not None:
                terms.append(carry_h)
            if up_h is not None:
                terms.append(up_h[t - 1])
            dh = _sum(terms) + 0.0
            tc = tanh(c)
            terms = [dh * o * tanh_prime(c, tc)]
            if carry_c is not None:
                terms.append(carry_c)
            if up_c is not None and t == T:
                terms.append(up_c)
            dc = _sum(terms) + 0.0
            dg = dc * i * tanh_prime(g, g) + 0.0
            di = dc * g * sigma_prime(i, i) + 0.0
            df = dc * c_prev * sigma_prime(f, f) + 0.0
            do = dh * tc * sigma_prime(o, o) + 0.0
            dLdh[t - 1], dLdc[t - 1], Dg[t - 1], Di[t - 1], Df[t - 1], Do[t - 1] = dh, dc, dg, di, df, do
            dx[t - 1] = WT[0] @ df + WT[1] @ di + WT[2] @ dg + WT[3] @ do + 0.0
            if V is not None and err is not None:
                errs[t] = err
            carry_h = UT[0] @ df + UT[1] @ di + UT[2] @ dg + UT[3] @ do
            carry_c = dc * f
            carries[t - 1] = (carry_h, carry_c)
    ends = (carry_h + 0.0, carry_c + 0.0)  # ∂L/∂h_0, ∂L/∂c_0: settled
    if not all(np.isfinite(a).all() for a in (dLdh, dLdc, dx, Df, Di, Dg, Do) + ends):
        return None
    # the factors of the parts, stacked over the steps as _totals stacks them (rows t = 1 … T)
    Xc, Hc = np.ascontiguousarray(X), np.ascontiguousarray(H[:T])
    stacked = {}
    for k in ("f", "i", "c", "o"):
        stacked[f"W_{k}"], stacked[f"U_{k}"], stacked[f"b_{k}"] = (deltas[k], Xc), (deltas[k], Hc), (deltas[k], None)
    if errs:
        ts = sorted(errs)
        E = np.array([errs[t] for t in ts])
        stacked["V"], stacked["c"] = (E, np.array([H[t] for t in ts])), (E, None)
    return dLdh, dLdc, deltas, dx, carries, stacked, ends


def _rule_texts(page, cell: Cell, head: Head, T: int):
    page.text("Each δ is the derivative of L by a gate's pre-activation: the error arriving at the gate times "
              f"the derivative of its function, $\\sigma' = {SIG.prime_tex}$ and $\\tanh' = {TANH.prime_tex}$ "
              "written in the gate's own value y (the derivative identities).", "note")
    page.text("$\\Delta h_{t}$ is what comes back to $h_{t}$ from step t + 1 (zero at t = T)"
              + (", $\\Delta c_{t}$ what comes back to $c_{t}$ through the forget gate $f_{t+1}$" if cell.name == "lstm"
                 else "") + ".", "note")
    if head.up_h is not None or head.up_c is not None:
        page.text("$\\Delta^{\\mathrm{up}}$ are the given upstream gradients (what a layer on top, or a later "
                  "cell, sends down).", "note")
    pairs = ", ".join(f"$\\delta {cell.delta[k][1]}$ for $W_{k}$, $U_{k}$, $b_{k}$" for k in cell.gates)
    page.text(f"Each gate's weights get a part at every step, with δ that gate's delta ({pairs}):")
    page.math(r"\frac{\partial L}{\partial W} = \sum_{t=1}^{" + str(T) + r"} \delta_{t} x_{t}^{\top}, \quad "
              r"\frac{\partial L}{\partial U} = \sum_{t=1}^{" + str(T) + r"} \delta_{t} h_{t-1}^{\top}, \quad "
              r"\frac{\partial L}{\partial b} = \sum_{t=1}^{" + str(T) + r"} \delta_{t}", "the weights")
    if cell.name == "gru":
        page.text("The candidate's $U_h$ sees the reset state: its part is $\\delta \\tilde{h}_{t} (r_{t} \\odot "
                  "h_{t-1})^{\\top}$ when the reset gate acts before $U_h$, and "
                  "$\\frac{\\partial L}{\\partial q_{t}} h_{t-1}^{\\top}$ with $q_{t} = U_h h_{t-1} + b_{hn}$ when it "
                  "acts after (then $\\frac{\\partial L}{\\partial b_{hn}} = \\sum_{t} \\frac{\\partial L}"
                  "{\\partial q_{t}}$).", "note")
    if head.layer:
        page.math(r"\frac{\partial L}{\partial V} = \sum_{t} \frac{\partial L}{\partial o_{t}} h_{t}^{\top}, \quad "
                  r"\frac{\partial L}{\partial c} = \sum_{t} \frac{\partial L}{\partial o_{t}}", "the output layer")


def _cells(a, small):
    return list(a) if small else _norms(a)


def _norms(a) -> list:
    """The (Frobenius) norm of each a[t] of a stack of vectors or matrices."""
    a = np.asarray(a)
    return np.sqrt(np.sum(a.reshape(len(a), -1) ** 2, axis=1)).tolist()


def _step_table(sheet, cell: Cell, dLdh, dLdc, deltas, m: int):
    s = sheet.section("Backward pass: every time step")
    small = m <= SMALL
    wrap = (lambda tex: tex) if small else (lambda tex: r"\lVert{" + tex + r"}\rVert")
    cols = [dd("L", "h_{t}")] + ([dd("L", "c_{t}")] if dLdc is not None else [])
    arrays = [dLdh] + ([dLdc] if dLdc is not None else [])
    for k in cell.gates:
        cols.append(rf"\delta {cell.delta[k][1]}_{{t}}")
        arrays.append(deltas[k])
    data = [_cells(a, small) for a in arrays]
    T = len(dLdh)
    s.table(["t"] + [wrap(c) for c in cols], [[t] + [d[t - 1] for d in data] for t in range(T, 0, -1)],
            note=None if small else "Vectors of more than 4 components are shown by their norm ‖·‖; the JSON "
                                    "results carry them in full.")


def _totals(sheet, cell: Cell, parts, factors, head: Head, T: int, stacked: dict | None = None) -> dict:
    """Each gradient as the sum of its parts over the steps: written out term by term for a
    short sequence (``parts``), else Σ over the steps, computed from the factors a_t b_tᵀ of
    the parts at once (Σ_t a_t b_tᵀ = Aᵀ B) and shown by their norms ‖a_t‖ ‖b_t‖ per step.
    ``stacked``: {key: (A, B)} already stacked (rows t = 1 … T, or the steps with a target),
    in place of ``factors``."""
    s = sheet.section("Gradients: the parts summed over the time steps")
    keys = list(cell.keys) + (["V", "c"] if head.layer else [])
    steps = {k: list(range(1, T + 1)) for k in cell.keys}
    if head.layer:
        steps["V"] = steps["c"] = head.steps(T)
    small = all(np.size(cell.values[k] if k in cell.values else (head.V if k == "V" else head.c)) <= 16
                for k in keys)
    if stacked is None:
        stacked = {}
        for k in keys:
            A = np.array([factors[t][k][0] for t in steps[k]])
            B = None if factors[steps[k][0]][k][1] is None else np.array([factors[t][k][1] for t in steps[k]])
            stacked[k] = (A, B)
    if T > 1:
        cols = {}
        for k in keys:
            A, B = stacked[k]
            if small:
                here = [parts[t][k] for t in steps[k]] if parts is not None else \
                    [A[j] if B is None else np.outer(A[j], B[j]) for j in range(len(A))]
            else:
                na = np.sqrt(np.sum(A ** 2, axis=1))
                here = (na if B is None else na * np.sqrt(np.sum(B ** 2, axis=1))).tolist()
            got = dict(zip(steps[k], here))
            cols[k] = [got.get(t, "—") for t in range(1, T + 1)]
        rows = [[t] + [cols[k][t - 1] for k in keys] for t in range(T, 0, -1)]
        s.table(["t"] + [(part_tex(key_tex(k), "t") if small else r"\lVert{" + part_tex(key_tex(k), "t") + r"}\rVert")
                         for k in keys], rows, title="The part of each gradient at each step",
                note="The part of ∂L/∂b at step t is that gate's δ_t" + (", of ∂L/∂c it is ∂L/∂o_t" if head.layer else "")
                     + ("" if small else "; matrices are shown by their (Frobenius) norm, the JSON results carry "
                                        "the totals in full") + ".")
    grads = {}
    for k in keys:
        ts = steps[k]
        if parts is not None and len(ts) == 1:
            e = Sym(part_tex(key_tex(k), ts[0]), parts[ts[0]][k])
        elif parts is not None:
            e = Add([(1, Sym(part_tex(key_tex(k), t), parts[t][k])) for t in ts])
        else:
            A, B = stacked[k]
            total = A.sum(axis=0) if B is None else A.T @ B
            e = Sym(part_tex(key_tex(k), ts[0]) if len(ts) == 1 else
                    rf"\sum_{{t={ts[0]}}}^{{{ts[-1]}}} " + part_tex(key_tex(k), "t"), total)
        own = cell.layout is None or k in ("V", "c")
        grads[k] = ops.value(s.step(("grad_" + k,) if own else None, dd("L", key_tex(k)), e, "", components=False))
    if cell.layout is not None:
        lay = cell.layout
        s.text(f"In the layout of {'torch.nn.' + cell.name.upper() if lay.name == 'pytorch' else 'Keras'} the "
               "gradients sit in the blocks the weights came from (; stacks blocks one under the other, "
               "a comma puts them side by side):")
        exported = lay.export(grads)
        for key in lay.keys:
            grads[key] = ops.value(s.step(("grad_" + key,), dd("L", lay.tex(key)), Sym(lay.formula_tex(key), exported[key]),
                                          "", components=False))
        if lay.name == "pytorch":
            s.text("bias_ih and bias_hh enter a gate only through their sum, so both get the same gradient"
                   + (" (except the candidate's bias_hh block, which is b_hn inside the reset product)"
                      if cell.name == "gru" else "") + ".", "note")
        elif cell.name == "gru" and lay.reset_after:
            s.text("The two bias rows enter the update and reset gates only through their sum, so both get the "
                   "same gradient there; the candidate's second-row block is b_hn.", "note")
        for k in cell.keys:
            grads.pop(k)
    return grads


def _forget_path(sheet, F: np.ndarray, T: int, m: int):
    """‖∂c_T/∂c_t‖ along the cell path: the product of the forget gates f_{t+1} ⊙ … ⊙ f_T."""
    s = sheet.section("Vanishing gradient along the cell state")
    s.text(f"Along the cell path alone (the gates held fixed), $c_{{t}} = f_{{t}} \\odot c_{{t-1}} + \\ldots$ gives "
           f"$\\frac{{\\partial c_{{{T}}}}}{{\\partial c_{{t}}}} = \\mathrm{{diag}}(f_{{{T}}} \\odot \\cdots \\odot "
           r"f_{t+1})$: an error at $c_{" + str(T) + r"}$ reaches $c_{t}$ multiplied by the forget gates in between, "
           "and by nothing else (no weight matrix, no tanh' ≤ 1 factor as in an Elman RNN). With the forget gates "
           "near 1 it arrives almost undiminished (the constant error carousel); each gate near 0 cuts it.")
    with np.errstate(divide="ignore"):
        logs = np.log(F)
    # row j (t = T − j): the sum of ln f over the steps T, …, t + 1, added in that order
    acc = np.vstack([np.zeros((1, m)), np.cumsum(logs[::-1][:-1], axis=0)])
    prod = np.exp(acc)
    norms = np.max(prod, axis=1).tolist()  # the spectral norm of a diagonal matrix: its largest |entry|
    top = np.max(acc, axis=1)
    log10s = np.where(np.isfinite(top), top / math.log(10), -math.inf).tolist()
    small = m <= SMALL
    rows = [[T - j] + ([prod[j]] if small else []) + [norms[j], log10s[j]] for j in range(T)]
    s.table(["t"] + ([rf"f_{{{T}}} \odot \cdots \odot f_{{t+1}}"] if small else [])
            + [rf"\lVert{{\partial c_{{{T}}} / \partial c_{{t}}}}\rVert_{{2}}", r"\log_{10}"], rows,
            note="At t = T the product is empty (1). The full ∂L/∂c_t above also has the paths through h_t.")


def _update(sheet, cell: Cell, head: Head, grads: dict):
    s = sheet.section("Update: w ← w − η ∂L/∂w")
    eta = Sym(r"\eta", head.eta)
    values = dict(cell.values)
    if head.layer:
        values["V"], values["c"] = head.V, head.c
    tex = (lambda k: key_tex(k)) if cell.layout is None else (lambda k: key_tex(k) if k in ("V", "c") else cell.layout.tex(k))
    for k in grads:
        s.step(("updated", k), tex(k) + r"^{\mathrm{new}}",
               Sym(tex(k), values[k]) - eta * Sym(dd("L", tex(k)), grads[k]), "", components=False)


# -- the frameworks' weight layouts (recurrent.md) ------------------------------------------------

LAYOUTS = ["notes", "pytorch", "keras"]
LAYOUT_KEYS = {"pytorch": ("weight_ih", "weight_hh", "bias_ih", "bias_hh"),
               "keras": ("kernel", "recurrent_kernel", "bias")}
ORDER = {("lstm", "pytorch"): ("i", "f", "c", "o"), ("lstm", "keras"): ("i", "f", "c", "o"),
         ("gru", "pytorch"): ("r", "z", "h"), ("gru", "keras"): ("z", "r", "h")}
GATE_WORDS = {"f": "forget f", "i": "input i", "c": "candidate g", "o": "output o",
              "z": "update z", "r": "reset r", "h": r"candidate $\tilde{h}$"}


def layout_fields(lstm: bool) -> tuple:
    """The keys of the framework layouts, inside weights (or each block of layers)."""
    G = "4" if lstm else "3"
    hidden = dict(default=None, template="hide")
    return (
        Field("weight_ih", "matrix", f"layout pytorch: torch's weight_ih_l0, the gates' W stacked ({'i, f, g, o' if lstm else 'r, z, n'})",
              shape=(f"{G}m", "n"), **hidden),
        Field("weight_hh", "matrix", "layout pytorch: torch's weight_hh_l0, the gates' U stacked", shape=(f"{G}m", "m"),
              **hidden),
        Field("bias_ih", "vector", "layout pytorch: torch's bias_ih_l0", shape=(f"{G}m",), default_text="zeros",
              default=None, template="hide"),
        Field("bias_hh", "vector", "layout pytorch: torch's bias_hh_l0", shape=(f"{G}m",), default_text="zeros",
              default=None, template="hide"),
        Field("kernel", "matrix", f"layout keras: the kernel, the gates' Wᵀ side by side ({'i, f, c, o' if lstm else 'z, r, h'})",
              shape=("n", f"{G}m"), **hidden),
        Field("recurrent_kernel", "matrix", "layout keras: the recurrent kernel, the gates' Uᵀ side by side",
              shape=("m", f"{G}m"), **hidden),
        Field("bias", "matrix" if not lstm else "vector", "layout keras: the bias" + ("" if lstm else
              " (with reset_after: two rows, input and recurrent bias)"),
              shape=(f"{G}m",) if lstm else ("2", f"{G}m"), default=None, default_text="zeros", template="hide"),
    )


def loosen(weights: Field, lstm: bool, layers: bool = False) -> Field:
    """The weights mapping of a gated kind with the layouts' keys: W_*, U_* are then required only
    in layout notes (the reader checks)."""
    fields = tuple(f.but(default=None) if f.required else f for f in weights.fields) + layout_fields(lstm)
    return weights.but(fields=fields, default=REQUIRED, instead=("layers",) if layers else (),
                       meaning=weights.meaning + "; or, with layout, as the framework stores them")


@dataclass
class Layout:
    """A framework's layout: its keys and values as given, and how they split into gates."""
    name: str
    cell: str
    keys: tuple
    values: dict
    m: int
    reset_after: bool = True

    def blocks(self):
        return ORDER[(self.cell, self.name)]

    def tex(self, key: str) -> str:
        return r"\mathrm{" + key.replace("_", r"\_") + "}"

    def export(self, g: dict) -> dict:
        """The gradients of the per-gate weights (W_*, U_*, b_*, b_hn) in this layout."""
        order = self.blocks()
        if self.name == "pytorch":
            out = {"weight_ih": np.vstack([g[f"W_{k}"] for k in order]),
                   "weight_hh": np.vstack([g[f"U_{k}"] for k in order]),
                   "bias_ih": np.concatenate([g[f"b_{k}"] for k in order])}
            out["bias_hh"] = np.concatenate([g["b_hn" if (self.cell == "gru" and k == "h") else f"b_{k}"] for k in order])
            return out
        out = {"kernel": np.hstack([g[f"W_{k}"].T for k in order]),
               "recurrent_kernel": np.hstack([g[f"U_{k}"].T for k in order])}
        first = np.concatenate([g[f"b_{k}"] for k in order])
        if self.cell == "gru" and self.reset_after:
            out["bias"] = np.vstack([first, np.concatenate([g["b_hn" if k == "h" else f"b_{k}"] for k in order])])
        else:
            out["bias"] = first
        return out

    def formula_tex(self, key: str) -> str:
        """The layout's gradient in the per-gate ones: blocks stacked (;) or side by side (,)."""
        order = self.blocks()
        d = lambda w: dd("L", key_tex(w))
        wrap = lambda body: r"\left[ " + body + r" \right]"
        if key in ("weight_ih", "weight_hh"):
            return wrap(" ; ".join(d(("W_" if key == "weight_ih" else "U_") + k) for k in order))
        if key in ("bias_ih", "bias_hh"):
            return wrap(" ; ".join(d("b_hn" if (key == "bias_hh" and self.cell == "gru" and k == "h") else "b_" + k)
                                   for k in order))
        if key in ("kernel", "recurrent_kernel"):
            return wrap(", ".join(r"\left(" + d(("W_" if key == "kernel" else "U_") + k) + r"\right)^{\top}"
                                  for k in order))
        first = ", ".join(d("b_" + k) for k in order)
        if self.cell == "gru" and self.reset_after:
            return wrap(first + " ; " + ", ".join(d("b_hn" if k == "h" else "b_" + k) for k in order))
        return wrap(first)

    def mapping_rows(self):
        """How the blocks map to the gates: one row per gate."""
        m, rows = self.m, []
        for j, k in enumerate(self.blocks()):
            span = f"{j * m + 1}–{(j + 1) * m}" if m > 1 else f"{j * m + 1}"
            if self.name == "pytorch":
                hn = self.cell == "gru" and k == "h"
                rows.append([GATE_WORDS[k], f"rows {span} of {M('weight_ih')}", f"rows {span} of {M('weight_hh')}",
                             f"{M('bias_ih')}[{span}]" + (f", and $b_{{hn}}$ = {M('bias_hh')}[{span}]" if hn
                                                          else f" + {M('bias_hh')}[{span}]")])
            else:
                hn = self.cell == "gru" and k == "h" and self.reset_after
                two = self.cell == "gru" and self.reset_after
                b = (f"bias[1][{span}], and $b_{{hn}}$ = bias[2][{span}]" if hn else
                     f"bias[1][{span}] + bias[2][{span}]" if two else f"bias[{span}]")
                rows.append([GATE_WORDS[k], f"columns {span} of kernel, transposed",
                             f"columns {span} of {M('recurrent_kernel')}, transposed", b])
        return rows


def M(key: str) -> str:
    """A framework's key in running text."""
    return r"$\mathrm{" + key.replace("_", r"\_") + "}$"


def read_layout(w, cell: str, layout: str, n: int, reset_after: bool, n_text: str = ""):
    """The weights as a framework stores them → (W, U, b dicts by gate in the kind's order, b_hn
    or None, Layout). ``w``: the reader of the weights mapping."""
    G = 4 if cell == "lstm" else 3
    order = ORDER[(cell, layout)]
    names = ("f", "i", "c", "o") if cell == "lstm" else ("z", "r", "h")
    other = "keras" if layout == "pytorch" else "pytorch"
    notes = [f"{k}_{g}" for k in "WUb" for g in names] + (["b_hn"] if cell == "gru" else [])
    for key, owner in [(k, "notes") for k in notes] + [(k, other) for k in LAYOUT_KEYS[other]]:
        if w.has(key):
            raise w.error(w.path + (key,), f"{key} is a key of layout: {owner}; with layout: {layout} the weights "
                                           f"are {', '.join(LAYOUT_KEYS[layout])}")
    gates_text = ", ".join(order)
    nt = n_text or f"n = {n}, the length of each input"
    if layout == "pytorch":
        hh = w.matrix("weight_hh", what=f"weight_hh, a {G}m × m matrix (the {G} gates' U stacked: {gates_text})")
        m = hh.shape[1]
        if hh.shape[0] != G * m:
            raise w.error(w.path + ("weight_hh",), f"expected weight_hh to be {G}m × m = {G * m} × {m} (the {G} gates "
                                                   f"{gates_text} stacked, m = {m} from its columns), got "
                                                   f"{hh.shape[0]} × {hh.shape[1]}")
        ih = w.matrix("weight_ih", shape=(G * m, n),
                      what=f"weight_ih, a {G}m × n = {G * m} × {n} matrix (the gates' W stacked: {gates_text}; "
                           f"m = {m} from weight_hh, {nt})")
        bih = w.vector("bias_ih", np.zeros(G * m), length=G * m, what=f"bias_ih, a vector of length {G}m = {G * m}")
        bhh = w.vector("bias_hh", np.zeros(G * m), length=G * m, what=f"bias_hh, a vector of length {G}m = {G * m}")
        values = {"weight_ih": ih, "weight_hh": hh, "bias_ih": bih, "bias_hh": bhh}
        blk = {k: slice(j * m, (j + 1) * m) for j, k in enumerate(order)}
        W = {g: ih[blk[g]] for g in names}
        U = {g: hh[blk[g]] for g in names}
        b = {g: (bih[blk[g]] if cell == "gru" and g == "h" else bih[blk[g]] + bhh[blk[g]]) for g in names}
        b_hn = bhh[blk["h"]] if cell == "gru" else None
    else:
        rk = w.matrix("recurrent_kernel", what=f"recurrent_kernel, an m × {G}m matrix (the gates' Uᵀ side by side: "
                                               f"{gates_text})")
        m = rk.shape[0]
        if rk.shape[1] != G * m:
            raise w.error(w.path + ("recurrent_kernel",), f"expected recurrent_kernel to be m × {G}m = {m} × {G * m} "
                                                          f"(the {G} gates {gates_text} side by side, m = {m} from its "
                                                          f"rows), got {rk.shape[0]} × {rk.shape[1]}")
        ker = w.matrix("kernel", shape=(n, G * m), what=f"kernel, an n × {G}m = {n} × {G * m} matrix (the gates' Wᵀ "
                                                        f"side by side: {gates_text}; {nt}, m = {m} from recurrent_kernel)")
        two = cell == "gru" and reset_after
        if two:
            bias = w.matrix("bias", np.zeros((2, G * m)), shape=(2, G * m),
                            what=f"bias, a 2 × {G}m = 2 × {G * m} matrix (reset_after: the input bias, then the "
                                 "recurrent bias)")
        else:
            bias = w.vector("bias", np.zeros(G * m), length=G * m, what=f"bias, a vector of length {G}m = {G * m}")
        values = {"kernel": ker, "recurrent_kernel": rk, "bias": bias}
        blk = {k: slice(j * m, (j + 1) * m) for j, k in enumerate(order)}
        W = {g: ker[:, blk[g]].T.copy() for g in names}
        U = {g: rk[:, blk[g]].T.copy() for g in names}
        if two:
            b = {g: (bias[0, blk[g]] if g == "h" else bias[0, blk[g]] + bias[1, blk[g]]) for g in names}
            b_hn = bias[1, blk["h"]]
        else:
            b = {g: bias[blk[g]] for g in names}
            b_hn = None
    return W, U, b, b_hn, Layout(layout, cell, LAYOUT_KEYS[layout], values, m, reset_after)


# -- stacked layers ------------------------------------------------------------------------------

TOP_LEVEL = ("loss", "y_hat", "grad_V", "grad_c")


class LayerPage:
    """A page of layer j of a stack: its results sit under layers[j] (grad_x there: what the layer
    sends down); the loss, the output and the output layer's gradients stay top-level."""

    def __init__(self, page, j: int, bottom: bool):
        self._page, self._j, self._bottom = page, j, bottom
        self.sheet, self.shown, self.keep, self.section = page.sheet, page.shown, page.keep, page.section

    def path(self, path):
        if path is None or path[0] in TOP_LEVEL or (path[0] == "updated" and path[1] in ("V", "c")):
            return path
        return ("layers", self._j) + tuple(path)

    def step(self, path, *args, **kw):
        return self._page.step(self.path(path), *args, **kw)

    def sym(self, tex, value):
        return self._page.sym(tex, value)

    def table(self, *args, **kw):
        return self._page.table(*args, **kw)

    def text(self, *args, **kw):
        return self._page.text(*args, **kw)

    def math(self, *args, **kw):
        return self._page.math(*args, **kw)


class LayerSheet:
    """The sheet as layer j of a stack sees it: section titles name the layer, pages are LayerPages."""

    def __init__(self, sheet, j: int, bottom: bool):
        self.sheet, self.j, self.bottom = sheet, j, bottom
        self.silent = LayerPage(sheet.silent, j, bottom)
        self.scratch = sheet.scratch

    def section(self, title, level=2, detail=False, builder=None):
        wrapped = None if builder is None else (lambda page: builder(LayerPage(page, self.j, self.bottom)))
        return LayerPage(self.sheet.section(f"Layer {self.j}: {title}", level, detail, wrapped), self.j, self.bottom)

    def rules(self, title, write):
        self.sheet.rules(f"Layer {self.j}: {title}", write)

    def result(self, path, value, **kw):
        return self.sheet.result(LayerPage(self.sheet.silent, self.j, self.bottom).path(path), value, **kw)


def initial_fields(names) -> Field:
    """initial as a list, one mapping per layer (with layers:); declared beside the mapping form."""
    item = {"type": "object", "additionalProperties": False,
            "properties": {k: {"anyOf": [{"type": "array", "items": {"type": "number"}, "minItems": 1},
                                         {"type": "number"}]} for k in names}}
    return Field("initial", "list", "with layers: one mapping {" + ", ".join(f"{k}: …" for k in names)
                 + "} per layer, input side first", default=None, default_text="zeros", template="hide", of="mapping",
                 fields=tuple(Field(k, "vector", f"the initial {k}_0 of the layer", shape=("m",), default=None,
                                    default_text="zeros") for k in names),
                 schema={"anyOf": [item, {"type": "array", "minItems": 1, "items": item}]})


def layers_field(weights: Field) -> Field:
    return Field("layers", "list", "instead of weights, a stack: one block of weights per layer, input side first "
                 "(layer j's input is layer j − 1's h_t)", default=None, template="hide", of="mapping",
                 fields=weights.fields, what="a list of layers, each a mapping of its weights")


def read_initial_list(r, names, ms):
    """initial: a list of mappings, one per layer (default zeros)."""
    L = len(ms)
    if not r.has("initial"):
        return [{k: np.zeros(m) for k in names} for m in ms]
    raw = r.raw("initial")
    if not isinstance(raw, list):
        raise r.error(("initial",), f"with layers, initial is a list of {L} mappings, one per layer "
                                    f"([{{h: …}}, …]), got {_what(raw)}")
    items = r.items("initial", what=f"a list of {L} mappings, one per layer")
    if len(items) != L:
        raise r.error(("initial",), f"expected {L} initial states, one per layer, got {len(items)}")
    out = []
    for j, ((path, value), m) in enumerate(zip(items, ms), start=1):
        e = r.element(path, value)
        out.append({k: e.vector(k, np.zeros(m), length=m,
                                what=f"the initial {k}_0 of layer {j}, a vector of length m = {m} (its hidden size)")
                    for k in names})
        e.finish()
    return out


@dataclass
class Layer:
    """One layer of a stack: its weights (the kind's Gates), layout, initial state, and (gru) b_hn."""
    gates: object
    layout: object
    init: dict
    b_hn: np.ndarray | None = None


def reject_initial_list(r) -> None:
    if r.has("initial") and isinstance(r.raw("initial"), list):
        raise r.error(("initial",), "initial is one mapping {h: …} for a single layer; a list, one per layer, "
                                    "goes with layers: […]")


def read_stack(r, layout: str, n: int, read_one, names) -> list:
    """layers: one block of weights per layer (read_one(w, n_in, n_text) → (gates, layout) or
    (gates, layout, b_hn)); the input of layer j is layer j − 1's h_t, so its n is m_{j−1}."""
    if r.has("weights"):
        raise r.error(("weights",), "give either weights (one layer) or layers (a stack of layers), not both")
    items = r.items("layers", what="a list of layers, each a mapping of its weights")
    stack, n_in = [], n
    for j, (path, value) in enumerate(items, start=1):
        w = r.element(path, value)
        n_text = None if j == 1 else (f"n = {n_in}, the hidden size m of layer {j - 1}, whose h_t is this layer's "
                                      "input")
        got = read_one(w, n_in, n_text)
        gates, lay = got[0], got[1]
        stack.append(Layer(gates, lay, {}, got[2] if len(got) > 2 else None))
        n_in = gates.m
    for layer, init in zip(stack, read_initial_list(r, names, [s.gates.m for s in stack])):
        layer.init = init
    return stack


def stack_forward(sheet, X, stack, forward, cell_name: str, names) -> list:
    """The forward pass layer by layer; returns (view, X_j, series_j) per layer. The top-level
    results ``names`` (h and c as recurrent.md says, and the gates too) are the last layer's."""
    L = len(stack)
    intro = sheet.section("A stack of layers")
    intro.text(f"{L} {cell_name} layers on top of each other: layer 1 reads the inputs x_t, each later layer "
               "reads the hidden states h_t of the layer below, at the same time step. The hidden sizes are "
               + ", ".join(f"m{_sub(j)} = {s.gates.m}" for j, s in enumerate(stack, start=1)) + ".")
    runs = []
    for j, layer in enumerate(stack, start=1):
        view = LayerSheet(sheet, j, j == 1)
        series = forward(view, X, layer, f"Layer {j} of {L}: an {cell_name} cell" if cell_name[0] in "AEIOUL"
                         else f"Layer {j} of {L}: a {cell_name} cell")
        runs.append((view, X, series))
        X = series["h"]
    last = runs[-1][2]
    for k in names:
        for t in range(1, len(X) + 1):
            sheet.result((k, t), last[k][t - 1])
    return runs


def _sub(j: int) -> str:
    return "".join("₀₁₂₃₄₅₆₇₈₉"[int(d)] for d in str(j))


def stack_backward(sheet, stack, runs, head: Head, back_layer) -> None:
    """The backward pass from the top layer down: layer j's upstream gradient is what layer
    j + 1 sends back to its inputs, ∂L/∂x_t of layer j + 1."""
    L = len(stack)
    dx = None
    for j in range(L, 0, -1):
        view, X, series = runs[j - 1]
        if j == L:
            h = head
        else:
            h = Head(up_h=dx, eta=head.eta)
            note = view.section("Backward pass: what comes down from the layer above")
            note.text(f"Layer {j + 1}'s inputs are this layer's hidden states, so the gradient it sends back to "
                      f"its inputs, ∂L/∂x_t of layer {j + 1}, arrives at $h_{{t}}$ here: it is this layer's upstream "
                      r"gradient $\Delta^{\mathrm{up}} h_{t}$, added to what flows back through time.")
        dx = back_layer(view, X, stack[j - 1], series, h, j == L)
    for t in range(1, len(dx) + 1):  # the top-level grad_x: what reaches the inputs, layer 1's
        sheet.result(("grad_x", t), dx[t - 1])


def stack_work(p, forward_work, gates: int):
    """The size of a stack's working: the layers' forward (and backward) work added up."""
    from .. import work as W
    total = None
    X = p.X
    for layer in p.stack:
        w = forward_work(X, layer.gates.m)
        if p.head is not None:
            w = back_work(w, p.head if p.head.backward else Head(), len(X), X.shape[1], layer.gates.m, gates)
        if total is None:
            total = w
        else:
            total = replace(total, steps=total.steps + w.steps, numbers=total.numbers + w.numbers,
                            flops=total.flops + w.flops, results=total.results + w.results,
                            detail=(total.detail[0] + w.detail[0], max(total.detail[1], w.detail[1])),
                            shown=total.shown + w.shown, tables=total.tables + w.tables)
        X = np.zeros((len(X), layer.gates.m))
    del W
    return total
