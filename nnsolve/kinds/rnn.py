"""kind: rnn / bptt — an Elman RNN over a sequence, and backpropagation through time.

    a_t = U x_t + W h_{t-1} + b      h_t = f(a_t)      o_t = V h_t + c      ŷ_t = g(o_t)

``kind: rnn`` does the forward pass (and the loss when a target is given); with
``backward: true`` it is ``kind: bptt``, which always does the backward pass:

    ∂L/∂h_t = Vᵀ ∂L/∂o_t + Wᵀ δ_{t+1},      δ_t = f'(a_t) ⊙ ∂L/∂h_t
    ∂L/∂W = Σ_t δ_t h_{t-1}ᵀ,  ∂L/∂U = Σ_t δ_t x_tᵀ,  ∂L/∂b = Σ_t δ_t,
    ∂L/∂V = Σ_t ∂L/∂o_t h_tᵀ,  ∂L/∂c = Σ_t ∂L/∂o_t

Each formula is written once (see "formulas, stated once" below) and evaluated either as
nnsolve.expr steps (the worked time steps, printed symbolic → substituted → value) or on
plain numpy arrays (the other steps of a long sequence, the loss after the update, full
BPTT for comparison); both give the same float64 values.  Sequences up to 100 steps are
worked step by step; longer ones for their first and last 3 steps, every step being in
the tables.  Extras: ``clip`` (global gradient-norm clipping), ``truncate`` (truncated BPTT
over the last k steps) and the table of ‖∂h_T/∂h_t‖₂ (vanishing / exploding gradients).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .. import expr as E
from ..sheet import Sheet
from .. import nn
from .. import ops as O
from ..given import REQUIRED, Field, title
from ..schema import Reader

SUMMARIES = {
    "rnn": "Elman RNN forward pass over a sequence (a = U x + W h + b, h = f(a), ŷ = g(V h + c)); "
           "backward: true adds BPTT",
    "bptt": "Backpropagation through time for an Elman RNN: ∂L/∂h_t, δ_t, per-step and total "
            "gradients, ‖∂h_T/∂h_t‖, clipping, truncation, the update",
}

SUMMARY = SUMMARIES["bptt"]
HEADLINES = {"rnn": "Elman RNN forward pass", "bptt": "backpropagation through time (Elman RNN)"}

HIDDEN = ["tanh", "relu", "sigmoid", "linear"] + [n for n in nn.activation_names(elementwise_only=True)
                                                 if n not in ("tanh", "relu", "sigmoid", "linear")]
OUTPUT = ["sigmoid", "softmax", "linear", "tanh"]
LOSSES = ["bce", "cross_entropy", "half_sse", "mse"]
MAX_STEPS = 100_000  # time steps (the work estimate, work below, bounds the rest)
ALL_STEPS_SHOWN = 5  # sequences up to this long show every time step in the terminal
SMALL = 4  # vectors/matrices with no dimension above this are shown in full in tables
SUM_TERMS = 6  # sums over up to this many time steps are written out term by term
FULL_WORKING = 100  # sequences up to this long get a worked section for every time step;
EDGE = 3  # longer ones for the first and last EDGE steps (every step is in the tables)
EXPAND = 8  # a matrix row up to this long is written out term by term
OUTER_SHOWN = 16  # per-step parts (outer products) up to this many entries are steps of their own

LOSS_NAME = {name: rec.title for name, rec in nn.LOSSES.items()}
CANONICAL = {("sigmoid", "bce"), ("softmax", "cross_entropy"), ("linear", "half_sse")}


# -- the givens of rnn and bptt (they share their keys) ----------------------------------------

_TOKEN = {"type": ["string", "number", "boolean"]}
_TARGET = {"anyOf": [{"type": "number"}, {"type": "string"},
                     {"type": "array", "minItems": 1, "items": {"anyOf": [
                         {"type": "number"}, {"type": "string"},
                         {"type": "array", "minItems": 1, "items": {"type": "number"}}]}}]}


def _given(kind: str) -> tuple:
    bptt = kind == "bptt"
    backward_only = "show" if bptt else "hide"
    needs = () if bptt else (("backward", True),)  # rnn: only with backward: true
    return (
        title("My BPTT problem" if bptt else "My RNN forward pass"),
        Field("inputs", "list", "x_1 … x_T, each of length n", of="vector", shape=("T", "n"),
              instead=("tokens", "vocab"), example=[[1, 0, 0], [0, 1, 0], [0, 0, 1]],
              what="a list of input vectors x_1 … x_T"),
        Field("tokens", "list", "the sequence as words of the vocab (a list, or one text of words)", of="token",
              default=None, template="comment", example=["cat", "mat", "rat"],
              lead="or, one-hot encoded in vocab order (instead of inputs):",
              what="a list of tokens (words of the vocab)",
              schema={"anyOf": [{"type": "array", "minItems": 1, "items": _TOKEN}, {"type": "string"}]}),
        Field("vocab", "list", "the words, in the order of the one-hot components", of="token", default=None,
              template="comment", example=["cat", "mat", "rat"], what="a list of words (the vocabulary)"),
        Field("hidden_activation", "choice", "f, the hidden activation", choices=HIDDEN, default="tanh",
              example="tanh"),
        Field("negative_slope", "number", "leaky_relu only: the slope of f for a < 0", default=0.01, minimum=0,
              example=0.01, template="comment", needs=(("hidden_activation", "leaky_relu"),),
              what="the negative slope of a leaky_relu hidden layer, a number ≥ 0 (default 0.01)"),
        Field("output_activation", "choice", "g, the output activation", choices=OUTPUT, default=None,
              example="sigmoid",
              note="default: from the loss if given (bce → sigmoid, cross_entropy → softmax, half_sse/mse → "
                   "linear), else sigmoid for k = 1 output and softmax for k ≥ 2"),
        Field("output", "choice", "last (many-to-one: ŷ only at t = T) | every (many-to-many)",
              choices=("last", "every"), default="last", example="last"),
        Field("weights", "mapping", "matrices are outputs × inputs: a_t = U x_t + W h_{t-1} + b",
              what="a mapping with U, W, V (and optionally b, c)",
              example={"U": [[0.5, -0.3, 0.2], [0.1, 0.4, -0.6]], "W": [[0.3, -0.2], [0.4, 0.1]], "b": [0, 0],
                       "V": [[0.7, -0.5]], "c": [0]},
              fields=(Field("U", "matrix", "input → hidden", shape=("m", "n")),
                      Field("W", "matrix", "hidden → hidden", shape=("m", "m")),
                      Field("b", "vector", "hidden bias", shape=("m",), default=None, default_text="zeros"),
                      Field("V", "matrix", "hidden → output", shape=("k", "m")),
                      Field("c", "vector", "output bias", shape=("k",), default=None, default_text="zeros"))),
        Field("initial", "mapping", "h_0", default=None, default_text="zeros", flow=True, example={"h": [0, 0]},
              what="a mapping {h: [...]}",
              fields=(Field("h", "vector", "h_0, the initial hidden state", shape=("m",), default=None,
                            default_text="zeros"),)),
        Field("target", "any", "output: last → one target for ŷ_T; output: every → a list of T targets"
              + ("" if bptt else " (optional: to show the loss)"),
              default=REQUIRED if bptt else None, template="show" if bptt else "comment", example=1,
              schema=_TARGET,
              note="A target is a vector of length k (a scalar when k = 1); with softmax also a class index "
                   "counted from 0 (0 … k−1), or a token of the vocab when k = len(vocab)"),
        Field("loss", "choice", "the loss, summed over the time steps", choices=LOSSES, default=None,
              default_text="sigmoid → bce, softmax → cross_entropy, else half_sse", example="bce",
              template="show" if bptt else "comment"),
        Field("backward", "boolean", "kind bptt always does the backward pass" if bptt else
              "also do backpropagation through time (as kind: bptt), which allows learning_rate, clip and "
              "truncate", default=bptt, example=True, template="hide" if bptt else "comment",
              schema={"const": True} if bptt else None),
        Field("learning_rate", "number", "optional: also shows w ← w − η ∂L/∂w and the updated weights",
              notation=r"\eta", default=None, positive=True, example=0.1, template=backward_only, needs=needs,
              what="the learning rate η, a positive number"),
        Field("clip", "number", "optional: rescale the gradients so that their global norm "
              "√(‖∂L/∂U‖² + ‖∂L/∂W‖² + ‖∂L/∂b‖² + ‖∂L/∂V‖² + ‖∂L/∂c‖²) is at most this before the update",
              note="grad_* stay the true gradients; the clipped ones are grad_*_clipped",
              default=None, positive=True, example=1.0, template="comment" if bptt else "hide", needs=needs,
              what="the largest gradient norm, a positive number"),
        Field("truncate", "integer", "optional: truncated BPTT over the last k steps: h_{T−k} is a constant and "
              "only steps T−k+1 … T (and their loss terms) are differentiated",
              note="grad_*, dL_dh, grad_W_by_step are those of truncated BPTT (zero before the window); "
                   "truncate: T is full BPTT",
              default=None, minimum=1, example=2, template="comment" if bptt else "hide", needs=needs,
              what="the number of time steps k (1 … T) that truncated BPTT goes back"),
    )


GIVENS = {"rnn": _given("rnn"), "bptt": _given("bptt")}
GIVEN = GIVENS["bptt"]


# -- the problem ---------------------------------------------------------------------------

@dataclass
class Problem:
    kind: str
    X: np.ndarray  # T × n
    tokens: list | None
    vocab: list | None
    f: str
    g: str
    output: str
    U: np.ndarray
    W: np.ndarray
    b: np.ndarray
    V: np.ndarray
    c: np.ndarray
    h0: np.ndarray
    given: set = field(default_factory=set)  # which of b, c, h0 the file gave
    targets: list | None = None  # per output step: target vector (k,)
    target_labels: list | None = None  # per output step: text shown for the target (class, token)
    loss: str | None = None
    backward: bool = False
    eta: float | None = None
    clip: float | None = None
    truncate: int | None = None
    negative_slope: float = 0.01  # leaky_relu's, for the hidden layer

    @property
    def f_act(self):
        return nn.activation(self.f, negative_slope=self.negative_slope)

    @property
    def g_act(self):
        return nn.activation(self.g)

    @property
    def T(self) -> int:
        return len(self.X)

    @property
    def m(self) -> int:
        return self.W.shape[0]

    @property
    def n(self) -> int:
        return self.X.shape[1]

    @property
    def k(self) -> int:
        return self.V.shape[0]

    def out_steps(self) -> list[int]:
        """The time steps (1-based) with an output ŷ_t."""
        return list(range(1, self.T + 1)) if self.output == "every" else [self.T]


def _token_text(value) -> str | None:
    if isinstance(value, (list, dict)) or value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _what(value) -> str:
    return "a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict) else "nothing (null)"


def _describe_vocab(vocab) -> str:
    shown = vocab if len(vocab) <= 20 else vocab[:20] + ["…"]
    return "[" + ", ".join(shown) + "]"


def _numeric_rows(values) -> np.ndarray | None:
    """A long sequence read at once when it is plainly well-formed (every item a list of
    finite numbers, all of one length, or every item a number); else None, and the items
    are read one by one for a precise message."""
    if all(type(v) in (int, float) for v in values):
        rows = [[v] for v in values]
    elif all(type(v) is list for v in values):
        rows = values
        n = len(rows[0])
        if n == 0 or any(len(row) != n or not all(type(x) in (int, float) for x in row) for row in rows):
            return None
    else:
        return None
    try:
        arr = np.array(rows, dtype=float)
    except OverflowError:  # a whole number beyond float64: the reader says where
        return None
    return arr if np.isfinite(arr).all() else None


def _read_sequence(r: Reader):
    """inputs: [[…], …] or tokens + vocab → (X, tokens, vocab)."""
    has_inputs, has_tokens, has_vocab = r.has("inputs"), r.has("tokens"), r.has("vocab")
    if has_inputs and (has_tokens or has_vocab):
        raise r.error(("tokens",) if has_tokens else ("vocab",),
                      "give either inputs (a list of vectors) or tokens + vocab, not both")
    if has_inputs:
        items = r.items("inputs", what=r.fields["inputs"].what)
        if len(items) > MAX_STEPS:
            raise r.error(("inputs",), f"at most {MAX_STEPS} time steps, got {len(items)}")
        fast = _numeric_rows([v for _, v in items])
        if fast is not None:
            return fast, None, None
        first = r.array_value(items[0][1], items[0][0], ndim=1, what="x_1, the input vector of time step 1")
        n = len(first)
        rows = [first]
        for t, (path, value) in enumerate(items[1:], start=2):
            rows.append(r.array_value(value, path, ndim=1, shape=(n,),
                                      what=f"x_{t}, the input of time step {t}: a vector of length {n} (as x_1)"))
        return np.array(rows, dtype=float), None, None
    if not has_tokens:
        if has_vocab:
            raise r.error(r.path, "missing key 'tokens': the vocab one-hot encodes a list of tokens")
        raise r.error(r.path, "missing key 'inputs': expected a list of input vectors x_1 … x_T "
                              "(or tokens: […] with vocab: […])")
    if not has_vocab:
        raise r.error(r.path, "missing key 'vocab': tokens are one-hot encoded in vocab order, "
                              "e.g. vocab: [cat, mat, rat]")
    vocab = []
    for path, value in r.items("vocab", what=r.fields["vocab"].what):
        word = _token_text(value)
        if word is None:
            raise r.error(path, f"expected a word of the vocabulary, got {_what(value)}")
        if word in vocab:
            raise r.error(path, f"the word '{word}' appears twice in the vocab")
        vocab.append(word)
    raw = r.raw("tokens")
    if isinstance(raw, str):
        pairs = [(("tokens",), w) for w in raw.split()]
        if not pairs:
            raise r.error(("tokens",), "expected a list of tokens, got an empty text")
    else:
        pairs = r.items("tokens", what=r.fields["tokens"].what)
    if len(pairs) > MAX_STEPS:
        raise r.error(("tokens",), f"at most {MAX_STEPS} time steps, got {len(pairs)}")
    index = {w: i for i, w in enumerate(vocab)}
    X = np.zeros((len(pairs), len(vocab)))
    tokens = []
    for t, (path, value) in enumerate(pairs):
        word = _token_text(value)
        if word is None:
            raise r.error(path, f"expected a token (a word of the vocab {_describe_vocab(vocab)}), got {_what(value)}")
        if word not in index:
            raise r.error(path, f"unknown token '{word}' (time step {t + 1}): not in the vocab {_describe_vocab(vocab)}")
        X[t, index[word]] = 1.0
        tokens.append(word)
    return X, tokens, vocab


def _read_target(r: Reader, value, path, k: int, g: str, loss: str, vocab, what_step: str):
    """One target → (vector of length k, label text or None)."""
    label = None
    if isinstance(value, str) and vocab is not None and g == "softmax" and value in vocab:
        if len(vocab) != k:
            raise r.error(path, f"the token '{value}' can be a target only when the output has one class per "
                                f"vocab word ({len(vocab)}), but V has k = {k} rows")
        cls = vocab.index(value)
        y = np.zeros(k)
        y[cls] = 1.0
        return y, f"'{value}' (class {cls})"
    scalar = not isinstance(value, (list, dict))
    if scalar and g == "softmax":
        x = r.array_value(value, path, ndim=1, what=f"{what_step}: a class index 0 … {k - 1} or a vector of length {k}")[0]
        if not float(x).is_integer() or not 0 <= x < k:
            raise r.error(path, f"expected {what_step} as a class index, a whole number from 0 to {k - 1} "
                                f"(classes are counted from 0), got {x:g}")
        y = np.zeros(k)
        y[int(x)] = 1.0
        return y, f"class {int(x)}"
    y = r.array_value(value, path, ndim=1, shape=(k,),
                      what=f"{what_step}: a vector of length {k} (k = {k} outputs, the rows of V)"
                      + (" or a class index" if g == "softmax" else ""))
    if loss in ("bce", "cross_entropy") and (np.any(y < 0) or np.any(y > 1)):
        raise r.error(path, f"expected {what_step} with components between 0 and 1 for the "
                            f"{LOSS_NAME[loss]} loss, got {', '.join(f'{v:g}' for v in y)}")
    if loss == "cross_entropy" and g == "softmax" and abs(y.sum() - 1.0) > 1e-9:
        raise r.error(path, f"expected {what_step} to be a probability distribution (summing to 1) for "
                            f"softmax with cross-entropy, got components summing to {y.sum():g}")
    return y, label


def read(r: Reader, kind: str) -> Problem:
    X, tokens, vocab = _read_sequence(r)
    T, n = X.shape
    f, negative_slope = r.values("hidden_activation", "negative_slope")
    if r.has("negative_slope") and f != "leaky_relu":
        raise r.error(("negative_slope",), f"negative_slope is for hidden_activation: leaky_relu (it is {f})")
    output = r.field("output")

    wr = r.sub("weights", what=r.fields["weights"].what)
    W = wr.matrix("W", what="W, the hidden → hidden weights, a square m × m matrix (a list of rows)")
    m = W.shape[0]
    if W.shape[1] != m:
        raise wr.error(wr.path + ("W",), f"expected W, the hidden → hidden weights, to be square (m × m), "
                                         f"got {W.shape[0]} × {W.shape[1]}")
    U = wr.matrix("U", shape=(m, n), what=f"U, the input → hidden weights, an m × n = {m} × {n} matrix "
                                          f"(m = {m} hidden units as W, n = {n} inputs per time step)")
    V = wr.matrix("V", what=f"V, the hidden → output weights, a k × m matrix with m = {m} columns")
    if V.shape[1] != m:
        raise wr.error(wr.path + ("V",), f"expected V, the hidden → output weights, to have m = {m} columns "
                                         f"(one per hidden unit, as W), got {V.shape[0]} × {V.shape[1]}")
    k = V.shape[0]
    given = set()
    b = wr.vector("b", None, length=m, what=f"b, the hidden bias, a vector of length m = {m}")
    c = wr.vector("c", None, length=k, what=f"c, the output bias, a vector of length k = {k} (the rows of V)")
    if b is not None:
        given.add("b")
    if c is not None:
        given.add("c")
    b = np.zeros(m) if b is None else b
    c = np.zeros(k) if c is None else c
    wr.finish()

    h0 = np.zeros(m)
    ir = r.sub("initial", None, what=r.fields["initial"].what)
    if ir is not None:
        h = ir.vector("h", None, length=m, what=f"h_0, the initial hidden state, a vector of length m = {m}")
        if h is not None:
            h0 = h
            given.add("h0")
        ir.finish()

    loss = r.field("loss")
    if r.has("output_activation"):
        g = r.field("output_activation")
    elif loss == "bce" or (loss == "cross_entropy" and k == 1):
        g = "sigmoid"
    elif loss == "cross_entropy":
        g = "softmax"
    elif loss in ("half_sse", "mse"):
        g = "linear"
    else:
        g = "sigmoid" if k == 1 else "softmax"
    if g == "softmax" and k < 2:
        raise r.error(("output_activation",) if r.has("output_activation") else ("weights", "V"),
                      "softmax needs k ≥ 2 outputs (V has 1 row, and the softmax of one number is always 1); "
                      "use output_activation: sigmoid for a single output")
    if loss is None:
        loss = {"sigmoid": "bce", "softmax": "cross_entropy"}.get(g, "half_sse")
        loss_given = False
    else:
        loss_given = True
    if loss in ("bce", "cross_entropy") and g not in ("sigmoid", "softmax"):
        raise r.error(("loss",), f"the {LOSS_NAME[loss]} loss needs outputs between 0 and 1: use "
                                 f"output_activation sigmoid or softmax (it is {g}), or loss half_sse / mse")

    if kind == "bptt":
        if not r.field("backward"):  # declared with default true for bptt
            raise r.error(("backward",), "kind bptt always does the backward pass; for the forward pass "
                                         "alone use kind: rnn")
        backward = True
    else:
        backward = r.field("backward")
        if not backward:
            for key in ("learning_rate", "clip", "truncate"):
                if r.has(key):
                    raise r.error((key,), f"{key} needs the backward pass: add backward: true (or use kind: bptt)")

    targets = labels = None
    if r.has("target"):
        raw = r.raw("target")
        steps = list(range(1, T + 1)) if output == "every" else [T]
        if output == "every":
            if not isinstance(raw, list):
                raise r.error(("target",), f"expected a list of T = {T} targets, one per time step "
                                           f"(output: every), got a single value")
            if len(raw) != T:
                raise r.error(("target",), f"expected T = {T} targets, one per time step (output: every), "
                                           f"got {len(raw)}")
            pairs = [(("target", i), v) for i, v in enumerate(raw)]
        else:
            pairs = [(("target",), raw)]
        targets, labels = [], []
        for t, (path, value) in zip(steps, pairs):
            y, label = _read_target(r, value, path, k, g, loss, vocab, f"the target y_{t} of time step {t}")
            targets.append(y)
            labels.append(label)
    elif backward:
        raise r.error(r.path, "missing key 'target': the backward pass needs the target"
                      + (f"s (a list of T = {T}, output: every)" if output == "every" else " of the last output ŷ_T"))
    elif loss_given:
        raise r.error(("loss",), "a loss needs a target: add target: …")

    eta = clip = truncate = None
    if backward:
        eta, clip = r.values("learning_rate", "clip")
        truncate = r.field("truncate", what=f"the number of time steps k (1 … T = {T}) that truncated BPTT goes back")
        if truncate is not None and truncate > T:
            raise r.error(("truncate",), f"expected a whole number of steps from 1 to T = {T}, got {truncate}")
    return Problem(kind, X, tokens, vocab, f, g, output, U, W, b, V, c, h0, given, targets, labels,
                   loss, backward, eta, clip, truncate, negative_slope)


def work(p: Problem):
    """The size of the working (nnsolve.work): the forward pass, and with the backward
    pass the per-step parts of every gradient (grad_W_by_step: T matrices m × m), the
    Jacobian products and their spectral norms (T singular value decompositions of m × m)."""
    from .. import work as W
    T, m, n, k = p.T, p.m, p.n, p.k
    outs = T if p.output == "every" else 1
    small = max(m, n, k) <= SMALL
    worked = T if T <= FULL_WORKING else 2 * EDGE
    fwd_step = W.step(m, m * (n + m + 1) if m <= SMALL else 0) + W.step(m, m) \
        + (outs / T) * (W.step(k, k * (m + 1)) + W.step(k, k) + W.step(1, 2 * k))
    steps = T * 4 + outs * 4
    numbers = T * (2 * m + 2 * k)
    flops = 2 * T * m * (n + m) + 2 * outs * k * m
    results = T * m + outs * k + 1
    tables = [(T, W.cell(n) + 2), (1, 6 * 3), ((T, 2 * W.cell(m) + 2 * W.cell(k) + 2) if small else (T, 4))]
    detail = (worked if T > ALL_STEPS_SHOWN else 0, fwd_step)
    shown = 0 if T > ALL_STEPS_SHOWN else T * fwd_step
    if p.backward:
        span = T if p.truncate is None else p.truncate
        steps += span * 8 + 20
        numbers += 3 * T * (m * n + m * m + k * m) + T * m * m  # the parts, and the Jacobian products
        flops += 6 * span * (m * n + m * m + k * m) + T * m ** 3 + 10 * T * m ** 3  # products; their norms
        results += T * m + T * m * m + 2 * (m * n + m * m + m + k * m + k) + 2 * T + 4
        bwd_step = 2 * W.step(m, 2 * m * (m + 1) if m <= SMALL else 0) + 3 * W.step(m * max(m, n, k), 2 * m * m) \
            + (outs / T) * W.step(k, 3 * k)
        detail = (detail[0] * 2 if T > ALL_STEPS_SHOWN else 0, (detail[1] + bwd_step) / 2)
        shown += (0 if T > ALL_STEPS_SHOWN else T * bwd_step) + 8 * W.step(m * max(m, n, k), 0)
        cells = (2 * W.cell(m) + 2 * W.cell(k) + 3 * W.cell(m * max(m, n, k))) if small else 6
        tables += [(T, cells + 1), (T, 3), (5, 2 * W.cell(m * max(m, n, k)))]
    seq = "tokens" if p.tokens is not None else "inputs"
    return W.Work(what=f"{'BPTT' if p.backward else 'an RNN forward pass'} over T = {T:,} time steps with "
                       f"n = {n:,} inputs, m = {m:,} hidden units and k = {k:,} outputs",
                  key=(seq,), shrink="use fewer time steps, inputs, hidden units or outputs",
                  steps=steps, numbers=numbers, flops=flops, results=results, detail=detail,
                  shown=shown + 10 * W.SHOWN_STEP, tables=tables)


# -- formulas, stated once ------------------------------------------------------------------
#
# Each formula below is written once with the operations of nnsolve.ops and handed to a page
# of the sheet (nnsolve.sheet): a shown page records it as a step of a worked time step, the
# silent page only computes it (the time steps that are only in the tables), and the scratch
# page computes without remembering anything (the loss after the update, full BPTT for
# comparison). expr computes its values with the same numpy operations in the same order,
# so all of them give the same float64 numbers.

def _dd(num: str, den: str) -> str:
    return r"\frac{\partial " + num + r"}{\partial " + den + "}"


def _part(w: str, t) -> str:
    """The part of ∂L/∂w contributed at time step t (t a number, or "t")."""
    return _dd("L", w) + (r"\Big|_{t}" if t == "t" else r"\Big|_{t=" + str(t) + "}")


def _mv(page, M, M_tex: str, v, compact: bool):
    """M v; when the matrix is too large to write out usefully, the product appears as a
    named vector (its value is the one M v computes)."""
    e = M @ v
    if page.shown and compact:
        return E.Sym(M_tex + " " + v.tex, e.value)
    return e


def _outer_step(page, path, label: str, lhs: str, a, b):
    """a bᵀ as a step, or (too large to print usefully) just its settled value."""
    e = O.outer(a, b)
    if page.shown and e.size > OUTER_SHOWN:
        return E.Sym(lhs, page.sheet.settle(path if page.keep else None, e.value))
    return page.step(path, lhs, e, label)


def _fprime(act, a, h):
    """f'(a_t), as the library writes it (in h_t where the classic identity exists)."""
    return O.prime(act, a, h)


