"""kind: gru — the forward pass of a GRU cell over a sequence, in the convention of the
lecture notes (Cho et al. 2014) or of torch.nn.GRU."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import ops
from ..given import Field, title
from . import _gated
from .lstm import (INPUTS, LAYOUT, WIDE_FROM, WIDE_NOTE, Gates, cell_work, gate_weights, initial_state,
                   layout_section, problem_section, read_gates, read_initial, read_inputs, reject_aliases,
                   summary_section)

SUMMARY = "GRU cell forward pass over a sequence (Cho or PyTorch convention), per time step"


GATES = ("z", "r", "h")
LABELS = {"z": "update z", "r": "reset r", "h": r"candidate $\tilde{h}$"}
CONVENTIONS = ["cho", "pytorch", "keras"]
HEADLINE = "GRU cell forward pass over a sequence"

GIVEN = (
    title("My GRU"),
    Field("convention", "choice", "cho (as in most notes) | pytorch (torch.nn.GRU) | keras (keras.layers.GRU)",
          choices=CONVENTIONS, default="cho", example="cho",
          note="h = (1 − z) ⊙ h_prev + z ⊙ h̃ (cho);  h = (1 − z) ⊙ h̃ + z ⊙ h_prev (pytorch, keras)"),
    Field("reset_after", "boolean", "keras only: true (default, Keras 2+) is the pytorch cell; false is "
          "TensorFlow 1's GRUCell, h̃ = tanh(W_h x + U_h (r ⊙ h_prev) + b_h), h = z ⊙ h_prev + (1 − z) ⊙ h̃",
          default=None, default_text="true", example=False, template="comment", needs=(("convention", "keras"),)),
    LAYOUT.but(note="layout: pytorch implies convention: pytorch, layout: keras convention: keras"),
    INPUTS.but(example=[[1, 2], [0.5, 3]]),
    _gated.loosen(gate_weights((("z", "update gate", "z = σ(W_z x + U_z h + b_z)", ""),
                  ("r", "reset gate", "r = σ(W_r x + U_r h + b_r)", ""),
                  ("h", "candidate", "h̃ = tanh(W_h x + U_h (r ⊙ h) + b_h) (cho)",
                   "h̃ = tanh(W_h x + b_h + r ⊙ (U_h h + b_hn)) (pytorch)")),
                 {"W_z": [[0.5, 0.3]], "W_r": [[0.4, 0.2]], "W_h": [[0.6, 0.1]],
                  "U_z": 0.2, "U_r": 0.3, "U_h": 0.4, "b_z": 0.1, "b_r": 0.1, "b_h": 0.0},
                 extra=(Field("b_hn", "vector", "pytorch (and keras with reset_after): the bias inside the "
                              "reset product", shape=("m",), default=None, default_text="zeros", example=0.0,
                              template="comment", needs=(("convention", ("pytorch", "keras")),)),)), False, True),
    initial_state(("h",), "h_0", {"h": [0]}),
) + _gated.head_fields(False)
GIVEN = GIVEN + (_gated.layers_field(GIVEN[5]), _gated.initial_fields(("h",)))


@dataclass(frozen=True)
class Mode:
    """Where a convention puts the reset gate (before U_h: cho, keras reset_after false) and
    which of h̃ and h_prev z weights (the candidate: cho)."""
    before: bool
    znew: bool


def mode_of(convention: str, reset_after: bool) -> Mode:
    if convention == "cho":
        return Mode(True, True)
    if convention == "keras" and not reset_after:
        return Mode(True, False)
    return Mode(False, False)


@dataclass
class Problem:
    X: np.ndarray  # T × n
    gates: Gates
    b_hn: np.ndarray | None  # pytorch only; None when not given
    h0: np.ndarray
    convention: str
    reset_after: bool = True  # keras only
    head: _gated.Head = None
    layout: _gated.Layout = None
    stack: list = None  # stacked layers (_gated.Layer), input side first; None: one layer

    @property
    def mode(self) -> Mode:
        return mode_of(self.convention, self.reset_after)


def read_weights(r, w, layout: str, convention: str, reset_after: bool, n: int, n_text=None):
    """One layer's weights (the mapping read by ``w``) → (Gates, Layout or None, b_hn or None)."""
    if layout != "notes":
        Wd, Ud, bd, b_hn, lay = _gated.read_layout(w, "gru", layout, n, reset_after, n_text or "")
        w.finish()
        return Gates(Wd, Ud, bd, lay.m), lay, b_hn
    w, gates = read_gates(r, GATES, n, w=w, n_text=n_text)
    reject_aliases(w, "n", "h")  # torch.nn.GRU calls the candidate n
    m = gates.m
    b_hn = None
    after = not mode_of(convention, reset_after).before
    if after:
        if w.has("b_hn"):
            b_hn = w.vector("b_hn", length=m, what=f"a bias vector of length m = {m} (the number of rows of W_z)")
    elif w.has("b_hn"):
        raise w.error(w.path + ("b_hn",), "b_hn is used only with convention: pytorch (or keras with reset_after) "
                                          f"(the {'cho convention' if convention == 'cho' else 'reset_after: false cell'} "
                                          "has no bias inside the reset product)")
    w.finish()
    return gates, None, b_hn


