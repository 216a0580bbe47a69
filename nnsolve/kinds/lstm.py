"""kind: lstm — the forward pass of an LSTM cell over a sequence, time step by time step.

The reading helpers at the top (inputs, a set of gate weights, the initial state, the
summary tables) are shared with kind: gru, whose cell has the same layout.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..sheet import Sheet
from .. import ops
from ..given import Field, title
from . import _gated

SUMMARY = "LSTM cell forward pass over a sequence: gates, cell and hidden state per time step"


MAX_STEPS = 10_000      # time steps (the work estimate, work below, bounds the rest)
SHOW_WEIGHTS = 128      # the problem section lists each gate's weights up to m × (n + m) of them
WIDE_FROM = 5  # from this hidden size on, one line per component gives way to tables
WIDE_NOTE = ("With m = {m} hidden units the matrix products are not written out number by number: "
             "each gate shows its argument evaluated, and the summary has one table per gate with "
             "the components j = 1 … {m}.")


# -- the givens, shared with kind: gru --------------------------------------------------

HEADLINE = "LSTM cell forward pass over a sequence"

INPUTS = Field("inputs", "list", "x_1 … x_T, each a list of n numbers", of="vector", shape=("T", "n"),
               what="a list of input vectors x_1 … x_T")


def gate_weights(gates, example: dict, extra=()) -> Field:
    """weights: W_<g> (m × n), U_<g> (m × m), b_<g> (m, default zeros) of each gate
    (g, its name, its equation); ``extra``: more fields of the mapping."""
    W = tuple(Field(f"W_{g}", "matrix", f"{name}: {eq}", shape=("m", "n"), note=note)
              for g, name, eq, note in gates)
    U = tuple(Field(f"U_{g}", "matrix", f"recurrent weights of the {name}", shape=("m", "m"),
                    note="a scalar stands for a 1 × 1 matrix (m = 1)" if k == 0 else "")
              for k, (g, name, _, _) in enumerate(gates))
    b = tuple(Field(f"b_{g}", "vector", f"bias of the {name}", shape=("m",), default=None,
                    default_text="zeros") for g, name, _, _ in gates)
    return Field("weights", "mapping", "W_*: m × n (one row per hidden unit), U_*: m × m, b_*: m",
                 example=example, fields=W + U + b + tuple(extra))


def initial_state(names, meaning: str, example: dict) -> Field:
    """initial: {h: …, c: …} (the given names), each a vector of length m, default zeros."""
    return Field("initial", "mapping", meaning, default=None, default_text="zeros", flow=True,
                 example=example,
                 fields=tuple(Field(k, "vector", f"the initial {k}_0", shape=("m",), default=None,
                                    default_text="zeros") for k in names))


LAYOUT = Field("layout", "choice", "notes (W_*, U_*, b_* per gate) | pytorch (weight_ih, weight_hh, bias_ih, "
               "bias_hh as torch.nn stores them) | keras (kernel, recurrent_kernel, bias)", choices=_gated.LAYOUTS,
               default="notes", example="notes", template="comment")

GIVEN = (
    title("My LSTM"),
    LAYOUT,
    INPUTS.but(example=[[1, 2], [0.5, 3]]),
    _gated.loosen(gate_weights((("f", "forget gate", "f = σ(W_f x + U_f h + b_f)", ""),
                  ("i", "input gate", "i = σ(W_i x + U_i h + b_i)", ""),
                  ("c", "candidate", "g = tanh(W_c x + U_c h + b_c)", ""),
                  ("o", "output gate", "o = σ(W_o x + U_o h + b_o)", "")),
                 {"W_f": [[0.7, 0.45]], "W_i": [[0.95, 0.8]], "W_c": [[0.45, 0.25]], "W_o": [[0.6, 0.4]],
                  "U_f": 0.1, "U_i": 0.8, "U_c": 0.15, "U_o": 0.25,
                  "b_f": 0.15, "b_i": 0.65, "b_c": 0.2, "b_o": 0.1}), True, True),
    initial_state(("h", "c"), "h_0 and c_0", {"h": [0], "c": [0]}),
) + _gated.head_fields(True)
GIVEN = GIVEN + (_gated.layers_field(GIVEN[3]), _gated.initial_fields(("h", "c")))


# -- reading, shared with kind: gru ---------------------------------------------------

def read_inputs(r) -> np.ndarray:
    """inputs: x_1 … x_T as a T × n array; n is the length of x_1."""
    items = r.items("inputs", what=INPUTS.what)
    if len(items) > MAX_STEPS:
        raise r.error(("inputs",), f"expected at most {MAX_STEPS} time steps, got {len(items)}")
    path0, v0 = items[0]
    x1 = r.array_value(v0, path0, ndim=1, what="the input vector x_1, a list of numbers")
    X = np.empty((len(items), len(x1)))
    X[0] = x1
    n = len(x1)
    for t, (path, v) in enumerate(items[1:], start=2):
        X[t - 1] = r.array_value(v, path, ndim=1, shape=(n,),
                                 what=f"x_{t}: an input vector of length {n}, as long as x_1 (inputs[0])")
    return X


def _matrix(w, key, shape, what):
    """A weight matrix. With one input (n = 1) a flat list is a column: one weight per unit."""
    value = w.raw(key, what=what)
    if shape[1] == 1 and isinstance(value, list) and value and not any(isinstance(v, list) for v in value):
        value = [[v] for v in value]
    return w.array_value(value, w.path + (key,), ndim=2, shape=shape, what=what)


@dataclass
class Gates:
    """The weights of a gated cell: per gate g, W[g] (m × n), U[g] (m × m), b[g] (m)."""
    W: dict
    U: dict
    b: dict
    m: int


def read_gates(r, names, n, w=None, n_text=None):
    """weights: W_<g>, U_<g>, b_<g> for each gate name g; m is the number of rows of the first
    W. Returns (the weights reader, so a kind can read more keys and then finish it; Gates).
    ``w``: the reader of the mapping (default: weights); ``n_text``: what n is (stacked layers)."""
    if w is None:
        w = r.sub("weights", what="a mapping of the weights W_*, U_*, b_*")
    for name, keys in _gated.LAYOUT_KEYS.items():
        for key in keys:
            if w.has(key):
                raise w.error(w.path + (key,), f"{key} is a key of layout: {name}; add layout: {name} (or give the "
                                               "weights per gate as W_*, U_*, b_*)")
    first = names[0]
    hint = ""
    if n_text:
        hint = f"; {n_text}"
    elif n == 1:
        hint = ("; each item of inputs is one time step, so n = 1 here (for one time step with "
                "several inputs write inputs: [[1, 2]])")
    W = {first: _matrix(w, f"W_{first}", (None, n),
                        f"an m × {n} matrix: one row per hidden unit, n = {n} columns "
                        f"({'the length of each input' if not n_text else 'its input'}){hint}")}
    m = W[first].shape[0]
    for g in names[1:]:
        W[g] = _matrix(w, f"W_{g}", (m, n),
                       f"a {m} × {n} matrix (m = {m}, the number of rows of W_{first}; "
                       f"{n_text or f'n = {n}, the length of each input'})")
    U = {g: _matrix(w, f"U_{g}", (m, m),
                    f"a {m} × {m} matrix (m × m, m = {m}, the number of rows of W_{first})")
         for g in names}
    b = {g: w.vector(f"b_{g}", np.zeros(m), length=m,
                     what=f"a bias vector of length m = {m} (the number of rows of W_{first})")
         for g in names}
    return w, Gates(W, U, b, m)


def reject_aliases(w, alias: str, name: str) -> None:
    """W_<alias>, U_<alias>, b_<alias> are a common slip for the candidate's W_<name>, …"""
    for k in "WUb":
        if f"{k}_{alias}" in w.data:
            raise w.error(w.path + (f"{k}_{alias}",),
                          f"unknown key '{k}_{alias}': the candidate's weights are W_{name}, U_{name} "
                          f"and b_{name}, so write {k}_{name}")