def _loss(rec, yh, y, g=None, o=None):
    # inside Σ_j the products are of components: written y ln ŷ, not y ⊙ ln ŷ; the logarithms
    # of a sigmoid or softmax output from its net input o (exact where ŷ rounds to 0 or 1)
    return rec.formula(y, yh, nn.log_terms(g, o, yh) if o is not None else None)


@dataclass
class Net:
    """The weights, as numpy arrays."""
    U: np.ndarray
    W: np.ndarray
    b: np.ndarray
    V: np.ndarray
    c: np.ndarray


@dataclass
class Fwd:
    A: np.ndarray  # T × m, a_t in row t − 1
    H: np.ndarray  # (T + 1) × m, h_t in row t (h_0 in row 0)
    O: np.ndarray  # T × k (rows of steps with an output)
    Y: np.ndarray  # T × k, ŷ_t
    L: np.ndarray  # T, L_t (0 where no loss)
    loss: float | None


def _forward(p: Problem, net: Net, page_for) -> Fwd:
    """The forward pass; page_for(t) gives the page of time step t."""
    T, m, k = p.T, p.m, p.k
    A, H = np.zeros((T, m)), np.zeros((T + 1, m))
    Os, Y, L = np.zeros((T, k)), np.zeros((T, k)), np.zeros(T)
    H[0] = p.h0
    last_only = p.output == "last"
    f, g, rec = p.f_act, p.g_act, nn.loss(p.loss) if p.loss else None
    cU, cW, cV = p.m > SMALL or p.n > EXPAND, p.m > SMALL, k > SMALL or p.m > EXPAND
    for t in range(1, T + 1):
        page = page_for(t)
        U, W, b = page.sym("U", net.U), page.sym("W", net.W), page.sym("b", net.b)
        x, hp = page.sym(f"x_{{{t}}}", p.X[t - 1]), page.sym(f"h_{{{t - 1}}}", H[t - 1])
        a = page.step(None, f"a_{{{t}}}", _mv(page, U, "U", x, cU) + _mv(page, W, "W", hp, cW) + b,
                      "Net input of the hidden layer" if t == 1 else "Net input")
        h = page.step(("h", t), f"h_{{{t}}}", O.apply(f, a), "Hidden state")
        A[t - 1], H[t] = O.value(a), O.value(h)
        if last_only and t < T:
            continue
        V, c = page.sym("V", net.V), page.sym("c", net.c)
        o = page.step(None, f"o_{{{t}}}", _mv(page, V, "V", h, cV) + c, "Output net input")
        yh = page.step(("y_hat",) if last_only else ("y_hat", t), rf"\hat{{y}}_{{{t}}}", O.apply(g, o), "Output")
        Os[t - 1], Y[t - 1] = O.value(o), O.value(yh)
        if p.targets is not None:
            y = page.sym(f"y_{{{t}}}", p.targets[0 if last_only else t - 1])
            L[t - 1] = O.value(page.step(None, f"L_{{{t}}}", _loss(rec, yh, y, g, o), f"Loss ({rec.title})",
                                         scalar=True))
    loss = math.fsum(L) if p.targets is not None else None
    return Fwd(A, H, Os, Y, L, loss)


