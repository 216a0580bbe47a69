"""kind: gru — the forward pass of a GRU cell over a sequence, in the convention of the
lecture notes (Cho et al. 2014) or of torch.nn.GRU."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import ops
from ..given import Field, title
from .lstm import (INPUTS, WIDE_FROM, WIDE_NOTE, Gates, cell_work, gate_weights, initial_state, problem_section,
                   read_gates, read_initial, read_inputs, reject_aliases, summary_section)

SUMMARY = "GRU cell forward pass over a sequence (Cho or PyTorch convention), per time step"


GATES = ("z", "r", "h")
LABELS = {"z": "update z", "r": "reset r", "h": r"candidate \tilde{h}"}
CONVENTIONS = ["cho", "pytorch"]
HEADLINE = "GRU cell forward pass over a sequence"

GIVEN = (
    title("My GRU"),
    Field("convention", "choice", "cho (as in most notes) | pytorch (torch.nn.GRU)", choices=CONVENTIONS,
          default="cho", example="cho",
          note="h = (1 − z) ⊙ h_prev + z ⊙ h̃ (cho);  h = (1 − z) ⊙ h̃ + z ⊙ h_prev (pytorch)"),
    INPUTS.but(example=[[1, 2], [0.5, 3]]),
    gate_weights((("z", "update gate", "z = σ(W_z x + U_z h + b_z)", ""),
                  ("r", "reset gate", "r = σ(W_r x + U_r h + b_r)", ""),
                  ("h", "candidate", "h̃ = tanh(W_h x + U_h (r ⊙ h) + b_h) (cho)",
                   "h̃ = tanh(W_h x + b_h + r ⊙ (U_h h + b_hn)) (pytorch)")),
                 {"W_z": [[0.5, 0.3]], "W_r": [[0.4, 0.2]], "W_h": [[0.6, 0.1]],
                  "U_z": 0.2, "U_r": 0.3, "U_h": 0.4, "b_z": 0.1, "b_r": 0.1, "b_h": 0.0},
                 extra=(Field("b_hn", "vector", "pytorch only: the bias inside the reset product",
                              shape=("m",), default=None, default_text="zeros", example=0.0,
                              template="comment", needs=(("convention", "pytorch"),)),)),
    initial_state(("h",), "h_0", {"h": [0]}),
)


@dataclass
class Problem:
    X: np.ndarray  # T × n
    gates: Gates
    b_hn: np.ndarray | None  # pytorch only; None when not given
    h0: np.ndarray
    convention: str


def read(r, kind):
    convention = r.field("convention")
    X = read_inputs(r)
    T, n = X.shape
    w, gates = read_gates(r, GATES, n)
    reject_aliases(w, "n", "h")  # torch.nn.GRU calls the candidate n
    m = gates.m
    b_hn = None
    if convention == "pytorch":
        if w.has("b_hn"):
            b_hn = w.vector("b_hn", length=m, what=f"a bias vector of length m = {m} (the number of rows of W_z)")
    elif w.has("b_hn"):
        raise w.error(w.path + ("b_hn",), "b_hn is used only with convention: pytorch "
                                          "(the cho convention has no bias inside the reset product)")
    w.finish()
    h0 = read_initial(r, ("h",), m)["h"]
    return Problem(X, gates, b_hn, h0, convention)


def work(p: Problem):
    return cell_work("a GRU cell", p.X, p.gates.m, 3, 5, 7)


def cell(page, t, weights, x, h_prev, cho: bool, wide: bool = False):
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
    if cho:
        reset = page.step(None, rf"(r \odot h)_{{{t}}}", ops.odot(r, h_prev), "Reset previous state")
        cand = ops.tanh(W["h"] @ x + U["h"] @ reset + b["h"])
    else:
        recurrent = U["h"] @ h_prev if b_hn is None else U["h"] @ h_prev + b_hn
        cand = ops.tanh(W["h"] @ x + b["h"] + ops.odot(r, recurrent))
    ht = page.step(("h_tilde", t), rf"\tilde{{h}}_{{{t}}}", cand, "Candidate", substitute=not wide)
    update = (ops.odot(1 - z, h_prev) + ops.odot(z, ht)) if cho else (ops.odot(1 - z, ht) + ops.odot(z, h_prev))
    h = page.step(("h", t), f"h_{{{t}}}", update, "Hidden state")
    return z, r, ht, h


def solve(p: Problem, sheet) -> None:
    T, n = p.X.shape
    m = p.gates.m
    cho = p.convention == "cho"
    problem_section(sheet, f"A GRU cell ({'Cho' if cho else 'PyTorch'} convention)", p.X, p.gates, LABELS,
                    {"h": p.h0}, None if p.b_hn is None else {"b_{hn}": p.b_hn})
    nums = (p.gates.W, p.gates.U, p.gates.b, p.b_hn)
    wide = m >= WIDE_FROM

    def equations(rules):
        cell(rules, "t", nums, p.X[0], p.h0, cho)
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
            cell(page, t, nums, x, h_prev, cho, wide)
        return build

    h_prev = p.h0
    for t in range(1, T + 1):
        x = p.X[t - 1]
        sheet.section(f"Time step t = {t}", level=3, detail=True, builder=working_of(t, x, h_prev))
        values = cell(sheet.silent, t, nums, x, h_prev, cho)
        for k, v in zip(names, values):
            series[k][t - 1] = v
        h_prev = values[3]

    tex = {"z": "z_{t}", "r": "r_{t}", "h_tilde": r"\tilde{h}_{t}", "h": "h_{t}"}
    summary_section(sheet, names, tex, series, m)
    end = sheet.section("Result")
    end.table([f"h_{{{T}}}"], [[h_prev]])