def read_initial(r, names, m):
    """initial: {h: …, c: …} (only the given names), each a length-m vector, default zeros."""
    _gated.reject_initial_list(r)
    init = r.sub("initial", None, what="a mapping of initial states")
    out = {}
    for k in names:
        out[k] = np.zeros(m) if init is None else init.vector(
            k, np.zeros(m), length=m, what=f"the initial {k}_0, a vector of length m = {m}")
    if init is not None:
        init.finish()
    return out


def cell_work(cell: str, X, m: int, gates: int, quantities: int, steps: int):
    """The size of a gated cell's working over a sequence (nnsolve.work): per time step,
    ``quantities`` vectors of m (``gates`` of them gates, each a product with n + m weights
    per unit), ``steps`` recorder calls; the worked sections and the summary tables."""
    from .. import work as W
    T, n = X.shape
    per_gate = m * (n + m)
    wide = m >= WIDE_FROM
    section = (gates * W.step(m, 0 if wide else m * (n + m + 1)) + (quantities - gates) * W.step(m, 3 * m)
               + 3 * W.cell(m) + W.STEP)
    tables = [(T, W.cell(n) + 1), (gates * (m if 1 < m and per_gate <= SHOW_WEIGHTS else 1), 3 * W.cell(m) + 1),
              (1, 2 * W.cell(m))]
    tables += [(T, quantities * W.cell(m) + 1)] if not wide else [(T, W.cell(m) + 1)] * quantities
    return W.Work(what=f"{cell} over T = {T:,} time steps with n = {n:,} inputs and m = {m:,} hidden units",
                  key=("inputs",), shrink="use fewer time steps, inputs or hidden units",
                  steps=steps * T, numbers=T * (gates * per_gate + 10 * m), flops=2 * T * gates * per_gate,
                  results=T * quantities * m, detail=(T, section), tables=tables,
                  shown=W.SHOWN_STEP * quantities)