@dataclass
class Bwd:
    dLdo: np.ndarray  # T × k (zero rows where there is no output)
    dLdh: np.ndarray  # T × m
    delta: np.ndarray  # T × m
    parts: dict  # name -> array over t (T × shape), zeros outside the window
    grads: dict  # name -> the total
    start: int  # first time step of the window (1 without truncation)


def _output_error(p: Problem, page, t: int, yh, y, o_value):
    """∂L/∂o_t, through ∂L/∂ŷ_t unless the pair (g, loss) simplifies to ŷ − y."""
    k = p.k
    g, rec = p.g_act, nn.loss(p.loss)
    lhs = _dd("L", f"o_{{{t}}}")
    if rec.canonical == p.g:
        note = (f"$g = {g.tex}$ with the {rec.title}: the derivative of g cancels against that of the loss, "
                r"so $\partial L/\partial o = \hat{y} - y$")
        return page.step(None, lhs, yh - y, "Error at the output", note=note)
    gy = page.step(None, _dd("L", rf"\hat{{y}}_{{{t}}}"), rec.grad(y, yh), "Derivative of the loss by the output")
    if p.g == "softmax":
        s = page.step(None, f"s_{{{t}}}", O.total(O.times(yh, gy, k)),
                      "Through the softmax: first the weighted sum ŷᵀ ∂L/∂ŷ")
        return page.step(None, lhs, O.times(yh, gy - s, k), "then ∂L/∂o = ŷ ⊙ (∂L/∂ŷ − s)")
    if g.identity_map:
        page.text(f"Linear output: $\\frac{{\\partial L}}{{\\partial o_{{{t}}}}} = "
                  f"\\frac{{\\partial L}}{{\\partial \\hat{{y}}_{{{t}}}}}$.", "note")
        return page.sym(lhs, O.value(gy))
    gprime = _prime_tex(g, "o", r"\hat{y}")
    return page.step(None, lhs, O.times(O.prime(g, page.sym(f"o_{{{t}}}", o_value), yh), gy, k),
                     f"Through $g = {g.tex}$: $g'(o) = {gprime}$")


