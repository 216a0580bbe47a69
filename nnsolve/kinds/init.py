"""kind: init — Xavier/Glorot, He and LeCun initialisation of a layer's weights (seed 003's w · √(1/m)).

Each scheme aims at a variance of the weights: 2/(n_in + n_out) (Xavier), 2/n_in (He),
1/n_in (LeCun). Standard draws Z (N(0, 1) for the normal schemes, U(−1, 1) for the uniform
ones) are scaled to it: W = σ Z with σ = √Var, or W = a U with a = √(3 Var), since U(−a, a)
has variance a²/3.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import ops
from ..given import Field, title

SUMMARY = "weight initialisation: Xavier/Glorot, He and LeCun scaling of standard draws"
HEADLINE = "weight initialisation (Xavier/Glorot, He, LeCun)"

SCHEMES = ("xavier_normal", "xavier_uniform", "he_normal", "he_uniform", "lecun_normal")
MAX_WEIGHTS = 100_000
SHOW_ALL = 64  # a weight matrix up to this size is written out in its step

GIVEN = (
    title("Xavier initialisation of a 3 → 2 layer"),
    Field("scheme", "choice", "xavier_normal | xavier_uniform | he_normal | he_uniform | lecun_normal",
          choices=SCHEMES, example="xavier_normal"),
    Field("fan_in", "integer", "the number of inputs of the layer (m in the notes)", notation=r"n_{\mathrm{in}}",
          default=None, minimum=1, maximum=MAX_WEIGHTS, example=3,
          default_text="the columns of draws", note="needed with seed",
          what="the number of inputs, a whole number ≥ 1"),
    Field("fan_out", "integer", "the number of outputs (units) of the layer", notation=r"n_{\mathrm{out}}",
          default=None, minimum=1, maximum=MAX_WEIGHTS, example=2,
          default_text="the rows of draws", note="needed with seed",
          what="the number of outputs, a whole number ≥ 1"),
    Field("draws", "matrix", "standard draws, N(0, 1) for *_normal and U(−1, 1) for *_uniform, one row per "
          "output unit", notation="Z", shape=("fan_out", "fan_in"), instead=("seed",),
          example=[[0.5, -1.2, 0.3], [1.1, 0.2, -0.7]],
          what="a matrix of standard draws (a list of rows, one per output unit)"),
    Field("seed", "integer", "draws made with numpy: default_rng(seed).standard_normal((fan_out, fan_in)), or "
          ".uniform(-1, 1, (fan_out, fan_in)) for *_uniform", default=None, minimum=0, maximum=2**63 - 1,
          example=0, template="comment", lead="or, instead of draws:",
          what="a seed for numpy's default_rng, a whole number ≥ 0"),
)

AIM = {  # scheme -> (numerator, uses fan_out, distribution)
    "xavier_normal": (2, True, "normal"),
    "xavier_uniform": (2, True, "uniform"),
    "he_normal": (2, False, "normal"),
    "he_uniform": (2, False, "uniform"),
    "lecun_normal": (1, False, "normal"),
}
TORCH = {
    "xavier_normal": "torch.nn.init.xavier_normal_(W)",
    "xavier_uniform": "torch.nn.init.xavier_uniform_(W)",
    "he_normal": "torch.nn.init.kaiming_normal_(W, nonlinearity='relu')",
    "he_uniform": "torch.nn.init.kaiming_uniform_(W, nonlinearity='relu')",
    "lecun_normal": "torch.nn.init.kaiming_normal_(W, nonlinearity='linear')",
}


@dataclass
class Problem:
    scheme: str
    fan_in: int
    fan_out: int
    Z: np.ndarray
    seed: int | None


def read(r, kind):
    scheme, fan_in, fan_out, seed = r.values("scheme", "fan_in", "fan_out", "seed")
    uniform = AIM[scheme][2] == "uniform"
    has_draws = r.has("draws")
    if has_draws and seed is not None:
        raise r.error(("seed",), "give draws or seed, not both")
    if not has_draws and seed is None:
        r.raw("draws", what="a fan_out × fan_in matrix of standard draws (or, instead, 'seed': numpy draws them)")
    for key, n in (("fan_in", fan_in), ("fan_out", fan_out)):
        if n is None and not has_draws:
            r.raw(key, what=f"the number of {key[4:]}puts of the layer (with seed, the size of the layer must "
                            "be given)")
    if fan_in is not None and fan_out is not None and fan_in * fan_out > MAX_WEIGHTS:
        raise r.error(("fan_in",), f"fan_out × fan_in = {fan_out} × {fan_in} = {fan_out * fan_in} weights is "
                                   f"more than {MAX_WEIGHTS}")
    if has_draws:
        rows = "?" if fan_out is None else fan_out
        cols = "?" if fan_in is None else fan_in
        Z = r.matrix("draws", shape=(fan_out, fan_in),
                     what=f"a {rows} × {cols} matrix of standard draws (fan_out × fan_in: one row per output "
                          "unit, one column per input)")
        if Z.size > MAX_WEIGHTS:
            raise r.error(("draws",), f"more than {MAX_WEIGHTS} draws")
        fan_out, fan_in = Z.shape
        if uniform:
            bad = np.argwhere(np.abs(Z) > 1)
            if len(bad):
                i, j = bad[0]
                raise r.error(("draws", int(i), int(j)), f"expected draws of U(−1, 1) for {scheme}, that is numbers "
                                                         f"from −1 to 1, got {Z[i, j]:g}")
    else:
        rng = np.random.default_rng(seed)
        Z = rng.uniform(-1, 1, (fan_out, fan_in)) if uniform else rng.standard_normal((fan_out, fan_in))
    return Problem(scheme, fan_in, fan_out, Z, seed)


def scale(page, p: Problem, t: bool = False):
    """Var(w) the scheme aims for, then the scale of the standard draws, each formula stated once
    (shown, silent or as a rule)."""
    num, both, dist = AIM[p.scheme]
    n_in = page.sym(r"n_{\mathrm{in}}", p.fan_in)
    fans = n_in + page.sym(r"n_{\mathrm{out}}", p.fan_out) if both else n_in
    var = page.step(("variance",), r"\mathrm{Var}(w)", ops.const(num, None, like=n_in) / fans,
                    "The variance the scheme aims for", scalar=True)
    if dist == "normal":
        return page.step(("scale",), r"\sigma", ops.sqrt(var), "Standard deviation of the weights", scalar=True)
    return page.step(("scale",), "a", ops.sqrt(ops.const(3, None, like=n_in) * var),
                     "Bound a of U(−a, a), whose variance is a²/3", scalar=True)


def solve(p: Problem, sheet) -> None:
    num, both, dist = AIM[p.scheme]
    s = r"\sigma" if dist == "normal" else "a"
    intro = sheet.section("Problem")
    intro.text(f"Scheme {p.scheme} for a layer with $n_{{\\mathrm{{in}}}} = {p.fan_in}$ input"
               f"{'s' if p.fan_in > 1 else ''} and $n_{{\\mathrm{{out}}}} = {p.fan_out}$ output"
               f"{'s' if p.fan_out > 1 else ''}: W is {p.fan_out} × {p.fan_in} (one row per output unit).")
    source = ("given" if p.seed is None else
              f"numpy: default_rng({p.seed})." + ("uniform(-1, 1, " if dist == "uniform" else "standard_normal(")
              + f"({p.fan_out}, {p.fan_in}))")
    law = "N(0, 1)" if dist == "normal" else "U(−1, 1)"
    intro.text(f"Standard draws $Z \\sim$ {law}, {source}:")
    intro.table([f"j = {j + 1}" for j in range(p.fan_in)], [list(row) for row in p.Z])

    def rules(page):
        scale(page, p)
        page.math(f"W = {s} Z", "the weights")
        page.text("Xavier (Glorot & Bengio) keeps the variance of the signal forward and of the gradient "
                  "backward, with the average of fan-in and fan-out; He doubles LeCun's $1/n_{\\mathrm{in}}$ for ReLU, which "
                  "zeroes half of its inputs.", "note")
        page.text(r"The notes' 'Xavier initialization' $w := w \cdot \sqrt{1/m}$ (seed 003, l. 655; m = the "
                  r"inputs of the layer) scales by $\sqrt{1/n_{\mathrm{in}}}$: that is lecun_normal; Glorot & "
                  r"Bengio's Xavier uses $2/(n_{\mathrm{in}} + n_{\mathrm{out}})$.", "note")
        page.text(f"PyTorch: {TORCH[p.scheme]}, whose fan_in is the number of columns of W."
                  + (" Keras's normal initialisers draw from a normal truncated at 2σ (σ divided by 0.8796 so "
                     "that the variance stays the aim); here and in PyTorch it is a plain normal."
                     if dist == "normal" else ""), "note")
    sheet.rules(f"The rule of {p.scheme}", rules)

    page = sheet.section("Scale")
    sd = scale(page, p)
    work = sheet.section("Weights")
    W = work.step(("weights",), "W", sd * work.sym("Z", p.Z), f"Every draw times ${s}$")
    values = np.asarray(ops.value(W))
    if values.size > SHOW_ALL:  # too many to write out in the step: a table, row by row
        work.table([f"j = {j + 1}" for j in range(p.fan_in)], [list(row) for row in values],
                   title="W, one row per output unit")
    if values.size >= 2:
        flat = work.sym("w", values.reshape(-1))
        work.step(None, r"\frac{1}{N} \sum w^{2}", ops.mean(flat ** 2),
                  f"Check: the mean square of these N = {values.size} weights", scalar=True,
                  substitute=values.size <= 8, note="It estimates Var(w); with few draws it is only near the aim.")