# -- writing, shared with kind: gru ---------------------------------------------------

def problem_section(w: Sheet, cell: str, X, gates: Gates, labels: dict, initial: dict, extra=None):
    """The given quantities: the inputs, each gate's weights (``extra``: {tex: value} of
    further weights), the initial state."""
    T, n = X.shape
    intro = w.section("Problem")
    intro.text(f"{cell} with n = {n} input{'s' if n > 1 else ''} and m = {gates.m} hidden "
               f"unit{'s' if gates.m > 1 else ''}, run over T = {T} time step{'s' if T > 1 else ''}.")
    intro.table(["t", "x_{t}"], [[t, x] for t, x in enumerate(X, start=1)], title="Inputs")
    m = gates.m
    if m == 1:
        intro.table(["gate", "W", "U", "b"],
                    [[labels[g], gates.W[g][0], gates.U[g][0, 0], gates.b[g][0]] for g in gates.W],
                    title="Weights")
    elif m * (n + m) <= SHOW_WEIGHTS:  # one row per gate and hidden unit j
        intro.table(["gate", "j", "W (row j)", "U (row j)", "b_j"],
                    [[labels[g] if j == 0 else "", j + 1, gates.W[g][j], gates.U[g][j], gates.b[g][j]]
                     for g in gates.W for j in range(m)], title="Weights")
    else:  # a wall of numbers the reader has in the problem file already
        intro.table(["gate", "W", "U", "b"],
                    [[labels[g], f"{m} × {n}", f"{m} × {m}", f"length {m}"] for g in gates.W],
                    title="Weights (their shapes; the values are those of the problem file)")
    if extra:
        intro.table(list(extra), [list(extra.values())])
    intro.table([f"{k}_{{0}}" for k in initial], [list(initial.values())])