def _prime_tex(act, v: str, y: str) -> str:
    """f' as the library writes it, in the kind's symbols."""
    from ..render.formula import symbolic
    return symbolic(act.prime(E.Sym(v, np.zeros(2)), E.Sym(y, np.zeros(2))))


def _backward(p: Problem, fw: Fwd, net: Net, page_for, start: int = 1) -> Bwd:
    """BPTT from t = T down to t = start; h_{start−1} is a constant (truncation)."""
    T, m, n, k = p.T, p.m, p.n, p.k
    last_only = p.output == "last"
    f = p.f_act
    dLdo, dLdh, delta = np.zeros((T, k)), np.zeros((T, m)), np.zeros((T, m))
    parts = {"U": np.zeros((T, m, n)), "W": np.zeros((T, m, m)), "b": np.zeros((T, m)),
             "V": np.zeros((T, k, m)), "c": np.zeros((T, k))}
    cV, cW = m > SMALL or k > EXPAND, m > SMALL
    for t in range(T, start - 1, -1):
        page = page_for(t)
        terms = []
        out = not last_only or t == T
        if out:
            yh = page.sym(rf"\hat{{y}}_{{{t}}}", fw.Y[t - 1])
            y = page.sym(f"y_{{{t}}}", p.targets[0 if last_only else t - 1])
            go = _output_error(p, page, t, yh, y, fw.O[t - 1])
            V = page.sym("V", net.V)
            terms.append(_mv(page, V.T, r"V^{\top}", go, cV))
            parts["V"][t - 1] = O.value(_outer_step(page, None, f"Part of ∂L/∂V at t = {t}", _part("V", t), go,
                                                    page.sym(f"h_{{{t}}}", fw.H[t])))
            dLdo[t - 1] = parts["c"][t - 1] = O.value(go)
        if t < T:
            W = page.sym("W", net.W)
            terms.append(_mv(page, W.T, r"W^{\top}", page.sym(rf"\delta_{{{t + 1}}}", delta[t]), cW))
        label = "Error at the hidden state" + (" (from the output and from step t + 1)" if len(terms) > 1 else
                                                " (from step t + 1)" if t < T else " (from the output)")
        dh = page.step(("dL_dh", t), _dd("L", f"h_{{{t}}}"), terms[0] if len(terms) == 1 else terms[0] + terms[1],
                       label)
        if f.identity_map:
            d = page.sym(rf"\delta_{{{t}}}", O.value(dh))
            page.text(f"Linear hidden layer, f' = 1: $\\delta_{{{t}}} = \\frac{{\\partial L}}{{\\partial h_{{{t}}}}}$.",
                      "note")
        else:
            fp = _fprime(f, page.sym(f"a_{{{t}}}", fw.A[t - 1]), page.sym(f"h_{{{t}}}", fw.H[t]))
            d = page.step(None, rf"\delta_{{{t}}}", O.times(fp, dh, m),
                          f"Back through f: $\\delta_{{{t}}} = \\partial L / \\partial a_{{{t}}}$")
        dLdh[t - 1], delta[t - 1] = O.value(dh), O.value(d)
        parts["W"][t - 1] = O.value(_outer_step(page, ("grad_W_by_step", t), f"Part of ∂L/∂W at t = {t}",
                                                _part("W", t), d, page.sym(f"h_{{{t - 1}}}", fw.H[t - 1])))
        parts["U"][t - 1] = O.value(_outer_step(page, None, f"Part of ∂L/∂U at t = {t}", _part("U", t), d,
                                                page.sym(f"x_{{{t}}}", p.X[t - 1])))
        parts["b"][t - 1] = delta[t - 1]
        if page.shown:
            _parts_note(page, t, out, m, n, k)
    if page.keep:  # before the window of truncated BPTT nothing flows back: zeros
        for t in range(1, start):
            page.sheet.result(("dL_dh", t), dLdh[t - 1])
            page.sheet.result(("grad_W_by_step", t), parts["W"][t - 1])
    grads = {}
    for name, arr in parts.items():
        total = np.zeros(arr.shape[1:])
        for t in range(start, T + 1):  # in order, as the written-out sum adds them
            total = total + arr[t - 1]
        grads[name] = total
    return Bwd(dLdo, dLdh, delta, parts, grads, start)


