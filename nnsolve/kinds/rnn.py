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
the tables; up to 8 steps (ALL_STEPS_SHOWN) they are all shown without --full.  Extras:
``clip`` (global gradient-norm clipping), ``truncate`` (truncated BPTT over the last k
steps) and the table of ‖∂h_T/∂h_t‖₂ (vanishing / exploding gradients).

recurrent.md's additions: ∂L/∂x_t = Uᵀ δ_t (grad_x) and ∂L/∂h_0 = Wᵀ δ_1 (grad_h0), the
loss and every gradient per step (loss_by_step, grad_*_by_step); ``upstream: {h: …}``, the
gradient ḡ_t arriving at h_t from above, added to ∂L/∂h_t in place of a loss; ``layers:``,
a stack of Elman layers. A stack is solved as one-layer problems (_views): the forward
pass bottom-up (layer l's inputs are layer l−1's h_t), the backward pass top-down (layer
l's upstream is what layer l+1 sends down, ḡ^{(l)}_t = U^{(l+1)ᵀ} δ^{(l+1)}_t); a layer's
results sit under ("layers", l) (Problem.prefix), the output layer's at the top.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

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
ALL_STEPS_SHOWN = 8  # sequences up to this long are worked in full by default (no --full needed)
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


_INITIAL = {"type": "object", "additionalProperties": False,
            "properties": {"h": {"anyOf": [{"type": "array", "items": {"type": "number"}, "minItems": 1},
                                           {"type": "number"}]}}}


def _weight_fields(shape_u: tuple) -> tuple:
    m = shape_u[0]
    return (Field("U", "matrix", "input → hidden", shape=shape_u),
            Field("W", "matrix", "hidden → hidden", shape=(m, m)),
            Field("b", "vector", "hidden bias", shape=(m,), default=None, default_text="zeros"),
            Field("V", "matrix", "hidden → output (required unless upstream is given)", shape=("k", m),
                  default=None),
            Field("c", "vector", "output bias", shape=("k",), default=None, default_text="zeros"))


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
              what="a mapping with U, W, V (and optionally b, c)", instead=("layers",),
              example={"U": [[0.5, -0.3, 0.2], [0.1, 0.4, -0.6]], "W": [[0.3, -0.2], [0.4, 0.1]], "b": [0, 0],
                       "V": [[0.7, -0.5]], "c": [0]},
              fields=_weight_fields(("m", "n"))),
        Field("layers", "list", "one block {U, W, b} per layer, input side first; layer l reads layer l−1's h_t, "
              "so its U is m_l × m_{l−1}; V and c go in the last block",
              default=None, template="comment", of="mapping", flow=True,
              lead="or, a stack of layers (instead of weights; then initial is a list, one {h: …} per layer):",
              what="a list of layer blocks {U, W, b}, input side "
              "first (the last one also V, c)",
              example=[{"U": [[0.5, -0.3, 0.2], [0.1, 0.4, -0.6]], "W": [[0.3, -0.2], [0.4, 0.1]]},
                       {"U": [[0.6, -0.4]], "W": [[0.5]], "V": [[1.2]]}],
              fields=_weight_fields(("m_l", "m_{l-1}"))),
        Field("initial", "mapping", "h_0; with layers a list, one {h: …} per layer", default=None,
              default_text="zeros", flow=True, example={"h": [0, 0]},
              what="a mapping {h: [...]}",
              schema={"anyOf": [_INITIAL, {"type": "array", "minItems": 1, "items": _INITIAL}]},
              fields=(Field("h", "vector", "h_0, the initial hidden state", shape=("m",), default=None,
                            default_text="zeros"),)),
        Field("upstream", "mapping", "∂L/∂h_t arriving from above (what a layer on top sends down), one row "
              "per time step",
              default=None, template="comment", flow=True, example={"h": [[0.1, -0.2], [0.3, 0.0], [0.5, 0.4]]},
              lead="or, instead of target and loss, the gradient from the layers on top:",
              what="a mapping {h: [[...], ...]} (T rows of length m)",
              note="then weights.V is not needed and there is no loss; implies the backward pass",
              fields=(Field("h", "matrix", "∂L/∂h_t from above, t = 1 … T", shape=("T", "m")),)),
        Field("target", "any", "output: last → one target for ŷ_T; output: every → a list of T targets"
              + ("" if bptt else " (optional: to show the loss)"),
              default=REQUIRED if bptt else None, template="show" if bptt else "comment", example=1,
              instead=("upstream",) if bptt else (),
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
    upstream: np.ndarray | None = None  # T × m: ∂L/∂h_t arriving from above (given, or from the layer on top)
    blocks: list | None = None  # stacked layers: one Block per layer, input side first (U, W, b, h0 the last's)
    # -- one layer of a stack, as a problem of its own (see _views) ---------------------------
    prefix: tuple = ()  # result paths of this layer's quantities: () or ("layers", l)
    layer: int = 0  # 1 … L in a stack, 0 for a single layer
    nlayers: int = 1
    up_tex: str = r"\bar{g}_{#}"  # the gradient arriving at h_# from above (a stack: ḡ^{(l)}_# = U^{(l+1)ᵀ} δ^{(l+1)}_#)

    @property
    def sup(self) -> str:
        """The layer superscript of this layer's quantities: h^{(2)}_{t}; none for one layer."""
        return f"^{{({self.layer})}}" if self.layer else ""

    @property
    def xname(self) -> str:
        """The input of this layer: x, or the hidden state of the layer below."""
        return f"h^{{({self.layer - 1})}}" if self.layer > 1 else "x"

    def q(self, name: str, t) -> str:
        """A quantity of time step t of this layer: h_{t}, or h^{(2)}_{t} in a stack."""
        return f"{self.xname if name == 'x' else name + self.sup}_{{{t}}}"

    def wt(self, name: str) -> str:
        """A weight of this layer: U, or U^{(2)} in a stack (V and c are the output layer's)."""
        return name if name in ("V", "c") else name + self.sup

    def wT(self, name: str) -> str:
        """The transpose of a weight of this layer: W^{\\top}, or W^{(2)\\top} in a stack."""
        return rf"{name}^{{({self.layer})\top}}" if self.layer and name not in ("V", "c") else name + r"^{\top}"

    def at(self, *path) -> tuple:
        """The result path of one of this layer's quantities."""
        return self.prefix + path

    @property
    def has_output(self) -> bool:
        return self.V is not None

    @property
    def has_loss(self) -> bool:
        return self.targets is not None

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
        return self.V.shape[0] if self.V is not None else 0

    def out_steps(self) -> list[int]:
        """The time steps (1-based) with an output ŷ_t."""
        if not self.has_output:
            return []
        return list(range(1, self.T + 1)) if self.output == "every" else [self.T]


@dataclass
class Block:
    """One layer of a stack, as the file gives it."""
    U: np.ndarray
    W: np.ndarray
    b: np.ndarray
    h0: np.ndarray
    given: set


def _views(p: Problem) -> list:
    """The layers as problems of one layer each (a single layer: [p]). Layer l > 1 gets its
    input sequence (layer l−1's h_t) in the forward pass, and its upstream gradient (what
    layer l+1 sends down) in the backward pass."""
    if not p.blocks:
        return [p]
    L = len(p.blocks)
    out = []
    for l, bl in enumerate(p.blocks, start=1):
        last = l == L
        out.append(replace(p, U=bl.U, W=bl.W, b=bl.b, h0=bl.h0, blocks=None, prefix=("layers", l), layer=l,
                           nlayers=L, given=bl.given | (p.given & {"c"} if last else set()),
                           V=p.V if last else None, c=p.c if last else None,
                           targets=p.targets if last else None, target_labels=p.target_labels if last else None,
                           upstream=p.upstream if last else None, up_tex=rf"\bar{{g}}^{{({l})}}_{{#}}"))
    return out


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


def _read_block(wr: Reader, n: int, l: int, L: int, need_v: bool):
    """One mapping of weights (layer l of L; l = 0: the single weights block) →
    (U, W, b, V, c, given), V and c None where not given (not allowed below the last layer)."""
    of = f" of layer {l}" if l else ""
    W = wr.matrix("W", what=f"W, the hidden → hidden weights{of}, a square m × m matrix (a list of rows)")
    m = W.shape[0]
    if W.shape[1] != m:
        raise wr.error(wr.path + ("W",), f"expected W, the hidden → hidden weights{of}, to be square (m × m), "
                                         f"got {W.shape[0]} × {W.shape[1]}")
    if l > 1:
        what = (f"U, the input → hidden weights of layer {l}, an m{_sub(l)} × m{_sub(l - 1)} = {m} × {n} matrix "
                f"(m{_sub(l)} = {m} hidden units as its W; its input is layer {l - 1}'s h_t, of length "
                f"m{_sub(l - 1)} = {n})")
    else:
        what = (f"U, the input → hidden weights{of}, an m × n = {m} × {n} matrix "
                f"(m = {m} hidden units as W, n = {n} inputs per time step)")
    U = wr.matrix("U", shape=(m, n), what=what)
    given = set()
    b = wr.vector("b", None, length=m, what=f"b, the hidden bias{of}, a vector of length m = {m}")
    if b is not None:
        given.add("b")
    last = l == L
    V = c = None
    if not last:
        for key in ("V", "c"):
            if wr.has(key):
                raise wr.error(wr.path + (key,), f"{key} belongs to the last layer's block only (layer {L}): "
                                                 "the output layer reads the last layer's h_t")
    else:
        if need_v or wr.has("V"):
            V = wr.matrix("V", what=f"V, the hidden → output weights{of}, a k × m matrix with m = {m} columns")
            if V.shape[1] != m:
                raise wr.error(wr.path + ("V",), f"expected V, the hidden → output weights{of}, to have m = {m} "
                                                 f"columns (one per hidden unit, as W), got "
                                                 f"{V.shape[0]} × {V.shape[1]}")
            c = wr.vector("c", None, length=V.shape[0],
                          what=f"c, the output bias, a vector of length k = {V.shape[0]} (the rows of V)")
            if c is not None:
                given.add("c")
            c = np.zeros(V.shape[0]) if c is None else c
        elif wr.has("c"):
            raise wr.error(wr.path + ("c",), "c is the output bias of V, which is not given")
    wr.finish()
    return U, W, np.zeros(m) if b is None else b, V, c, given


def _sub(l: int) -> str:
    return "".join("₀₁₂₃₄₅₆₇₈₉"[int(d)] for d in str(l))


def _read_initial(r: Reader, sizes: list) -> tuple[list, bool]:
    """initial: {h: …} (one layer) or [{h: …}, …] (one per layer) → (h_0 per layer, given?)."""
    L = len(sizes)
    out = [np.zeros(m) for m in sizes]
    if not r.has("initial"):
        return out, False
    raw = r.raw("initial")
    if L == 1 and not isinstance(raw, list):
        ir = r.sub("initial", None, what=r.fields["initial"].what)
        h = ir.vector("h", None, length=sizes[0], what=f"h_0, the initial hidden state, a vector of length "
                                                       f"m = {sizes[0]}")
        ir.finish()
        if h is None:
            return out, False
        return [h], True
    if not isinstance(raw, list):
        raise r.error(("initial",), f"expected a list of L = {L} mappings {{h: [...]}}, one per layer (input side "
                                    f"first), got a mapping")
    if len(raw) != L:
        raise r.error(("initial",), f"expected L = {L} initial states {{h: [...]}}, one per layer, got {len(raw)}")
    for l, (path, item) in enumerate(r.items("initial", what="a list of mappings {h: [...]}"), start=1):
        if not isinstance(item, dict):
            raise r.error(path, f"expected a mapping {{h: [...]}}, the initial state of layer {l}, got "
                                f"{_what(item)}")
        for key in item:
            if key != "h":
                raise r.error(path + (key,), f"unknown key '{key}'; expected h (the initial hidden state "
                                             f"of layer {l})")
        if item.get("h") is not None:
            out[l - 1] = r.array_value(item["h"], path + ("h",), ndim=1, shape=(sizes[l - 1],),
                                       what=f"h_0 of layer {l}, a vector of length m{_sub(l)} = {sizes[l - 1]}")
    return out, True


def read(r: Reader, kind: str) -> Problem:
    X, tokens, vocab = _read_sequence(r)
    T, n = X.shape
    f, negative_slope = r.values("hidden_activation", "negative_slope")
    if r.has("negative_slope") and f != "leaky_relu":
        raise r.error(("negative_slope",), f"negative_slope is for hidden_activation: leaky_relu (it is {f})")
    output = r.field("output")
    has_up = r.has("upstream")
    if has_up:
        for key in ("target", "loss"):
            if r.has(key):
                raise r.error((key,), f"give either {key} or upstream, not both: upstream is the gradient arriving "
                                      "at h_t from above, in place of a loss")

    if r.has("layers"):
        if r.has("weights"):
            raise r.error(("layers",), "give either weights (one layer) or layers (a stack of layers), not both")
        items = r.items("layers", what=r.fields["layers"].what)
        L = len(items)
        raw_blocks, n_in = [], n
        for l, (path, item) in enumerate(items, start=1):
            raw_blocks.append(_read_block(r.element(path, item), n_in, l, L, need_v=not has_up))
            n_in = raw_blocks[-1][1].shape[0]
    else:
        L = 1
        wr = r.sub("weights", what=r.fields["weights"].what)
        raw_blocks = [_read_block(wr, n, 0, 0, need_v=not has_up)]
    U, W, b, V, c, given = raw_blocks[-1]
    m = W.shape[0]
    k = V.shape[0] if V is not None else 0
    h0s, h0_given = _read_initial(r, [blk[1].shape[0] for blk in raw_blocks])
    blocks = None
    if L > 1 or r.has("layers"):
        blocks = [Block(bU, bW, bb, h, bg | ({"h0"} if h0_given else set()))
                  for (bU, bW, bb, _, _, bg), h in zip(raw_blocks, h0s)]
    if h0_given:
        given.add("h0")
    h0 = h0s[-1]

    upstream = None
    if has_up:
        ur = r.sub("upstream", what=r.fields["upstream"].what)
        upstream = ur.matrix("h", shape=(T, m), what=f"the gradients ∂L/∂h_t arriving from above for t = 1 … T: a "
                                                    f"T × m = {T} × {m} matrix (one row of length m = {m} per "
                                                    f"time step)")
        ur.finish()

    if V is None:
        for key in ("output_activation", "output"):
            if r.has(key):
                raise r.error((key,), f"{key} needs an output layer: give V (in the last block of weights)")
        g = loss = None
        loss_given = False
    else:
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
        vpath = ("layers", L - 1, "V") if blocks else ("weights", "V")
        if g == "softmax" and k < 2:
            raise r.error(("output_activation",) if r.has("output_activation") else vpath,
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
        if has_up and r.has("backward") and not r.field("backward"):
            raise r.error(("backward",), "upstream is a gradient for the backward pass: leave out backward: false")
        backward = r.field("backward") or has_up
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
    elif backward and not has_up:
        raise r.error(r.path, "missing key 'target': the backward pass needs the target"
                      + (f"s (a list of T = {T}, output: every)" if output == "every" else " of the last output ŷ_T")
                      + ", or upstream: {h: …} (the gradient arriving at h_t from above)")
    elif loss_given:
        raise r.error(("loss",), "a loss needs a target: add target: …")

    eta = clip = truncate = None
    if backward:
        eta, clip = r.values("learning_rate", "clip")
        truncate = r.field("truncate", what=f"the number of time steps k (1 … T = {T}) that truncated BPTT goes back")
        if truncate is not None and truncate > T:
            raise r.error(("truncate",), f"expected a whole number of steps from 1 to T = {T}, got {truncate}")
    return Problem(kind, X, tokens, vocab, f, g, output, U, W, b, V, c, h0, given, targets, labels,
                   loss if targets is not None else None, backward, eta, clip, truncate, negative_slope,
                   upstream, blocks)


def work(p: Problem):
    """The size of the working (nnsolve.work): the forward pass, and with the backward
    pass the per-step parts of every gradient (grad_W_by_step: T matrices m × m), the
    Jacobian products and their spectral norms (T singular value decompositions of m × m)."""
    from .. import work as W
    T, m, n, k = p.T, p.m, p.n, p.k
    L = len(p.blocks) if p.blocks else 1
    if p.blocks:  # a stack costs about L layers of the widest size
        m = max(bl.W.shape[0] for bl in p.blocks)
        n = max(n, m)
    outs = len(p.out_steps())
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
    if L > 1:
        steps, numbers, flops, results = steps * L, numbers * L, flops * L, results * L
        tables = tables * L
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
    """The forward pass (of one layer: p may be a layer of a stack, see _views); page_for(t)
    gives the page of time step t."""
    T, m, k = p.T, p.m, p.k
    A, H = np.zeros((T, m)), np.zeros((T + 1, m))
    Os, Y, L = np.zeros((T, k)), np.zeros((T, k)), np.zeros(T)
    H[0] = p.h0
    last_only = p.output == "last"
    f, rec = p.f_act, nn.loss(p.loss) if p.has_loss else None
    g = p.g_act if p.has_output else None
    cU, cW, cV = p.m > SMALL or p.n > EXPAND, p.m > SMALL, k > SMALL or p.m > EXPAND
    for t in range(1, T + 1):
        page = page_for(t)
        U, W, b = page.sym(p.wt("U"), net.U), page.sym(p.wt("W"), net.W), page.sym(p.wt("b"), net.b)
        x, hp = page.sym(p.q("x", t), p.X[t - 1]), page.sym(p.q("h", t - 1), H[t - 1])
        a = page.step(None, p.q("a", t), _mv(page, U, p.wt("U"), x, cU) + _mv(page, W, p.wt("W"), hp, cW) + b,
                      "Net input of the hidden layer" if t == 1 else "Net input")
        h = page.step(p.at("h", t), p.q("h", t), O.apply(f, a), "Hidden state")
        A[t - 1], H[t] = O.value(a), O.value(h)
        if not p.has_output or (last_only and t < T):
            if rec is not None and page.keep:
                page.sheet.result(("loss_by_step", t), 0.0, scalar=True)  # no output, no loss at this step
            continue
        V, c = page.sym("V", net.V), page.sym("c", net.c)
        o = page.step(None, f"o_{{{t}}}", _mv(page, V, "V", h, cV) + c, "Output net input")
        yh = page.step(("y_hat",) if last_only else ("y_hat", t), rf"\hat{{y}}_{{{t}}}", O.apply(g, o), "Output")
        Os[t - 1], Y[t - 1] = O.value(o), O.value(yh)
        if rec is not None:
            j = ",j" if k > 1 else ""  # inside Σ_j the components: y_{t,j}, not the vector y_t
            y = page.sym(f"y_{{{t}{j}}}", p.targets[0 if last_only else t - 1])
            oj = page.sym(f"o_{{{t}{j}}}", O.value(o))
            yhj = page.sym(rf"\hat{{y}}_{{{t}{j}}}", O.value(yh))
            L[t - 1] = O.value(page.step(("loss_by_step", t), f"L_{{{t}}}", _loss(rec, yhj, y, g, oj),
                                         f"Loss ({rec.title})", scalar=True))
    loss = math.fsum(L) if rec is not None else None
    return Fwd(A, H, Os, Y, L, loss)


@dataclass
class Bwd:
    dLdo: np.ndarray  # T × k (zero rows where there is no output)
    dLdh: np.ndarray  # T × m
    delta: np.ndarray  # T × m
    parts: dict  # name -> array over t (T × shape), zeros outside the window
    grads: dict  # name -> the total
    start: int  # first time step of the window (1 without truncation)
    gx: np.ndarray | None = None  # T × n, ∂L/∂x_t (a stack: what this layer sends down)
    gh0: np.ndarray | None = None  # m, ∂L/∂h_0


def _output_error(p: Problem, page, t: int, yh, y, o_value):
    """∂L/∂o_t, through ∂L/∂ŷ_t unless the pair (g, loss) simplifies to ŷ − y."""
    k = p.k
    g, rec = p.g_act, nn.loss(p.loss)
    lhs = _dd("L", f"o_{{{t}}}")
    if rec.canonical == p.g:
        note = (("A linear output, $g(o) = o$," if g.identity_map else f"$g = {g.tex}$")
                + f" with this loss ({rec.title}): the derivative of g cancels against that of the loss, "
                r"so $\partial L/\partial o = \hat{y} - y$")
        return page.step(None, lhs, yh - y, "Error at the output", note=note)
    gy = page.step(None, _dd("L", rf"\hat{{y}}_{{{t}}}"), rec.grad(y, yh), "Derivative of the loss by the output")
    if p.g == "softmax":
        # inside Σ_j the components: ŷ_{t,j} ∂L/∂ŷ_{t,j} (the same numbers, elementwise)
        yj = page.sym(rf"\hat{{y}}_{{{t},j}}", O.value(yh))
        gj = page.sym(_dd("L", rf"\hat{{y}}_{{{t},j}}"), O.value(gy))
        s = page.step(None, f"s_{{{t}}}", O.total(O.times(yj, gj, 1)),
                      "Through the softmax: first the weighted sum ŷᵀ ∂L/∂ŷ")
        return page.step(None, lhs, O.times(yh, gy - s, k), "then ∂L/∂o = ŷ ⊙ (∂L/∂ŷ − s)")
    if g.identity_map:
        page.text(f"Linear output: $\\frac{{\\partial L}}{{\\partial o_{{{t}}}}} = "
                  f"\\frac{{\\partial L}}{{\\partial \\hat{{y}}_{{{t}}}}}$.", "note")
        return page.sym(lhs, O.value(gy))
    gprime = _prime_tex(g, "o", r"\hat{y}")
    return page.step(None, lhs, O.times(O.prime(g, page.sym(f"o_{{{t}}}", o_value), yh), gy, k),
                     f"Through $g = {g.tex}$: $g'(o) = {gprime}$")


def _act_words(act, name: str, arg: str = "") -> str:
    """The activation in words and notation: "$f = \\tanh$", or "the identity, $f(a) = a$"
    for a linear layer (its library symbol, id, reads like a YAML name in prose)."""
    if act.identity_map:
        return f"the identity (linear), ${name}({arg or 'v'}) = {arg or 'v'}$"
    return f"${name} = {act.tex}$"


def _prime_tex(act, v: str, y: str) -> str:
    """f' as the library writes it, in the kind's symbols."""
    from ..render.formula import symbolic
    return symbolic(act.prime(E.Sym(v, np.zeros(2)), E.Sym(y, np.zeros(2))))


def _backward(p: Problem, fw: Fwd, net: Net, page_for, start: int = 1) -> Bwd:
    """BPTT (of one layer: p may be a layer of a stack) from t = T down to t = start;
    h_{start−1} is a constant (truncation). ∂L/∂h_t collects the output's error (with a
    loss), the upstream gradient p.upstream (given, or sent down by the layer on top) and
    step t + 1's."""
    T, m, n, k = p.T, p.m, p.n, p.k
    last_only = p.output == "last"
    f = p.f_act
    dLdo, dLdh, delta = np.zeros((T, k)), np.zeros((T, m)), np.zeros((T, m))
    gx, gh0 = np.zeros((T, n)), np.zeros(m)
    parts = {"U": np.zeros((T, m, n)), "W": np.zeros((T, m, m)), "b": np.zeros((T, m))}
    if p.has_loss:
        parts.update({"V": np.zeros((T, k, m)), "c": np.zeros((T, k))})
    cV, cW, cU = m > SMALL or k > EXPAND, m > SMALL, m > SMALL or n > EXPAND
    keep = False
    for t in range(T, start - 1, -1):
        page = page_for(t)
        keep = page.keep
        terms = []
        out = p.has_loss and (not last_only or t == T)
        if out:
            yh = page.sym(rf"\hat{{y}}_{{{t}}}", fw.Y[t - 1])
            y = page.sym(f"y_{{{t}}}", p.targets[0 if last_only else t - 1])
            go = _output_error(p, page, t, yh, y, fw.O[t - 1])
            V = page.sym("V", net.V)
            terms.append(_mv(page, V.T, r"V^{\top}", go, cV))
            parts["V"][t - 1] = O.value(_outer_step(page, ("grad_V_by_step", t), f"Part of ∂L/∂V at t = {t}",
                                                    _part("V", t), go, page.sym(p.q("h", t), fw.H[t])))
            dLdo[t - 1] = parts["c"][t - 1] = O.value(go)
            if keep:
                page.sheet.result(("grad_c_by_step", t), parts["c"][t - 1])
        elif p.has_loss and keep:  # no output at this step: V and c get nothing from it
            page.sheet.result(("grad_V_by_step", t), parts["V"][t - 1])
            page.sheet.result(("grad_c_by_step", t), parts["c"][t - 1])
        if p.upstream is not None:
            terms.append(page.sym(p.up_tex.replace("#", str(t)), p.upstream[t - 1]))
        if t < T:
            W = page.sym(p.wt("W"), net.W)
            terms.append(_mv(page, W.T, p.wT("W"),
                             page.sym(rf"\delta{p.sup}_{{{t + 1}}}", delta[t]), cW))
        origin = (["the output"] if out else []) + (["above"] if p.upstream is not None else []) \
            + (["step t + 1"] if t < T else [])
        origin = [f"from {o}" for o in origin]
        label = "Error at the hidden state" + (f" ({', '.join(origin[:-1])} and {origin[-1]})" if len(origin) > 1
                                               else f" ({origin[0]})" if origin else "")
        dh = terms[0]
        for term in terms[1:]:
            dh = dh + term
        if not terms:  # nothing reaches h_T (an upstream of zeros is still a term): ∂L/∂h_T = 0
            dh = page.sym("0", np.zeros(m))
        dh = page.step(p.at("dL_dh", t), _dd("L", p.q("h", t)), dh, label)
        if f.identity_map:
            d = page.sym(rf"\delta{p.sup}_{{{t}}}", O.value(dh))
            page.text(f"Linear hidden layer, f' = 1: $\\delta{p.sup}_{{{t}}} = "
                      f"\\frac{{\\partial L}}{{\\partial {p.q('h', t)}}}$.", "note")
        else:
            fp = _fprime(f, page.sym(p.q("a", t), fw.A[t - 1]), page.sym(p.q("h", t), fw.H[t]))
            d = page.step(None, rf"\delta{p.sup}_{{{t}}}", O.times(fp, dh, m),
                          f"Back through f: $\\delta{p.sup}_{{{t}}} = \\partial L / \\partial {p.q('a', t)}$")
        dLdh[t - 1], delta[t - 1] = O.value(dh), O.value(d)
        parts["W"][t - 1] = O.value(_outer_step(page, p.at("grad_W_by_step", t), f"Part of ∂L/∂W at t = {t}",
                                                _part(p.wt("W"), t), d, page.sym(p.q("h", t - 1), fw.H[t - 1])))
        parts["U"][t - 1] = O.value(_outer_step(page, p.at("grad_U_by_step", t), f"Part of ∂L/∂U at t = {t}",
                                                _part(p.wt("U"), t), d, page.sym(p.q("x", t), p.X[t - 1])))
        parts["b"][t - 1] = delta[t - 1]
        if keep:
            page.sheet.result(p.at("grad_b_by_step", t), parts["b"][t - 1])
        U = page.sym(p.wt("U"), net.U)
        gx[t - 1] = O.value(page.step(p.at("grad_x", t), _dd("L", p.q("x", t)) if p.layer <= 1 else
                                      rf"\bar{{g}}^{{({p.layer - 1})}}_{{{t}}}",
                                      _mv(page, U.T, p.wT("U"), d, cU),
                                      "Error sent back to the input" if p.layer <= 1 else
                                      f"Error sent down to layer {p.layer - 1}: the gradient arriving at "
                                      f"${p.q('x', t)}$ from above"))
        if t == 1:
            W = page.sym(p.wt("W"), net.W)
            gh0 = O.value(page.step(p.at("grad_h0"), _dd("L", p.q("h", 0)),
                                    _mv(page, W.T, p.wT("W"), d, cW),
                                    "Error at the initial state"))
        if page.shown:
            _parts_note(page, t, out, m, n, k, p)
    if keep:  # before the window of truncated BPTT nothing flows back: zeros
        sheet = page.sheet
        for t in range(1, start):
            sheet.result(p.at("dL_dh", t), dLdh[t - 1])
            for name in ("W", "U", "b"):
                sheet.result(p.at(f"grad_{name}_by_step", t), parts[name][t - 1])
            sheet.result(p.at("grad_x", t), gx[t - 1])
            if p.has_loss:
                sheet.result(("grad_V_by_step", t), parts["V"][t - 1])
                sheet.result(("grad_c_by_step", t), parts["c"][t - 1])
        if start > 1:
            sheet.result(p.at("grad_h0"), gh0)
    grads = {}
    for name, arr in parts.items():
        total = np.zeros(arr.shape[1:])
        for t in range(start, T + 1):  # in order, as the written-out sum adds them
            total = total + arr[t - 1]
        grads[name] = total
    return Bwd(dLdo, dLdh, delta, parts, grads, start, gx, gh0)


def _parts_note(page, t: int, out: bool, m: int, n: int, k: int, p: Problem | None = None) -> None:
    sup = p.sup if p is not None else ""
    wt = p.wt if p is not None else (lambda name: name)
    q = p.q if p is not None else (lambda name, s: f"{name}_{{{s}}}")
    big = [(nm, f"{a} {b}^{{\\top}}") for nm, a, b, size, here in
           (("V", _dd("L", f"o_{{{t}}}"), q("h", t), k * m, out),
            (wt("W"), rf"\delta{sup}_{{{t}}}", q("h", t - 1), m * m, True),
            (wt("U"), rf"\delta{sup}_{{{t}}}", q("x", t), m * n, True))
           if here and size > OUTER_SHOWN]
    texts = [f"${_part(nm, t)} = {tex}$" for nm, tex in big]
    texts.append(f"${_part(wt('b'), t)} = \\delta{sup}_{{{t}}}$")
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


def _net(v: Problem) -> Net:
    return Net(v.U, v.W, v.b, v.V, v.c)


def solve(p: Problem, w) -> None:
    """``w``: the sheet (nnsolve.sheet.Sheet)."""
    T = p.T
    detail = T > ALL_STEPS_SHOWN
    start = 1 if p.truncate is None else T - p.truncate + 1
    views = _views(p)
    stacked = bool(p.blocks)
    _intro(p, w, views)

    def worked(t: int) -> bool:
        return T <= FULL_WORKING or t <= EDGE or t > T - EDGE

    def gap(title: str) -> None:
        g = w.section(title, level=3, detail=detail)
        g.text(f"A sequence of T = {T} steps: only the first and last {EDGE} time steps are worked out "
               "in full; every step goes the same way, and the tables below list all of them.", "note")

    def forward_mode(v: Problem):
        head = f"Layer {v.layer}, forward pass" if v.layer else "Forward pass"

        def mode(t: int):
            if not worked(t):
                if t == EDGE + 1:
                    gap(f"{head}, time steps {EDGE + 1} … {T - EDGE}")
                return w.silent
            return w.section(f"{head}, time step t = {t}" + (f" (token '{p.tokens[t - 1]}')"
                                                              if p.tokens and v.layer <= 1 else ""),
                             level=3, detail=detail)
        return mode

    def backward_mode(v: Problem):
        head = f"Layer {v.layer}, backward pass" if v.layer else "Backward pass"

        def mode(t: int):
            if not worked(t):
                if t == T - EDGE:
                    gap(f"{head}, time steps {T - EDGE} … {max(EDGE + 1, start)}")
                return w.silent
            return w.section(f"{head}, time step t = {t}", level=3, detail=detail)
        return mode

    fws = _forward_all(views, forward_mode)
    for v, fw in zip(views, fws):
        _forward_table(v, w, fw)
    top, ftop = views[-1], fws[-1]
    if stacked:
        w.section("The stack's output").text(
            f"The top layer's hidden states are the stack's: $h_{{t}} = h^{{({top.layer})}}_{{t}}$"
            + (", and the output layer reads them." if top.has_output else "."))
        for t in range(1, T + 1):
            w.result(("h", t), ftop.H[t])
    if top.has_loss:
        _loss_section(top, w, ftop)
    if not p.backward:
        return

    _rules_backward(top, w, start, views)
    bws = _backward_all(views, fws, backward_mode, start)
    small = max(max(v.m, v.n, v.k) for v in views) <= SMALL
    grads = []  # (layer view, name, gradient), input side first
    for v, bw in zip(views, bws):
        _parts_table(v, w, bw, small)
    for v, bw in zip(views, bws):
        totals = _totals(v, w, bw)
        grads += [(v, name, totals[name]) for name in ("U", "W", "b", "V", "c") if name in totals]
    if stacked:
        for t in range(1, T + 1):  # the stack's input gradient is the bottom layer's
            w.result(("grad_x", t), bws[0].gx[t - 1])
    for v, fw in zip(views, fws):
        jn, jlog = _vanishing(v, w, fw, start)
        w.result(v.at("jacobian_norms"), jn, finite=False)  # beyond float64 is ∞ here; its log10 stays finite
        w.result(v.at("jacobian_log10_norms"), jlog, finite=False)  # −∞: the product is exactly 0
    if p.truncate is not None:
        w.result(("truncate_start",), start, exact=True)
        _truncation_compare(p, w, views, fws, bws)
    if p.clip is not None:
        grads = _clip(p, w, grads)
    else:
        s = w.section("Gradient norm")
        _norm_step(s, grads)
        s.text("A large norm means a large step; clipping at a threshold θ would rescale the gradients to "
               "norm θ.", "note")
    if p.eta is not None:
        _update(p, w, views, grads, ftop)


def _forward_all(views: list, mode_of, nets=None, page=None) -> list:
    """The forward pass of every layer, input side first (layer l reads layer l−1's h_t)."""
    fws = []
    for i, v in enumerate(views):
        if i:
            views[i] = v = replace(v, X=fws[-1].H[1:])
        net = _net(v) if nets is None else nets[i]
        fws.append(_forward(v, net, (lambda t: page) if page is not None else mode_of(v)))
    return fws


def _backward_all(views: list, fws: list, mode_of, start: int, page=None) -> list:
    """BPTT of every layer, top first: layer l's upstream is what layer l+1 sends down."""
    bws = [None] * len(views)
    for i in range(len(views) - 1, -1, -1):
        v = views[i]
        if i < len(views) - 1:
            views[i] = v = replace(v, upstream=bws[i + 1].gx)
        bws[i] = _backward(v, fws[i], _net(v), (lambda t: page) if page is not None else mode_of(v), start)
    return bws


def _target_text(p: Problem, i: int):
    label = p.target_labels[i] if p.target_labels else None
    return p.targets[i] if label is None else label


def _intro(p: Problem, w: Sheet, views: list | None = None) -> None:
    views = views or _views(p)
    T, n, k = p.T, p.n, p.k
    top = views[-1]
    s = w.section("Problem")
    plural = lambda q: "" if q == 1 else "s"
    if p.has_output:
        mode = ("; many-to-one: one output $\\hat{y}_{%d}$ after the last step" % T if p.output == "last"
                else "; many-to-many: an output $\\hat{y}_{t}$ at every step")
    else:
        mode = "; no output layer"
    if p.upstream is not None:
        mode += (f"; the gradient arriving at each ${top.q('h', 't')}$ from above is given" + (
            " (no loss: the output layer takes no part in the backward pass)" if p.has_output else ""))
    if p.blocks:
        sizes = ", ".join(f"m{_sub(v.layer)} = {v.m}" for v in views)
        net = (f"A stack of L = {len(views)} Elman RNN layers over n = {n} input{plural(n)} ({sizes} hidden "
               f"units; layer l reads layer l − 1's $h_{{t}}$)")
    else:
        net = f"An Elman RNN with n = {n} input{plural(n)}, m = {p.m} hidden unit{plural(p.m)}"
    s.text(net + (f" and k = {k} output{plural(k)}" if p.has_output else "")
           + f", run over T = {T} time step{plural(T)}{mode}. Hidden activation {_act_words(p.f_act, 'f', 'a')}"
           + (f", output activation {_act_words(p.g_act, 'g', 'o')}" if p.has_output else "")
           + (f", loss: {LOSS_NAME[p.loss]}" + (" summed over the time steps" if p.output == "every" else "")
              if p.has_loss else "") + ".")
    if p.tokens:
        s.text("The tokens are one-hot encoded in vocab order: "
               + ", ".join(f"{word} → position {i + 1}" for i, word in enumerate(p.vocab[:12]))
               + (", …" if len(p.vocab) > 12 else "") + ".")
    if p.has_loss and p.g == "softmax" and any(p.target_labels or []):
        s.text("Class indices count from 0: class i is the one-hot target with a 1 in position i + 1.", "note")
    big = lambda a: a if a.size <= 32 else f"{' × '.join(map(str, a.shape))} {'matrix' if a.ndim == 2 else 'vector'}" \
        " (as given in the problem file)"
    rows = []
    for v in views:
        given = lambda key: "" if key in v.given else " (not given: 0)"
        of = f" of layer {v.layer}" if v.layer else ""
        rows += [[f"${v.wt('U')}$, input → hidden{of}", big(v.U)], [f"${v.wt('W')}$, hidden → hidden{of}", big(v.W)],
                 [f"${v.wt('b')}$, hidden bias{of}" + given("b"), big(v.b)],
                 [f"${v.q('h', 0)}$" + given("h0"), big(v.h0)]]
    if top.has_output:
        given = lambda key: "" if key in top.given else " (not given: 0)"
        rows += [["$V$, hidden → output", big(top.V)], ["$c$, output bias" + given("c"), big(top.c)]]
    s.table(["", "value"], rows + ([[r"$\eta$", p.eta]] if p.eta is not None else []))
    rows = []
    for t in range(1, T + 1):
        row = [t] + ([p.tokens[t - 1]] if p.tokens else []) + [p.X[t - 1]]
        if p.has_loss:
            if p.output == "every":
                row.append(_target_text(p, t - 1))
            else:
                row.append(_target_text(p, 0) if t == T else "")
        if p.upstream is not None:
            row.append(p.upstream[t - 1])
        rows.append(row)
    s.table(["t"] + (["token"] if p.tokens else []) + ["x_{t}"] + (["y_{t}"] if p.has_loss else [])
            + ([top.up_tex.replace("#", "t")] if p.upstream is not None else []),
            rows, title="The sequence",
            note=(f"${top.up_tex.replace('#', 't')}$: the gradient arriving at ${top.q('h', 't')}$ from above "
                  "(what a layer on top sends down), given." if p.upstream is not None else None))
    r = w.section("Rules")
    for v in views:
        x = v.q("x", "t")
        r.math(rf"{v.q('a', 't')} = {v.wt('U')} {x} + {v.wt('W')} {v.q('h', 't-1')} + {v.wt('b')}",
               "net input" + (f" of layer {v.layer}" if v.layer else ""))
        r.math(rf"{v.q('h', 't')} = f({v.q('a', 't')})"
               + (f" = {v.q('a', 't')}" if p.f_act.identity_map else rf" = {p.f_act.tex}({v.q('a', 't')})"),
               "hidden state")
    if top.has_output:
        h = top.q("h", "t")
        r.math(rf"o_{{t}} = V {h} + c", "output net input")
        r.math(r"\hat{y}_{t} = g(o_{t}) = " + ("o_{t}" if p.g_act.identity_map else rf"{p.g_act.tex}(o_{{t}})"),
               "output" + (f" (only at t = T = {T})" if p.output == "last" else " (every step)"))
    if p.has_loss:
        r.math("L_{t} = " + nn.loss(p.loss).rule("y_{t,j}", r"\hat{y}_{t,j}"), "loss")
        r.math(r"L = \sum_{t=1}^{" + str(T) + r"} L_{t}" if p.output == "every" else rf"L = L_{{{T}}}", "total loss")
    if top.has_output and p.output == "last" and T > 1:
        r.text("Many-to-one: $o_{t}$ and $\\hat{y}_{t}$ are formed only at the last step.", "note")


def _forward_table(p: Problem, w: Sheet, fw: Fwd) -> None:
    """The forward pass of every step: the hidden layer in one table, the output layer in
    another (each narrow enough for a page)."""
    T, m = p.T, p.m
    of = f" of layer {p.layer}" if p.layer else ""
    s = w.section("Forward pass: all time steps" + of)
    wide, kwide = m > SMALL, p.k > SMALL  # then a norm stands for the vector
    tok = p.tokens and p.layer <= 1
    cols = ["t"] + (["token"] if tok else []) + ([r"\lVert{" + p.q("h", "t") + r"}\rVert"] if wide
                                                  else [p.q("a", "t"), p.q("h", "t")])
    hn = _norms(fw.H[1:]) if wide else None
    rows = []
    for t in range(1, T + 1):
        rows.append([t] + ([p.tokens[t - 1]] if tok else []) + ([hn[t - 1]] if wide else [fw.A[t - 1], fw.H[t]]))
    s.table(cols, rows, title="Hidden layer" if p.has_output and p.output == "every" else None,
            note=("Vectors with more than 4 components are shown by their norm ‖·‖; the JSON results carry h in "
                  "full." if wide else None))
    if p.has_output and p.output == "every":
        yn = _norms(fw.Y) if kwide else None
        cols = ["t"] + ([r"\lVert{\hat{y}_{t}}\rVert"] if kwide else ["o_{t}", r"\hat{y}_{t}"]) \
            + (["L_{t}"] if p.has_loss else [])
        rows = [[t] + ([yn[t - 1]] if kwide else [fw.O[t - 1], fw.Y[t - 1]])
                + ([float(fw.L[t - 1])] if p.has_loss else []) for t in range(1, T + 1)]
        s.table(cols, rows, title="Output layer",
                note="Vectors with more than 4 components are shown by their norm ‖·‖." if kwide else None)
    elif p.has_output and not p.has_loss:
        s.table([rf"o_{{{T}}}", rf"\hat{{y}}_{{{T}}}"], [[fw.O[T - 1], fw.Y[T - 1]]], title="Output layer")


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


def _rules_backward(p: Problem, w: Sheet, start: int, views: list | None = None) -> None:
    """The rules of BPTT; p is the top layer (the only one, or the last of a stack)."""
    T = p.T
    views = views or [p]
    s = w.section("Backpropagation through time: the rules")
    s.text("W, U and b are used at every time step, so each gets a part from every step: the chain rule "
           "along every path from L back to the weight"
           + (", as the notes expand it ($\\partial^{+}$ is the immediate derivative, with $h_{t-1}$ held fixed):"
              if p.has_loss and not p.layer else "."))
    if p.has_loss and not p.layer:
        s.math(_expansion(T, p.output), "expansion")
    if p.upstream is not None:
        s.text(f"Here L is the loss of whatever sits on top, which the problem does not give: only its gradient "
               f"${p.up_tex.replace('#', 't')}$ at every ${p.q('h', 't')}$, and that is all BPTT needs.")
    s.text("BPTT collects the paths backwards in $\\frac{\\partial L}{\\partial h_{t}}$, everything that reaches "
           "$h_{t}$:")
    h, a = p.q("h", "t"), p.q("a", "t")
    terms = ([r"V^{\top} \frac{\partial L}{\partial o_{t}}"] if p.has_loss else []) \
        + ([p.up_tex.replace("#", "t")] if p.upstream is not None else []) \
        + [rf"{p.wT('W')} \delta{p.sup}_{{t+1}}"]
    s.math(rf"\frac{{\partial L}}{{\partial {h}}} = " + " + ".join(terms)
           + rf", \quad \delta{p.sup}_{{t}} = \frac{{\partial L}}{{\partial {a}}} = f'({a}) \odot "
             rf"\frac{{\partial L}}{{\partial {h}}}", "errors")
    for v in views[:-1]:  # the layers below: their upstream is what the layer above sends down
        hv, av = v.q("h", "t"), v.q("a", "t")
        s.math(rf"\frac{{\partial L}}{{\partial {hv}}} = {v.up_tex.replace('#', 't')} + {v.wT('W')} "
               rf"\delta{v.sup}_{{t+1}}, \quad \delta{v.sup}_{{t}} = f'({av}) \odot \frac{{\partial L}}{{\partial {hv}}}",
               f"errors of layer {v.layer}")
    s.math(rf"f'(a) = {_prime_tex(p.f_act, 'a', 'h')}",
           "for " + _act_words(p.f_act, "f", "a") + (" (every layer)" if p.layer else ""))
    notes = []
    if p.has_loss:
        notes.append("the $V^{\\top}$ term only at steps with an output" + (f", here only t = {T}" if p.output == "last"
                                                                          else ""))
    if p.upstream is not None:
        notes.append(f"${p.up_tex.replace('#', 't')}$ is the given gradient from above")
    if p.layer:
        notes.append(r"a layer l below the top receives $\bar{g}^{(l)}_{t} = U^{(l+1)\top} \delta^{(l+1)}_{t}$ "
                     "from the layer above: the $U^{\\top}$ of layer l + 1 carries the error down, as layer 1's "
                     "carries it to the input")
    notes.append(f"the $W^{{\\top}}$ term only for t < T, as $\\delta_{{{T + 1}}} = 0$")
    s.text("(" + "; ".join(notes) + ".)")
    s.math(r"\frac{\partial L}{\partial W} = \sum_{t} \delta_{t} h_{t-1}^{\top}, \quad "
           r"\frac{\partial L}{\partial U} = \sum_{t} \delta_{t} x_{t}^{\top}, \quad "
           r"\frac{\partial L}{\partial b} = \sum_{t} \delta_{t}", "hidden weights" + (" (each layer, with its own input)"
                                                                                      if p.layer else ""))
    s.math(r"\frac{\partial L}{\partial x_{t}} = U^{\top} \delta_{t}, \quad "
           r"\frac{\partial L}{\partial h_{0}} = W^{\top} \delta_{1}", "input and initial state")
    if p.has_loss:
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
    """Every step of the backward pass, in narrow tables: the output's error and ∂L/∂V's
    part (steps with an output), the errors ∂L/∂h_t, δ_t, ∂L/∂x_t, and the parts of ∂L/∂W
    and ∂L/∂U."""
    T = p.T
    s = w.section("Backward pass: every time step" + (f" of layer {p.layer}" if p.layer else ""))
    wrap = (lambda tex: tex) if small else (lambda tex: r"\lVert{" + tex + r"}\rVert")
    cell = (lambda a, t: a[t - 1]) if small else (lambda a, t: float(np.linalg.norm(a[t - 1])))
    window = range(T, bw.start - 1, -1)
    if p.has_loss:
        outs = [t for t in p.out_steps() if t >= bw.start][::-1]
        s.table(["t"] + [wrap(c) for c in (_dd("L", "o_{t}"), _part("V", "t"))],
                [[t, cell(bw.dLdo, t), cell(bw.parts["V"], t)] for t in outs], title="Output layer",
                note="The part of $\\partial L / \\partial c$ at step t is $\\partial L / \\partial o_{t}$."
                + (" Only the last step has an output." if p.output == "last" and p.T > 1 else ""))
    s.table(["t"] + [wrap(c) for c in (_dd("L", p.q("h", "t")), rf"\delta{p.sup}_{{t}}", _dd("L", p.q("x", "t")))],
            [[t, cell(bw.dLdh, t), cell(bw.delta, t), cell(bw.gx, t)] for t in window],
            title="Errors", note=(f"Steps t < {bw.start} are outside the truncation window: nothing flows back to "
                                  "them." if bw.start > 1 else None))
    s.table(["t"] + [wrap(c) for c in (_part(p.wt("W"), "t"), _part(p.wt("U"), "t"))],
            [[t, cell(bw.parts["W"], t), cell(bw.parts["U"], t)] for t in window], title="Parts of the gradients",
            note=(f"The part of $\\partial L / \\partial {p.wt('b')}$ at step t is $\\delta{p.sup}_{{t}}$."
                  + ("" if small else " Vectors and matrices are shown by their (Frobenius) norm ‖·‖; the JSON "
                                      "results carry them in full (grad_W_by_step, …).")))


_NAMES = {"W": "hidden → hidden", "U": "input → hidden", "b": "hidden bias", "V": "hidden → output",
          "c": "output bias"}


def _sum_step(p: Problem, s, bw: Bwd, name: str, path: tuple):
    """A gradient as the sum of its per-step parts."""
    T, start = p.T, bw.start
    steps = [t for t in range(start, T + 1) if name not in ("V", "c") or p.output == "every" or t == T]
    tex = p.wt(name)
    syms = [E.Sym(_part(tex, t), bw.parts[name][t - 1]) for t in steps[:SUM_TERMS + 1]]
    if len(steps) == 1:
        expr = syms[0]
    elif len(steps) <= SUM_TERMS:
        expr = E.Add([(1, q) for q in syms])
    else:
        expr = E.Sym(rf"\sum_{{t={steps[0]}}}^{{{steps[-1]}}} " + _part(tex, "t"), bw.grads[name])
    return O.value(s.step(path, _dd("L", tex), expr, f"∂L/∂{name} ({_NAMES[name]})", components=False))


def _totals(p: Problem, w, bw: Bwd) -> dict:
    """Each gradient of the layer (with a loss also V, c) as the sum of its parts; returns
    them as settled."""
    s = w.section("Gradients: the parts summed over time" + (f", layer {p.layer}" if p.layer else ""))
    out = {name: _sum_step(p, s, bw, name, p.at("grad_" + name)) for name in ("W", "U", "b")}
    if p.has_loss:
        if p.layer:
            s = w.section("Gradients of the output layer")
        out.update({name: _sum_step(p, s, bw, name, ("grad_" + name,)) for name in ("V", "c")})
    return out


def _vanishing(p: Problem, w: Sheet, fw: Fwd, start: int):
    T, m = p.T, p.m
    fprime = O.value(_fprime(p.f_act, fw.A, fw.H[1:])) * np.ones((T, m))  # all the steps at once
    norms, log10 = jacobian_norms(p.W, fprime)
    s = w.section("Vanishing and exploding gradients" + (f", layer {p.layer}" if p.layer else ""))
    hT, ht = p.q("h", T), p.q("h", "t")
    s.text(f"How much of a change of ${ht}$ reaches ${hT}$: the Jacobian product")
    s.math(rf"\frac{{\partial {hT}}}{{\partial {ht}}} = J_{{{T}}} J_{{{T - 1}}} \cdots J_{{t+1}}, \quad "
           rf"J_{{s}} = \frac{{\partial {p.q('h', 's')}}}{{\partial {p.q('h', 's-1')}}} = "
           rf"\mathrm{{diag}}(f'({p.q('a', 's')})) {p.wt('W')}", "Jacobian")
    s.text("measured by its spectral norm $\\lVert{\\cdot}\\rVert_{2}$ (the largest singular value). Every error "
           f"that travels back from step {T} to step t is multiplied by this matrix.")
    rows = [[t, float(norms[t - 1]), float(log10[t - 1])] + (["yes" if t >= start else "no"] if start > 1 else [])
            for t in range(T, 0, -1)]
    s.table(["t", rf"\lVert{{\partial {hT} / \partial {ht}}}\rVert_{{2}}", r"\log_{10}"]
            + (["in window"] if start > 1 else []), rows)
    sn = float(np.linalg.norm(p.W, 2))
    cap = p.f_act.max_slope
    Wt = p.wt("W")
    s.step(None, rf"\lVert{{{Wt}}}\rVert_{{2}}", E.Sym(rf"\sigma_{{\max}}({Wt})", sn), f"Spectral norm of {Wt}"
           if not p.layer else f"Spectral norm of W of layer {p.layer}")
    s.text("Each factor has $\\lVert{J_{s}}\\rVert_{2} \\leq \\max|f'| \\cdot \\lVert{W}\\rVert_{2}$"
           + ("" if cap == 1 else f" with $\\max|f'| = {cap:g}$ for ${p.f_act.tex}$")
           + (" with $|f'| \\leq 1$" if p.f == "tanh" else "")
           + ": the product can shrink geometrically with the distance T − t (vanishing gradient, certain when "
             "$\\max|f'| \\cdot \\lVert{W}\\rVert_{2} < 1$) or grow geometrically (exploding gradient).")
    if T > 1 and np.isfinite(log10[0]) and abs(log10[0]) > 6:
        kind = "vanishing: the first steps barely move the gradient" if log10[0] < 0 else \
            "exploding: clipping at a threshold θ bounds the step"
        s.text(f"Here $\\lVert{{\\partial {hT} / \\partial {p.q('h', 1)}}}\\rVert_{{2}}$ is about "
               f"$10^{{{log10[0]:.0f}}}$ ({kind}).", "warning")
    elif T > 1 and log10[0] == -np.inf:
        s.text(f"Here $\\partial {hT} / \\partial {p.q('h', 1)} = 0$: no gradient reaches the first step "
               "(e.g. every ReLU of some step is off).", "warning")
    return norms, log10


def _path_of(v: Problem, name: str, suffix: str = "") -> tuple:
    """The result path of a weight's quantity: per layer for U, W, b; top-level for V, c."""
    return (name + suffix,) if name in ("V", "c") else v.at(name + suffix)


def _truncation_compare(p: Problem, w: Sheet, views: list, fws: list, bws: list) -> None:
    full = _backward_all(list(views), fws, None, 1, page=w.scratch)
    s = w.section("Truncated against full BPTT")
    s.text(f"The gradients of truncated BPTT (last {p.truncate} step{'s' if p.truncate > 1 else ''}) are the "
           "ones used; for comparison, full BPTT over all T steps gives:")
    small = max(max(v.m, v.n, v.k) for v in views) <= SMALL
    rows = []
    for v, bw, fb in zip(views, bws, full):
        rows += [[_dd("L", v.wt(name)) + ("" if small else r" \; (\lVert{\cdot}\rVert)"), _cell(bw.grads[name], small),
                  _cell(fb.grads[name], small)] for name in ("W", "U", "b", "V", "c") if name in bw.grads]
    s.table(["", "truncated", "full BPTT"], rows)


def _norm_step(s, grads):
    """The global norm of all the gradients together, as a step of section s (grad_norm).
    grads: [(layer, name, gradient), …] (or a dict name → gradient of a single layer)."""
    if isinstance(grads, dict):
        grads = [(None, name, grads[name]) for name in ("U", "W", "b", "V", "c") if name in grads]
    s.text("The global norm of all the gradients together ($\\lVert{\\cdot}\\rVert^{2}$ of a gradient is the "
           "sum of its squared entries):")
    sq = [E.Sym(r"\lVert{" + _dd("L", v.wt(name) if v is not None else name) + r"}\rVert^{2}",
                math.fsum(np.ravel(g) ** 2)) for v, name, g in grads]
    return s.step(("grad_norm",), r"\lVert{g}\rVert", O.sqrt(E.Add([(1, q) for q in sq])), "Gradient norm",
                  scalar=True)


def _clip(p: Problem, w, grads):
    """grads: [(layer, name, gradient), …] (or a dict name → gradient of a single layer,
    returned as a dict)."""
    if isinstance(grads, dict):
        out = _clip(p, w, [(p, name, grads[name]) for name in ("U", "W", "b", "V", "c") if name in grads])
        return {name: g for _, name, g in out}
    s = w.section("Gradient clipping")
    g = _norm_step(s, grads)
    theta = E.Sym(r"\theta", p.clip)
    norm = float(O.value(g))
    clipped = bool(norm > p.clip)
    if clipped:
        rho = s.step(None, r"\lambda", theta / g,
                     f"‖g‖ = {norm:.4g} > θ = {p.clip:.4g}: the gradients are too large, so every one is "
                     "multiplied by")
        out = []
        for v, name, grad in grads:
            tex = _dd("L", v.wt(name))
            out.append((v, name, O.value(s.step(_path_of(v, "grad_" + name, "_clipped"), tex + r"_{\mathrm{clip}}",
                                                rho * E.Sym(tex, grad), components=False))))
        after = math.sqrt(math.fsum(float(np.sum(gc ** 2)) for _, _, gc in out))
        s.step(("grad_norm_clipped",), r"\lVert{g_{\mathrm{clip}}}\rVert", E.Sym(r"\lambda \lVert{g}\rVert", after),
               "Norm after clipping (θ, up to rounding)", scalar=True)
    else:
        s.text(f"‖g‖ = {norm:.4g} ≤ θ = {p.clip:.4g}: the gradients are used unchanged.", "note")
        out = [(v, name, w.result(_path_of(v, "grad_" + name, "_clipped"), grad)) for v, name, grad in grads]
        w.result(("grad_norm_clipped",), norm, scalar=True)
    w.result(("clipped",), clipped, exact=True)
    return out


def _new_tex(v: Problem, name: str) -> str:
    """The updated weight: W^{new}, or W^{(2) new} in a stack."""
    return name + "^{" + (f"({v.layer})\\," if v.layer and name not in ("V", "c") else "") + r"\mathrm{new}}"


def _update(p: Problem, w, views: list, grads, fw: Fwd) -> None:
    s = w.section("Update: w ← w − η ∂L/∂w" + (" with the clipped gradients" if p.clip is not None else ""))
    eta = E.Sym(r"\eta", p.eta)
    new = {}
    for v, name, grad in grads:
        gsym = E.Sym(_dd("L", v.wt(name)) + (r"_{\mathrm{clip}}" if p.clip is not None else ""), grad)
        new[(v.layer, name)] = O.value(s.step(_path_of(v, name), _new_tex(v, name),
                                              E.Sym(v.wt(name), getattr(v, name)) - eta * gsym, components=False))
    nets = [Net(new[(v.layer, "U")], new[(v.layer, "W")], new[(v.layer, "b")],
                new.get((v.layer, "V"), v.V), new.get((v.layer, "c"), v.c)) for v in views]
    after = _forward_all(list(views), None, nets, page=w.scratch)[-1]
    if p.has_loss:
        w.result(("loss_after",), after.loss, scalar=True)
        s.table(["", "L"], [["before the update", fw.loss], ["after the update (same sequence)", after.loss]])