def layout_section(w: Sheet, lay) -> None:
    """How the framework's blocks map to the gates."""
    s = w.section("The framework's weights, gate by gate")
    order = {("lstm", "pytorch"): "i, f, g, o", ("gru", "pytorch"): "r, z, n", ("lstm", "keras"): "i, f, c, o",
             ("gru", "keras"): "z, r, h"}[(lay.cell, lay.name)]
    if lay.name == "pytorch":
        s.text(f"torch.nn.{lay.cell.upper()} stores the gates' weights stacked in the order {order} (its "
               + ("g is our candidate g, whose weights are called W_c, U_c, b_c here" if lay.cell == "lstm" else
                  "n is our candidate h̃") + "): weight_ih holds the W's, one block of m rows each, weight_hh the "
               "U's, and each gate's bias is split into bias_ih and bias_hh.")
    else:
        s.text(f"Keras stores the gates side by side in the order {order}, transposed (x W, not W x): kernel holds "
               "the Wᵀ's, one block of m columns each, recurrent_kernel the Uᵀ's"
               + (", and bias two rows (reset_after: the input bias, then the recurrent bias)."
                  if lay.cell == "gru" and lay.reset_after else ", and bias the biases."))
    s.table(["gate", "W", "U", "b"], lay.mapping_rows())
    s.text("The gradients at the end are put back into the same blocks, so they compare directly with the "
           "framework's .grad.", "note")


def summary_section(w: Sheet, names, tex, series: dict, m: int) -> None:
    """The per-time-step table of every gate and state; for m > 4 one table per gate instead,
    component by component."""
    T = len(next(iter(series.values())))
    s = w.section("Summary over the time steps")
    if m < WIDE_FROM:
        s.table(["t"] + [tex[k] for k in names],
                [[t + 1] + [series[k][t] for k in names] for t in range(T)])
    else:
        for k in names:
            s.table(["t"] + [f"j = {j + 1}" for j in range(m)],
                    [[t + 1] + row for t, row in enumerate(series[k].tolist())],
                    title=f"${tex[k]}$ component by component")


# -- lstm -----------------------------------------------------------------------------

GATES = ("f", "i", "c", "o")  # weight suffixes; c is the candidate g
LABELS = {"f": "forget f", "i": "input i", "c": "candidate g", "o": "output o"}


@dataclass
class Problem:
    X: np.ndarray  # T × n
    gates: Gates
    h0: np.ndarray
    c0: np.ndarray
    head: _gated.Head = None  # the backward pass (recurrent.md), if any
    layout: _gated.Layout = None  # the weights as a framework stores them
    stack: list = None  # stacked layers (_gated.Layer), input side first; None: one layer


def read_weights(r, w, layout: str, n: int, n_text=None):
    """One layer's weights (the mapping read by ``w``) → (Gates, Layout or None)."""
    if layout == "notes":
        w, gates = read_gates(r, GATES, n, w=w, n_text=n_text)
        reject_aliases(w, "g", "c")
        lay = None
    else:
        Wd, Ud, bd, _, lay = _gated.read_layout(w, "lstm", layout, n, True, n_text or "")
        gates = Gates(Wd, Ud, bd, lay.m)
    w.finish()
    return gates, lay


def read(r, kind):
    X = read_inputs(r)
    T, n = X.shape
    layout = r.field("layout")
    if r.has("layers"):
        stack = _gated.read_stack(r, layout, n, lambda w, n_in, n_text: read_weights(r, w, layout, n_in, n_text),
                                  ("h", "c"))
        top = stack[-1]
        head = _gated.read_head(r, T, top.gates.m, True)
        first = stack[0]
        return Problem(X, first.gates, first.init["h"], first.init["c"], head, first.layout, stack)
    what = "a mapping of the weights " + ("W_*, U_*, b_*" if layout == "notes" else ", ".join(_gated.LAYOUT_KEYS[layout]))
    gates, lay = read_weights(r, r.sub("weights", what=what), layout, n)
    init = read_initial(r, ("h", "c"), gates.m)
    head = _gated.read_head(r, T, gates.m, True)
    return Problem(X, gates, init["h"], init["c"], head, lay)


def work(p: Problem):
    if p.stack is not None:
        return _gated.stack_work(p, lambda X, m: cell_work("an LSTM cell", X, m, 4, 6, 8), 4)
    w = cell_work("an LSTM cell", p.X, p.gates.m, 4, 6, 8)
    return _gated.back_work(w, p.head, *p.X.shape, p.gates.m, 4) if p.head is not None else w