def _parts_note(page, t: int, out: bool, m: int, n: int, k: int) -> None:
    big = [(nm, f"{a} {b}^{{\\top}}") for nm, a, b, size, here in
           (("V", _dd("L", f"o_{{{t}}}"), f"h_{{{t}}}", k * m, out),
            ("W", rf"\delta_{{{t}}}", f"h_{{{t - 1}}}", m * m, True),
            ("U", rf"\delta_{{{t}}}", f"x_{{{t}}}", m * n, True))
           if here and size > OUTER_SHOWN]
    texts = [f"${_part(nm, t)} = {tex}$" for nm, tex in big]
    texts.append(f"${_part('b', t)} = \\delta_{{{t}}}$")
    if out:
        texts.append(f"${_part('c', t)} = {_dd('L', f'o_{{{t}}}')}$")
    page.text("Also, at this step: " + ", ".join(texts)
              + (" (matrices too large to print here: they are in the results, e.g. grad_W_by_step)" if big else "")
              + ".")


def jacobian_norms(W: np.ndarray, fprime: np.ndarray):
    """‖∂h_T/∂h_t‖₂ for t = 1 … T, with ∂h_T/∂h_t = J_T J_{T−1} ⋯ J_{t+1}, J_s = diag(f'(a_s)) W.

    A backward running product (O(T m³) in all); P is kept rescaled, with the scale kept
    as a logarithm, so that products far beyond the float64 range keep their size.
    Returns (norms, log10 norms); a norm beyond float64 is inf, its log10 stays finite."""
    T, m = fprime.shape
    P = np.eye(m)
    logscale = 0.0
    Ps = np.empty((T, m, m))
    logs = np.zeros(T)
    Ps[T - 1] = P
    for t in range(T - 1, 0, -1):  # row t − 1 holds ∂h_T/∂h_t = (∂h_T/∂h_{t+1}) J_{t+1}
        P = P @ (fprime[t][:, None] * W)
        s = float(np.max(np.abs(P)))
        if s > 0 and (s > 1e100 or s < 1e-100):
            P = P / s
            logscale += math.log(s)
        Ps[t - 1] = P
        logs[t - 1] = logscale
    sv = np.full(T, np.nan)  # NaN where the product is not finite (an overflowing forward pass)
    finite = np.isfinite(Ps).all(axis=(1, 2))
    if finite.any():
        sv[finite] = np.linalg.norm(Ps[finite], ord=2, axis=(1, 2))
    with np.errstate(divide="ignore", over="ignore"):
        lognorm = logs + np.log(sv)  # -inf where the product is exactly 0
        norms = np.exp(lognorm)
    return norms, lognorm / math.log(10)