def read(r, kind):
    layout = r.field("layout")
    convention = r.field("convention")
    if layout != "notes":
        if r.has("convention") and convention != layout:
            raise r.error(("convention",), f"layout: {layout} reads the weights as {'torch.nn.GRU' if layout == 'pytorch' else 'Keras'} "
                                           f"stores them, and that is the {layout} convention, not {convention} "
                                           f"(leave convention out, or write convention: {layout})")
        convention = layout
    reset_after = r.boolean("reset_after") if r.has("reset_after") else None
    if reset_after is not None and convention != "keras":
        raise r.error(("reset_after",), "reset_after belongs to convention: keras (Keras's GRU); "
                                        f"the {convention} convention has no such switch")
    reset_after = True if reset_after is None else reset_after
    X = read_inputs(r)
    T, n = X.shape
    if r.has("layers"):
        stack = _gated.read_stack(r, layout, n, lambda w, n_in, n_text: read_weights(
            r, w, layout, convention, reset_after, n_in, n_text), ("h",))
        head = _gated.read_head(r, T, stack[-1].gates.m, False)
        first = stack[0]
        return Problem(X, first.gates, first.b_hn, first.init["h"], convention, reset_after, head, first.layout, stack)
    what = "a mapping of the weights " + ("W_*, U_*, b_*" if layout == "notes" else ", ".join(_gated.LAYOUT_KEYS[layout]))
    gates, lay, b_hn = read_weights(r, r.sub("weights", what=what), layout, convention, reset_after, n)
    h0 = read_initial(r, ("h",), gates.m)["h"]
    head = _gated.read_head(r, T, gates.m, False)
    return Problem(X, gates, b_hn, h0, convention, reset_after, head, lay)


def work(p: Problem):
    if p.stack is not None:
        return _gated.stack_work(p, lambda X, m: cell_work("a GRU cell", X, m, 3, 5, 7), 3)
    w = cell_work("a GRU cell", p.X, p.gates.m, 3, 5, 7)
    return _gated.back_work(w, p.head, *p.X.shape, p.gates.m, 3) if p.head is not None else w


def cell(page, t, weights, x, h_prev, mode: Mode, wide: bool = False):
    """One time step of the GRU, each formula stated once, for a shown, silent or rules
    page (see kinds/lstm.py). ``weights``: (W, U, b dicts by gate, b_hn or None)."""
    Wd, Ud, bd, b_hn_v = weights
    W, U, b = ({g: page.sym(f"{k}_{g}", v) for g, v in d.items()} for k, d in zip("WUb", (Wd, Ud, bd)))
    b_hn = None if b_hn_v is None else page.sym("b_{hn}", b_hn_v)
    prev = "t-1" if t == "t" else t - 1
    x, h_prev = page.sym(f"x_{{{t}}}", x), page.sym(f"h_{{{prev}}}", h_prev)
    z = page.step(("z", t), f"z_{{{t}}}", ops.sigma(W["z"] @ x + U["z"] @ h_prev + b["z"]), "Update gate",
                  substitute=not wide)
    r = page.step(("r", t), f"r_{{{t}}}", ops.sigma(W["r"] @ x + U["r"] @ h_prev + b["r"]), "Reset gate",
                  substitute=not wide)
    if mode.before:
        reset = page.step(None, rf"(r \odot h)_{{{t}}}", ops.odot(r, h_prev), "Reset previous state")
        cand = ops.tanh(W["h"] @ x + U["h"] @ reset + b["h"])
    else:
        recurrent = U["h"] @ h_prev if b_hn is None else U["h"] @ h_prev + b_hn
        cand = ops.tanh(W["h"] @ x + b["h"] + ops.odot(r, recurrent))
    ht = page.step(("h_tilde", t), rf"\tilde{{h}}_{{{t}}}", cand, "Candidate", substitute=not wide)
    if mode.znew:
        update = ops.odot(1 - z, h_prev) + ops.odot(z, ht)
    elif mode.before:  # TensorFlow 1's GRUCell, as Keras writes it
        update = ops.odot(z, h_prev) + ops.odot(1 - z, ht)
    else:
        update = ops.odot(1 - z, ht) + ops.odot(z, h_prev)
    h = page.step(("h", t), f"h_{{{t}}}", update, "Hidden state")
    return z, r, ht, h