def cell(page, t, weights, x, h_prev, c_prev, wide=False):
    """One time step of the LSTM, each formula stated once. ``page`` decides what happens
    to it: a shown page records the working, the silent page only computes, the rules page
    states it in symbols (t = "t"). ``weights``: (W, U, b), dicts by gate."""
    if page.shown:  # named for the formulas; on the silent page the arrays themselves (what sym gives there)
        W, U, b = ({g: page.sym(f"{k}_{g}", v) for g, v in d.items()} for k, d in zip("WUb", weights))
    else:
        W, U, b = weights
    prev = "t-1" if t == "t" else t - 1
    x, h_prev, c_prev = page.sym(f"x_{{{t}}}", x), page.sym(f"h_{{{prev}}}", h_prev), page.sym(f"c_{{{prev}}}", c_prev)
    sub = not wide
    f = page.step(("f", t), f"f_{{{t}}}", ops.sigma(W["f"] @ x + U["f"] @ h_prev + b["f"]), "Forget gate",
                  substitute=sub)
    i = page.step(("i", t), f"i_{{{t}}}", ops.sigma(W["i"] @ x + U["i"] @ h_prev + b["i"]), "Input gate",
                  substitute=sub)
    g = page.step(("g", t), f"g_{{{t}}}", ops.tanh(W["c"] @ x + U["c"] @ h_prev + b["c"]), "Candidate",
                  substitute=sub)
    o = page.step(("o", t), f"o_{{{t}}}", ops.sigma(W["o"] @ x + U["o"] @ h_prev + b["o"]), "Output gate",
                  substitute=sub)
    c = page.step(("c", t), f"c_{{{t}}}", ops.odot(f, c_prev) + ops.odot(i, g), "Cell state")
    h = page.step(("h", t), f"h_{{{t}}}", ops.odot(o, ops.tanh(c)), "Hidden state")
    return f, i, g, o, c, h


def cells_on_numbers(weights, X, h0, c0) -> dict | None:
    """What ``cell`` on the silent page computes at every step, on numbers directly: the same
    operations in the same order, σ and tanh from the library's records as ``ops`` applies
    them, the sheet's + 0.0 where a step is settled; without a formula's and the recorder's
    calls per quantity, which are most of a silent step's cost. Only for a sheet that is
    ``quick`` (no rounding, given values or slips). tests/test_gated_quick.py holds the two
    equal, bit for bit, in results, result order and working. Returns the series (T × m
    each), or None when a value is beyond float64 (the silent steps then run and name the
    first one)."""
    W, U, b = weights
    T, m = len(X), len(h0)
    out = {k: np.empty((T, m)) for k in ("f", "i", "g", "o", "c", "h")}
    F, I, G, O, C, H = (out[k] for k in ("f", "i", "g", "o", "c", "h"))
    sigma, tanh = _gated.SIG.value, _gated.TANH.value
    (Wf, Wi, Wc, Wo), (Uf, Ui, Uc, Uo), (bf, bi, bc, bo) = ([d[k] for k in ("f", "i", "c", "o")] for d in (W, U, b))
    h, c = np.asarray(h0, dtype=float), np.asarray(c0, dtype=float)
    with np.errstate(all="ignore"):
        for t in range(T):
            x = X[t]
            f = F[t] = sigma(Wf @ x + Uf @ h + bf)  # σ ∈ [0, 1]: the sheet's + 0.0 changes nothing
            i = I[t] = sigma(Wi @ x + Ui @ h + bi)
            g = G[t] = tanh(Wc @ x + Uc @ h + bc) + 0.0
            o = O[t] = sigma(Wo @ x + Uo @ h + bo)
            c = C[t] = f * c + i * g + 0.0
            h = H[t] = o * tanh(c) + 0.0
    if not all(np.isfinite(a).all() for a in out.values()):
        return None
    return out