# -- the working ---------------------------------------------------------------------------

def _norms(a: np.ndarray) -> list:
    """The (Frobenius) norm of every row a[t] of a stack of vectors or matrices."""
    return np.sqrt(np.sum(a.reshape(len(a), -1) ** 2, axis=1)).tolist()


def _cell(a: np.ndarray, small: bool):
    """A table cell: the array itself when small, else its Frobenius norm."""
    return a if small else float(np.linalg.norm(a))


def solve(p: Problem, w) -> None:
    """``w``: the sheet (nnsolve.sheet.Sheet)."""
    T, m, n, k = p.T, p.m, p.n, p.k
    detail = T > ALL_STEPS_SHOWN
    small = max(m, n, k) <= SMALL
    net = Net(p.U, p.W, p.b, p.V, p.c)
    start = 1 if p.truncate is None else T - p.truncate + 1
    _intro(p, w)

    def worked(t: int) -> bool:
        return T <= FULL_WORKING or t <= EDGE or t > T - EDGE

    def gap(title: str) -> None:
        g = w.section(title, level=3, detail=detail)
        g.text(f"A sequence of T = {T} steps: only the first and last {EDGE} time steps are worked out "
               "in full; every step goes the same way, and the tables below list all of them.", "note")

    def forward_mode(t: int):
        if not worked(t):
            if t == EDGE + 1:
                gap(f"Forward pass, time steps {EDGE + 1} … {T - EDGE}")
            return w.silent
        return (w.section(f"Forward pass, time step t = {t}"
                                + (f" (token '{p.tokens[t - 1]}')" if p.tokens else ""), level=3, detail=detail))

    def backward_mode(t: int):
        if not worked(t):
            if t == T - EDGE:
                gap(f"Backward pass, time steps {T - EDGE} … {max(EDGE + 1, start)}")
            return w.silent
        return w.section(f"Backward pass, time step t = {t}", level=3, detail=detail)

    fw = _forward(p, net, forward_mode)
    _forward_table(p, w, fw)
    if p.targets is not None:
        _loss_section(p, w, fw)
    if not p.backward:
        return

    _rules_backward(p, w, start)
    bw = _backward(p, fw, net, backward_mode, start)
    _parts_table(p, w, bw, small)
    grads = _totals(p, w, bw)
    jn, jlog = _vanishing(p, w, fw, start)
    w.result(("jacobian_norms",), jn, finite=False)  # beyond float64 is ∞ here; its log10 stays finite
    w.result(("jacobian_log10_norms",), jlog, finite=False)  # −∞: the product is exactly 0
    if p.truncate is not None:
        w.result(("truncate_start",), start, exact=True)
        _truncation_compare(p, w, fw, net, bw)
    if p.clip is not None:
        grads = _clip(p, w, grads)
    else:
        s = w.section("Gradient norm")
        _norm_step(s, grads)
        s.text("A large norm means a large step; clip: θ would rescale the gradients to norm θ.", "note")
    if p.eta is not None:
        _update(p, w, net, grads, fw)


def _target_text(p: Problem, i: int):
    label = p.target_labels[i] if p.target_labels else None
    return p.targets[i] if label is None else label


def _intro(p: Problem, w: Sheet) -> None:
    T, m, n, k = p.T, p.m, p.n, p.k
    s = w.section("Problem")
    mode = ("many-to-one: one output $\\hat{y}_{%d}$ after the last step" % T if p.output == "last"
            else "many-to-many: an output $\\hat{y}_{t}$ at every step")
    plural = lambda q: "" if q == 1 else "s"
    s.text(f"An Elman RNN with n = {n} input{plural(n)}, m = {m} hidden unit{plural(m)} and k = {k} "
           f"output{plural(k)}, run over T = {T} time step{plural(T)}; {mode}. Hidden activation "
           f"$f = {p.f_act.tex}$, output activation $g = {p.g_act.tex}$"
           + (f", loss: {LOSS_NAME[p.loss]}" + (" summed over the time steps" if p.output == "every" else "")
              if p.targets is not None else "") + ".")
    if p.tokens:
        s.text("The tokens are one-hot encoded in vocab order: "
               + ", ".join(f"{word} → position {i + 1}" for i, word in enumerate(p.vocab[:12]))
               + (", …" if len(p.vocab) > 12 else "") + ".")
    if p.targets is not None and p.g == "softmax" and any(p.target_labels or []):
        s.text("Class indices count from 0: class i is the one-hot target with a 1 in position i + 1.", "note")
    given = lambda key: "" if key in p.given else " (not given: 0)"
    big = lambda a: a if a.size <= 32 else f"{' × '.join(map(str, a.shape))} {'matrix' if a.ndim == 2 else 'vector'}" \
        " (as given in the problem file)"
    s.table(["", "value"], [["U, input → hidden", big(p.U)], ["W, hidden → hidden", big(p.W)],
                            ["b, hidden bias" + given("b"), big(p.b)], ["V, hidden → output", big(p.V)],
                            ["c, output bias" + given("c"), big(p.c)], ["$h_{0}$" + given("h0"), big(p.h0)]]
            + ([[r"$\eta$", p.eta]] if p.eta is not None else []))
    rows = []
    for t in range(1, T + 1):
        row = [t] + ([p.tokens[t - 1]] if p.tokens else []) + [p.X[t - 1]]
        if p.targets is not None:
            if p.output == "every":
                row.append(_target_text(p, t - 1))
            else:
                row.append(_target_text(p, 0) if t == T else "")
        rows.append(row)
    s.table(["t"] + (["token"] if p.tokens else []) + ["x_{t}"] + (["y_{t}"] if p.targets is not None else []),
            rows, title="The sequence")
    r = w.section("Rules")
    r.math(r"a_{t} = U x_{t} + W h_{t-1} + b", "net input")
    r.math(rf"h_{{t}} = f(a_{{t}}) = {p.f_act.tex}(a_{{t}})", "hidden state")
    r.math(r"o_{t} = V h_{t} + c", "output net input")
    r.math(rf"\hat{{y}}_{{t}} = g(o_{{t}}) = {p.g_act.tex}(o_{{t}})",
           "output" + (f" (only at t = T = {T})" if p.output == "last" else " (every step)"))
    if p.targets is not None:
        r.math("L_{t} = " + nn.loss(p.loss).rule("y_{t,j}", r"\hat{y}_{t,j}"), "loss")
        r.math(r"L = \sum_{t=1}^{" + str(T) + r"} L_{t}" if p.output == "every" else rf"L = L_{{{T}}}", "total loss")
    if p.output == "last" and T > 1:
        r.text("Many-to-one: $o_{t}$ and $\\hat{y}_{t}$ are formed only at the last step.", "note")