def forward(sheet, p: Problem, X, gates: Gates, b_hn, h0, layout, title: str) -> dict:
    """The forward pass of one GRU layer over the sequence X; returns the series of the gates and
    the state (T × m each). ``sheet``: the sheet, or a layer's view of it (stacked layers)."""
    T, n = X.shape
    m = gates.m
    mode = p.mode
    name = {"cho": "Cho", "pytorch": "PyTorch", "keras": "Keras"}[p.convention]
    if p.convention == "keras":
        name += ", reset_after: " + ("true" if p.reset_after else "false")
    problem_section(sheet, f"{title} ({name} convention)", X, gates, LABELS,
                    {"h": h0}, None if b_hn is None else {"b_{hn}": b_hn})
    if layout is not None:
        layout_section(sheet, layout)
    nums = (gates.W, gates.U, gates.b, b_hn)
    wide = m >= WIDE_FROM

    def equations(rules):
        cell(rules, "t", nums, X[0], h0, mode)
        if p.convention == "keras":
            rules.text(r"The three conventions differ in two places. Cho et al. (and most notes) apply the reset "
                       r"gate before the matrix product, $U_h (r_{t} \odot h_{t-1})$, and give $z_{t}$ the weight "
                       r"of the new candidate. PyTorch's torch.nn.GRU applies it after, "
                       r"$r_{t} \odot (U_h h_{t-1} + b_{hn})$, and gives $z_{t}$ the weight of the old state. "
                       r"Keras's GRU gives $z_{t}$ the weight of the old state too; with reset_after: true "
                       r"(its default since Keras 2) it is exactly PyTorch's cell, with reset_after: false "
                       r"(TensorFlow 1's GRUCell) the reset gate acts before the product, as Cho's does.", "note")
        else:
            rules.text(r"The two conventions differ in two places: Cho et al. (and most notes) apply the reset "
                       r"gate before the matrix product, $U_h (r_{t} \odot h_{t-1})$, and give $z_{t}$ the weight "
                       r"of the new candidate; PyTorch's torch.nn.GRU applies it after, "
                       r"$r_{t} \odot (U_h h_{t-1} + b_{hn})$, and gives $z_{t}$ the weight of the old state.", "note")
        if wide:
            rules.text(WIDE_NOTE.format(m=m), "note")
    sheet.rules("Equations", equations)
    names = ("z", "r", "h_tilde", "h")
    series = {k: np.empty((T, m)) for k in names}

    def working_of(t, x, h_prev):
        def build(page):
            page.table([f"x_{{{t}}}", f"h_{{{t - 1}}}"], [[x, h_prev]])
            cell(page, t, nums, x, h_prev, mode, wide)
        return build

    h_prev = h0
    for t in range(1, T + 1):
        x = X[t - 1]
        sheet.section(f"Time step t = {t}", level=3, detail=True, builder=working_of(t, x, h_prev))
        values = cell(sheet.silent, t, nums, x, h_prev, mode)
        for k, v in zip(names, values):
            series[k][t - 1] = v
        h_prev = values[3]

    tex = {"z": "z_{t}", "r": "r_{t}", "h_tilde": r"\tilde{h}_{t}", "h": "h_{t}"}
    summary_section(sheet, names, tex, series, m)
    end = sheet.section("Result")
    end.table([f"h_{{{T}}}"], [[h_prev]])
    return series


def back_layer(sheet, p: Problem, X, gates: Gates, b_hn, h0, layout, series: dict, head, rules_shown: bool = True):
    """The backward pass of one GRU layer (kinds/_gated.py); returns ∂L/∂x_t (T × n)."""
    mode = p.mode
    m = gates.m
    nums = (gates.W, gates.U, gates.b, b_hn)
    H = np.vstack([h0[None, :], series["h"]])
    after = not mode.before
    keys = [f"{k}_{g}" for k in "WUb" for g in GATES] + (["b_hn"] if after else [])
    values = {f"{k}_{g}": d[g] for k, d in zip("WUb", nums[:3]) for g in GATES}
    if after:
        values["b_hn"] = b_hn if b_hn is not None else np.zeros(m)
    if layout is not None:
        values = dict(layout.values)
    back = lambda page, t, head_, nums_, q, wide_=False, parts=True: _gated.gru_back(
        page, t, head_, nums_, q, mode, wide_, parts)
    cell_ = _gated.Cell("gru", GATES, {"z": ("delta_z", "z"), "r": ("delta_r", "r"), "h": ("delta_h", r"\tilde{h}")},
                        back, nums + (head.V,), keys, values, layout)
    gates_series = {"z": series["z"], "r": series["r"], "h_tilde": series["h_tilde"]}
    return _gated.backward(sheet, cell_, head, X, H, gates_series, None, m >= WIDE_FROM, rules_shown)


def solve(p: Problem, sheet) -> None:
    backward = p.head is not None and p.head.backward
    if p.stack is None:
        series = forward(sheet, p, p.X, p.gates, p.b_hn, p.h0, p.layout, "A GRU cell")
        if backward:
            back_layer(sheet, p, p.X, p.gates, p.b_hn, p.h0, p.layout, series, p.head)
        return
    runs = _gated.stack_forward(
        sheet, p.X, p.stack,
        lambda view, X, layer, title: forward(view, p, X, layer.gates, layer.b_hn, layer.init["h"], layer.layout,
                                              title),
        "GRU", ("z", "r", "h_tilde", "h"))  # the top-level results are the last layer's
    if backward:
        _gated.stack_backward(
            sheet, p.stack, runs, p.head,
            lambda view, X, layer, series, head, rules: back_layer(view, p, X, layer.gates, layer.b_hn,
                                                                   layer.init["h"], layer.layout, series, head, rules))