def forward(sheet, X, gates: Gates, h0, c0, layout, title: str) -> dict:
    """The forward pass of one LSTM layer over the sequence X; returns the series of every gate
    and state (T × m each). ``sheet``: the sheet, or a layer's view of it (stacked layers)."""
    T, n = X.shape
    m = gates.m
    problem_section(sheet, title, X, gates, LABELS, {"h": h0, "c": c0})
    if layout is not None:
        layout_section(sheet, layout)
    nums = (gates.W, gates.U, gates.b)
    wide = m >= WIDE_FROM

    def equations(rules):
        cell(rules, "t", nums, X[0], h0, c0)
        rules.text(r"$g_{t}$ is the candidate cell state (written $\hat{c}_{t}$ in some notes); "
                   r"$\odot$ is the element-wise product.", "note")
        if wide:
            rules.text(WIDE_NOTE.format(m=m), "note")
    sheet.rules("Equations", equations)
    names = ("f", "i", "g", "o", "c", "h")
    series = {k: np.empty((T, m)) for k in names}

    def working_of(t, x, h_prev, c_prev):
        def build(page):
            page.table([f"x_{{{t}}}", f"h_{{{t - 1}}}", f"c_{{{t - 1}}}"], [[x, h_prev, c_prev]])
            cell(page, t, nums, x, h_prev, c_prev, wide)
        return build

    quick = cells_on_numbers(nums, X, h0, c0) if T > _gated.QUICK_FROM and sheet.silent.sheet.quick else None
    h_prev, c_prev = h0, c0
    if quick is not None:  # the same numbers as the silent cell's, remembered in the same order
        series = quick
        for t in range(1, T + 1):
            sheet.section(f"Time step t = {t}", level=3, detail=True, builder=working_of(t, X[t - 1], h_prev, c_prev))
            c_prev, h_prev = series["c"][t - 1], series["h"][t - 1]
        sheet.silent.sheet.remember_steps(sheet.silent, names, range(1, T + 1), series)
    for t in range(1, T + 1) if quick is None else ():
        x = X[t - 1]
        sheet.section(f"Time step t = {t}", level=3, detail=True, builder=working_of(t, x, h_prev, c_prev))
        values = cell(sheet.silent, t, nums, x, h_prev, c_prev)
        for k, v in zip(names, values):
            series[k][t - 1] = v
        c_prev, h_prev = values[4], values[5]

    tex = {k: f"{k}_{{t}}" for k in names}
    summary_section(sheet, names, tex, series, m)
    end = sheet.section("Result")
    end.table([f"h_{{{T}}}", f"c_{{{T}}}"], [[h_prev, c_prev]])
    return series


def back_layer(sheet, X, gates: Gates, h0, c0, layout, series: dict, head, rules_shown: bool = True):
    """The backward pass of one LSTM layer (kinds/_gated.py); returns ∂L/∂x_t (T × n)."""
    nums = (gates.W, gates.U, gates.b)
    H = np.vstack([h0[None, :], series["h"]])
    C = np.vstack([c0[None, :], series["c"]])
    keys = [f"{k}_{g}" for k in "WUb" for g in GATES]
    values = {f"{k}_{g}": d[g] for k, d in zip("WUb", nums) for g in GATES}
    if layout is not None:
        values = dict(layout.values)
    cell_ = _gated.Cell("lstm", GATES, {"f": ("delta_f", "f"), "i": ("delta_i", "i"), "c": ("delta_g", "g"),
                                        "o": ("delta_o", "o")},
                        _gated.lstm_back, nums + (head.V,), keys, values, layout)
    gates_series = {k: series[k] for k in ("f", "i", "g", "o")}
    return _gated.backward(sheet, cell_, head, X, H, gates_series, C, gates.m >= WIDE_FROM, rules_shown)


def solve(p: Problem, sheet) -> None:
    backward = p.head is not None and p.head.backward
    if p.stack is None:
        series = forward(sheet, p.X, p.gates, p.h0, p.c0, p.layout, "An LSTM cell")
        if backward:
            back_layer(sheet, p.X, p.gates, p.h0, p.c0, p.layout, series, p.head)
        return
    runs = _gated.stack_forward(
        sheet, p.X, p.stack,
        lambda view, X, layer, title: forward(view, X, layer.gates, layer.init["h"], layer.init["c"], layer.layout, title),
        "LSTM", ("f", "i", "g", "o", "c", "h"))  # the top-level results are the last layer's
    if backward:
        _gated.stack_backward(
            sheet, p.stack, runs, p.head,
            lambda view, X, layer, series, head, rules: back_layer(view, X, layer.gates, layer.init["h"],
                                                                   layer.init["c"], layer.layout, series, head, rules))