def _forward_table(p: Problem, w: Sheet, fw: Fwd) -> None:
    T, m = p.T, p.m
    s = w.section("Forward pass: all time steps")
    every = p.output == "every"
    wide, kwide = m > SMALL, p.k > SMALL  # then a norm stands for the vector
    cols = ["t"] + (["token"] if p.tokens else []) + ([r"\lVert{h_{t}}\rVert"] if wide else ["a_{t}", "h_{t}"])
    if every:
        cols += [r"\lVert{\hat{y}_{t}}\rVert"] if kwide else ["o_{t}", r"\hat{y}_{t}"]
        cols += ["L_{t}"] if p.targets is not None else []
    hn = _norms(fw.H[1:]) if wide else None
    yn = _norms(fw.Y) if kwide else None
    rows = []
    for t in range(1, T + 1):
        row = [t] + ([p.tokens[t - 1]] if p.tokens else [])
        row += [hn[t - 1]] if wide else [fw.A[t - 1], fw.H[t]]
        if every:
            row += [yn[t - 1]] if kwide else [fw.O[t - 1], fw.Y[t - 1]]
            row += [float(fw.L[t - 1])] if p.targets is not None else []
        rows.append(row)
    s.table(cols, rows, note=("Vectors with more than 4 components are shown by their norm ‖·‖; the JSON "
                              "results carry h in full." if wide or (every and kwide) else None))


def _loss_section(p: Problem, w: Sheet, fw: Fwd) -> None:
    T = p.T
    s = w.section("Loss")
    if p.output == "last":
        s.text(f"Many-to-one: only the last output counts, $L = L_{{{T}}}$.")
        s.table([rf"\hat{{y}}_{{{T}}}", f"y_{{{T}}}", "L"], [[fw.Y[T - 1], _target_text(p, 0), fw.loss]])
        w.result(("loss",), fw.loss, scalar=True)
    elif T <= 8:
        s.step(("loss",), "L", E.Add([(1, E.Sym(f"L_{{{t}}}", fw.L[t - 1])) for t in range(1, T + 1)]),
               "Summed over the time steps", scalar=True)
    else:
        s.step(("loss",), "L", E.Sym(rf"\sum_{{t=1}}^{{{T}}} L_{{t}}", fw.loss), "Summed over the time steps",
               scalar=True)
    if not math.isfinite(fw.loss):
        s.text("The loss is not finite: an output reached exactly 0 or 1 where its logarithm is taken.", "warning")


def _rules_backward(p: Problem, w: Sheet, start: int) -> None:
    T = p.T
    s = w.section("Backpropagation through time: the rules")
    s.text("W, U and b are used at every time step, so each gets a part from every step: the chain rule "
           "along every path from L back to the weight, as the notes expand it "
           "($\\partial^{+}$ is the immediate derivative, with $h_{t-1}$ held fixed):")
    s.math(_expansion(T, p.output), "expansion")
    s.text("Instead of writing every path out, BPTT collects them backwards in $\\frac{\\partial L}{\\partial h_{t}}$:")
    s.math(r"\frac{\partial L}{\partial h_{t}} = V^{\top} \frac{\partial L}{\partial o_{t}} + W^{\top} \delta_{t+1}"
           r", \quad \delta_{t} = \frac{\partial L}{\partial a_{t}} = f'(a_{t}) \odot \frac{\partial L}{\partial h_{t}}",
           "errors")
    s.math(rf"f'(a_{{t}}) = {_prime_tex(p.f_act, 'a_{t}', 'h_{t}')}",
           f"for $f = {p.f_act.tex}$")
    s.text("(the $V^{\\top}$ term only at steps with an output"
           + (f", here only t = {T}" if p.output == "last" else "")
           + f"; the $W^{{\\top}}$ term only for t < T, as $\\delta_{{{T + 1}}} = 0$.)")
    s.math(r"\frac{\partial L}{\partial W} = \sum_{t} \delta_{t} h_{t-1}^{\top}, \quad "
           r"\frac{\partial L}{\partial U} = \sum_{t} \delta_{t} x_{t}^{\top}, \quad "
           r"\frac{\partial L}{\partial b} = \sum_{t} \delta_{t}", "hidden weights")
    s.math(r"\frac{\partial L}{\partial V} = \sum_{t} \frac{\partial L}{\partial o_{t}} h_{t}^{\top}, \quad "
           r"\frac{\partial L}{\partial c} = \sum_{t} \frac{\partial L}{\partial o_{t}}", "output weights")
    if start > 1:
        k = p.truncate
        s.text(f"Truncated BPTT over the last k = {k} step{'s' if k > 1 else ''}: the backward pass runs only "
               f"from t = {T} down to t = {start}. $h_{{{start - 1}}}$ counts as a constant (as after "
               f"h.detach()), and the steps t ≤ {start - 1}, with their loss terms, add nothing to the "
               f"gradients.", "note")


def _expansion(T: int, output: str) -> str:
    """The notes' expansion of ∂L/∂W into chain-rule products, one per time step."""
    def path(s: int, t: int) -> str:
        chain = "".join(rf" \frac{{\partial h_{{{j}}}}}{{\partial h_{{{j - 1}}}}}" for j in range(s, t, -1))
        return (rf"\frac{{\partial L}}{{\partial o_{{{s}}}}} \frac{{\partial o_{{{s}}}}}{{\partial h_{{{s}}}}}"
                + chain + rf" \frac{{\partial^{{+}}h_{{{t}}}}}{{\partial W}}")
    if output == "last" and T <= 3:
        return r"\frac{\partial L}{\partial W} = " + " + ".join(path(T, t) for t in range(T, 0, -1))
    if output == "last":
        return (r"\frac{\partial L}{\partial W} = \sum_{t=1}^{" + str(T) + r"} \frac{\partial L}{\partial o_{"
                + str(T) + r"}} \frac{\partial o_{" + str(T) + r"}}{\partial h_{" + str(T)
                + r"}} \frac{\partial h_{" + str(T) + r"}}{\partial h_{t}} \frac{\partial^{+}h_{t}}{\partial W}")
    return (r"\frac{\partial L}{\partial W} = \sum_{s=1}^{" + str(T) + r"} \sum_{t=1}^{s} "
            r"\frac{\partial L}{\partial o_{s}} \frac{\partial o_{s}}{\partial h_{s}} "
            r"\frac{\partial h_{s}}{\partial h_{t}} \frac{\partial^{+}h_{t}}{\partial W}")


def _parts_table(p: Problem, w: Sheet, bw: Bwd, small: bool) -> None:
    T = p.T
    s = w.section("Backward pass: every time step")
    outs = set(p.out_steps())
    wrap = (lambda tex: tex) if small else (lambda tex: r"\lVert{" + tex + r"}\rVert")
    cols = ["t"] + [wrap(c) for c in (_dd("L", "o_{t}"), _dd("L", "h_{t}"), r"\delta_{t}",
                                       _dd("L", "W") + r"\Big|_{t}", _dd("L", "U") + r"\Big|_{t}",
                                       _dd("L", "V") + r"\Big|_{t}")]
    arrays = (bw.dLdo, bw.dLdh, bw.delta, bw.parts["W"], bw.parts["U"], bw.parts["V"])
    cells = arrays if small else [_norms(a) for a in arrays]
    rows = []
    for t in range(T, 0, -1):
        if t < bw.start:
            rows.append([t] + ["cut"] * 6)
            continue
        here = t in outs
        rows.append([t, cells[0][t - 1] if here else "—", cells[1][t - 1], cells[2][t - 1], cells[3][t - 1],
                     cells[4][t - 1], cells[5][t - 1] if here else "—"])
    s.table(cols, rows, note=("The part of ∂L/∂b at step t is δ_t, that of ∂L/∂c is ∂L/∂o_t."
                              + ("" if small else " Vectors and matrices are shown by their (Frobenius) norm ‖·‖; "
                                                  "the JSON results carry them in full.")))


def _totals(p: Problem, w, bw: Bwd) -> dict:
    """Each gradient as the sum of its parts; returns them as settled."""
    T, start = p.T, bw.start
    s = w.section("Gradients: the parts summed over time")
    out = {}
    names = {"W": "hidden → hidden", "U": "input → hidden", "b": "hidden bias", "V": "hidden → output",
             "c": "output bias"}
    for name in ("W", "U", "b", "V", "c"):
        steps = [t for t in range(start, T + 1) if name not in ("V", "c") or p.output == "every" or t == T]
        syms = [E.Sym(_part(name, t), bw.parts[name][t - 1]) for t in steps[:SUM_TERMS + 1]]
        if len(steps) == 1:
            expr = syms[0]
        elif len(steps) <= SUM_TERMS:
            expr = E.Add([(1, q) for q in syms])
        else:
            expr = E.Sym(rf"\sum_{{t={steps[0]}}}^{{{steps[-1]}}} " + _part(name, "t"), bw.grads[name])
        out[name] = O.value(s.step(("grad_" + name,), _dd("L", name), expr, f"∂L/∂{name} ({names[name]})",
                                   components=False))
    return out


def _vanishing(p: Problem, w: Sheet, fw: Fwd, start: int):
    T, m = p.T, p.m
    fprime = O.value(_fprime(p.f_act, fw.A, fw.H[1:])) * np.ones((T, m))  # all the steps at once
    norms, log10 = jacobian_norms(p.W, fprime)
    s = w.section("Vanishing and exploding gradients")
    s.text(f"How much of a change of $h_{{t}}$ reaches $h_{{{T}}}$: the Jacobian product")
    s.math(rf"\frac{{\partial h_{{{T}}}}}{{\partial h_{{t}}}} = J_{{{T}}} J_{{{T - 1}}} \cdots J_{{t+1}}, \quad "
           r"J_{s} = \frac{\partial h_{s}}{\partial h_{s-1}} = \mathrm{diag}(f'(a_{s})) W", "Jacobian")
    s.text("measured by its spectral norm $\\lVert{\\cdot}\\rVert_{2}$ (the largest singular value). Every error "
           f"that travels back from step {T} to step t is multiplied by this matrix.")
    rows = [[t, float(norms[t - 1]), float(log10[t - 1])] + (["yes" if t >= start else "no"] if start > 1 else [])
            for t in range(T, 0, -1)]
    s.table(["t", rf"\lVert{{\partial h_{{{T}}} / \partial h_{{t}}}}\rVert_{{2}}", r"\log_{10}"]
            + (["in window"] if start > 1 else []), rows)
    sn = float(np.linalg.norm(p.W, 2))
    cap = p.f_act.max_slope
    s.step(None, r"\lVert{W}\rVert_{2}", E.Sym(r"\sigma_{\max}(W)", sn), "Spectral norm of W")
    s.text("Each factor has $\\lVert{J_{s}}\\rVert_{2} \\leq \\max|f'| \\cdot \\lVert{W}\\rVert_{2}$"
           + ("" if cap == 1 else f" with $\\max|f'| = {cap:g}$ for ${p.f_act.tex}$")
           + (" with $|f'| \\leq 1$" if p.f == "tanh" else "")
           + ": the product can shrink geometrically with the distance T − t (vanishing gradient, certain when "
             "$\\max|f'| \\cdot \\lVert{W}\\rVert_{2} < 1$) or grow geometrically (exploding gradient).")
    if T > 1 and np.isfinite(log10[0]) and abs(log10[0]) > 6:
        kind = "vanishing: the first steps barely move the gradient" if log10[0] < 0 else \
            "exploding: clipping (clip: …) bounds the step"
        s.text(f"Here $\\lVert{{\\partial h_{{{T}}} / \\partial h_{{1}}}}\\rVert_{{2}}$ is about "
               f"$10^{{{log10[0]:.0f}}}$ ({kind}).", "warning")
    elif T > 1 and log10[0] == -np.inf:
        s.text(f"Here $\\partial h_{{{T}}} / \\partial h_{{1}} = 0$: no gradient reaches the first step "
               "(e.g. every ReLU of some step is off).", "warning")
    return norms, log10


def _truncation_compare(p: Problem, w: Sheet, fw: Fwd, net: Net, bw: Bwd) -> None:
    full = _backward(p, fw, net, lambda t: w.scratch, 1)
    s = w.section("Truncated against full BPTT")
    s.text(f"The gradients of truncated BPTT (last {p.truncate} step{'s' if p.truncate > 1 else ''}) are the "
           "ones used; for comparison, full BPTT over all T steps gives:")
    small = max(p.m, p.n, p.k) <= SMALL
    s.table(["", "truncated", "full BPTT"],
            [[_dd("L", name) + ("" if small else r" \; (\lVert{\cdot}\rVert)"), _cell(bw.grads[name], small),
              _cell(full.grads[name], small)] for name in ("W", "U", "b", "V", "c")])


def _norm_step(s, grads: dict):
    """The global norm of all the gradients together, as a step of section s (grad_norm)."""
    s.text("The global norm of all the gradients together ($\\lVert{\\cdot}\\rVert^{2}$ of a gradient is the "
           "sum of its squared entries):")
    sq = [E.Sym(r"\lVert{" + _dd("L", name) + r"}\rVert^{2}", math.fsum(np.ravel(grads[name]) ** 2))
          for name in ("U", "W", "b", "V", "c")]
    return s.step(("grad_norm",), r"\lVert{g}\rVert", O.sqrt(E.Add([(1, q) for q in sq])), "Gradient norm",
                  scalar=True)


def _clip(p: Problem, w, grads: dict) -> dict:
    s = w.section("Gradient clipping")
    g = _norm_step(s, grads)
    theta = E.Sym(r"\theta", p.clip)
    clipped = bool(O.value(g) > p.clip)
    if clipped:
        rho = s.step(None, r"\lambda", theta / g,
                     "It exceeds the threshold θ = clip, so every gradient is multiplied by")
        out = {}
        for name in ("U", "W", "b", "V", "c"):
            out[name] = O.value(s.step((f"grad_{name}_clipped",), _dd("L", name) + r"_{\mathrm{clip}}",
                                       rho * E.Sym(_dd("L", name), grads[name]), components=False))
        after = math.sqrt(math.fsum(float(np.sum(v ** 2)) for v in out.values()))
        s.step(("grad_norm_clipped",), r"\lVert{g_{\mathrm{clip}}}\rVert", E.Sym(r"\lambda \lVert{g}\rVert", after),
               "Norm after clipping (θ, up to rounding)", scalar=True)
    else:
        s.text("The norm does not exceed the threshold θ = clip: the gradients are used unchanged.", "note")
        out = {name: w.result((f"grad_{name}_clipped",), v) for name, v in grads.items()}
        w.result(("grad_norm_clipped",), O.value(g), scalar=True)
    w.result(("clipped",), clipped, exact=True)
    return out


def _update(p: Problem, w, net: Net, grads: dict, fw: Fwd) -> None:
    s = w.section("Update: w ← w − η ∂L/∂w" + (" with the clipped gradients" if p.clip is not None else ""))
    eta = E.Sym(r"\eta", p.eta)
    new = {}
    for name in ("U", "W", "b", "V", "c"):
        gsym = E.Sym(_dd("L", name) + (r"_{\mathrm{clip}}" if p.clip is not None else ""), grads[name])
        new[name] = O.value(s.step((name,), name + r"_{\mathrm{new}}", E.Sym(name, getattr(net, name)) - eta * gsym,
                                   components=False))
    after = _forward(p, Net(**new), lambda t: w.scratch)
    w.result(("loss_after",), after.loss, scalar=True)
    s.table(["", "L"], [["before the update", fw.loss], ["after the update (same sequence)", after.loss]])
