"""kind: neuron — one unit evaluated on a set of inputs: the McCulloch–Pitts neuron and the
logic gates it implements, and every activation of the notes, the stochastic unit with its
pseudo-temperature T included (seed 003).

In the notes' notation (Haykin's): u_k = Σ_j w_j x_j (= w·x), v_k = u_k + b = u_k − θ,
y_k = φ(v_k). With a threshold θ the working shows u = w·x beside θ, as the notes tabulate
the AND gate (fire when w·x ≥ θ).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import ops
from ..given import Field, title
from . import _units
from ._classical import MAX_ROWS, logic_function, read_weights, truth_table

SUMMARY = "one neuron on a set of inputs: McCulloch–Pitts logic gates, threshold, stochastic and graded units"
HEADLINE = "a single neuron (McCulloch–Pitts unit, logic gate, activation)"

ACTIVATIONS = _units.names(exclude=("softmax",))
BINARY = ("step",)          # outputs 0/1
BIPOLAR = ("sign", "stochastic")  # outputs −1/+1
MAX_TRUTH_TABLE = 12

GIVEN = (
    title("AND gate by threshold"),
    Field("weights", "vector", "the weights, one per input", shape=("n",), notation="w", example=[1, 1],
          what="the weights w, a list of numbers (one per input)"),
    Field("threshold", "number", "the unit fires when w·x ≥ θ; the same as bias: −θ (give bias or threshold, "
          "not both)", notation=r"\theta", default=None, example=2, what="the threshold θ, a number"),
    Field("bias", "number", "v = w·x + b, instead of a threshold (b = −θ)", notation="b", default=None,
          default_text="0 when no threshold is given", example=-2, template="comment",
          what="the bias b, a number"),
    Field("activation", "choice", "φ: " + " | ".join(ACTIVATIONS), choices=ACTIVATIONS, default="step",
          example="step"),
    Field("strict", "boolean", "step/sign fire only for v > 0 (step gives 0 and sign −1 at v = 0)",
          default=False, example=True, template="comment"),
    Field("slope", "number", "a in 1/(1 + exp(−a v)), sigmoid only", notation="a", default=1.0, positive=True,
          example=2, template="comment", needs=(("activation", "sigmoid"),), what="the sigmoid's slope a"),
    Field("negative_slope", "number", "leaky_relu only: the slope for v < 0", default=0.01, minimum=0,
          example=0.1, template="comment", needs=(("activation", "leaky_relu"),),
          what="the negative slope of leaky_relu, a number ≥ 0"),
    Field("temperature", "number", "T in P(v) = 1/(1 + exp(−v/T)), stochastic only (the pseudo-temperature)",
          notation="T", default=1.0, positive=True, example=0.5, template="comment",
          needs=(("activation", "stochastic"),), what="the pseudo-temperature T, a positive number"),
    Field("seed", "integer", "stochastic only: numpy's default_rng(seed) draws one ξ per row, in order; "
          "y = +1 when ξ < P(v)", default=0, minimum=0, example=7, template="comment",
          needs=(("activation", "stochastic"),), what="the seed of the draws, a whole number ≥ 0"),
    Field("inputs", "matrix", "the input rows x, one per evaluation", shape=("N", "n"), instead=("truth_table",),
          example=[[0, 0], [0, 1], [1, 0], [1, 1]],
          what="a list of input rows, each a list of n numbers (one per weight)"),
    Field("truth_table", "integer", "instead of inputs: every binary input of this length, in counting order "
          "(x₁ most significant)", default=None, minimum=1, maximum=MAX_TRUTH_TABLE, example=2,
          template="comment", lead="or, instead of inputs:",
          what=f"the number of binary inputs, a whole number 1 … {MAX_TRUTH_TABLE}"),
    Field("targets", "vector", "the desired outputs, one per input row: the working then says whether the unit "
          "implements them", shape=("N",), notation="d", default=None, example=[0, 0, 0, 1],
          what="the desired outputs d, a list of numbers (one per input row)"),
    Field("tolerance", "number", "with targets: y matches d when |y − d| ≤ tolerance (0: exactly; e.g. 0.5 reads "
          "a graded output as the nearer label)", default=0.0, minimum=0, example=0.5, template="comment",
          what="a tolerance, a number ≥ 0"),
)


@dataclass
class Problem:
    w: np.ndarray
    theta: float | None
    b: float | None
    activation: str
    act: object          # the record (nnsolve.nn.activations.Activation)
    T: float
    seed: int
    X: np.ndarray        # N × n
    from_truth_table: bool
    d: np.ndarray | None
    tolerance: float


def read(r, kind):
    w = read_weights(r)
    n = len(w)
    theta, b, activation, strict, a, neg, T, seed, tt, tol = r.values(
        "threshold", "bias", "activation", "strict", "slope", "negative_slope", "temperature", "seed",
        "truth_table", "tolerance")
    if theta is not None and b is not None:
        raise r.error(("bias",), f"give bias or threshold, not both (threshold: {theta:g} is the same as "
                                 f"bias: {-theta:g})")
    for key, need in (("slope", "sigmoid"), ("negative_slope", "leaky_relu"), ("temperature", "stochastic"),
                      ("seed", "stochastic")):
        if r.has(key) and activation != need:
            raise r.error((key,), f"{key} is for activation: {need} (this neuron's activation is {activation})")
    if r.has("strict") and activation not in ("step", "sign"):
        raise r.error(("strict",), f"strict is for activation: step or sign (this neuron's activation is "
                                   f"{activation})")
    if tt is not None and r.has("inputs"):
        raise r.error(("truth_table",), "give inputs or truth_table, not both")
    if tt is not None:
        if tt != n:
            raise r.error(("truth_table",), f"expected truth_table: {n}, the number of weights (each row of the "
                                            f"truth table is an input of length {n}), got {tt}")
        X = truth_table(n)
    else:
        raw = r.raw("inputs", what="a list of input rows, each a list of numbers (or truth_table: n)")
        if n == 1 and isinstance(raw, list) and raw and not any(isinstance(v, list) for v in raw):
            raw = [[v] for v in raw]  # one input: a flat list is one number per row
        if isinstance(raw, list) and len(raw) > MAX_ROWS:
            raise r.error(("inputs",), f"expected at most {MAX_ROWS} input rows, got {len(raw)}")
        X = r.array_value(raw, ("inputs",), ndim=2, shape=(None, n),
                          what=f"a list of input rows, each a list of {n} numbers (one per weight)")
    N = len(X)
    d = None
    if r.has("targets"):
        raw = r.raw("targets")
        if N == 1 and isinstance(raw, (int, float)) and not isinstance(raw, bool):
            raw = [raw]
        d = r.array_value(raw, ("targets",), ndim=1, shape=(N,),
                          what=f"a list of {N} desired outputs, one per input row")
        labels = (0.0, 1.0) if activation in BINARY else (-1.0, 1.0) if activation in BIPOLAR else None
        if labels is not None:
            bad = [k for k, t in enumerate(d) if t not in labels]
            if bad:
                raise r.error(("targets", bad[0]), f"expected each target to be {labels[0]:g} or {labels[1]:g} "
                                                   f"(the outputs of the {activation} unit), got {d[bad[0]]:g}")
    elif r.has("tolerance"):
        raise r.error(("tolerance",), "tolerance is for comparing the outputs with targets: give targets too")
    act = _units.lookup(activation, strict=strict, T=T, a=a, negative_slope=neg)
    return Problem(w, theta, b, activation, act, T, seed, X, tt is not None, d, tol)


def _fire(a):
    """+1 where the draw ξ lies below P(v) (P − ξ > 0), else −1."""
    return np.where(np.asarray(a, dtype=float) > 0, 1.0, -1.0)


def unit(page, p: Problem, k, x, xi=None):
    """The neuron on input row k, each formula stated once (shown, silent or rules page; on the
    rules page k is a symbol). Returns (u or None, v, P or None, y)."""
    W = page.sym(r"w^{\top}", p.w[None, :])
    xs = page.sym(f"x_{{{k}}}", x)
    u = None
    if p.theta is not None:
        u = page.step(None, f"u_{{{k}}}", W @ xs, "Weighted sum" if k == 1 else "", scalar=True)
        v = page.step(("v", k), f"v_{{{k}}}", u - page.sym(r"\theta", p.theta), "Net input: the weighted sum "
                      "minus the threshold" if k == 1 else "", scalar=True)
    elif p.b is not None:
        v = page.step(("v", k), f"v_{{{k}}}", W @ xs + page.sym("b", p.b), "Net input" if k == 1 else "",
                      scalar=True)
    else:
        v = page.step(("v", k), f"v_{{{k}}}", W @ xs, "Net input" if k == 1 else "", scalar=True)
    if p.activation == "stochastic":
        arg = v / page.sym("T", p.T) if p.T != 1 else v
        P = page.step(("p", k), f"P(v_{{{k}}})", ops.sigma(arg), "Probability of firing" if k == 1 else "",
                      scalar=True)
        xi_s = page.sym(rf"\xi_{{{k}}}", 0.5 if xi is None else xi)
        y = page.step(("y", k), f"y_{{{k}}}", ops.func(r"\operatorname{sgn}", _fire, P - xi_s),
                      "Output: +1 when the draw is below the probability" if k == 1 else "", scalar=True)
        return u, v, P, y
    y = page.step(("y", k), f"y_{{{k}}}", ops.apply(p.act, v), "Output" if k == 1 else "", scalar=True)
    return u, v, None, y


def _row_text(x) -> str:
    return "(" + ", ".join(f"{v:g}" for v in x) + ")"


def solve(p: Problem, sheet) -> None:
    N, n = p.X.shape
    act = p.act
    intro = sheet.section("Problem")
    how = (f"fires when $w \\cdot x \\geq \\theta$, threshold $\\theta = {p.theta:g}$" if p.theta is not None else
           f"bias $b = {p.b:g}$" if p.b is not None else "no bias")
    intro.text(f"One neuron with {n} input{'s' if n > 1 else ''}, {how}, {_units.words(act)}; "
               f"evaluated on {N} input row{'s' if N > 1 else ''}"
               + (f" (the truth table of {n} binary input{'s' if n > 1 else ''}, $x_1$ most significant)"
                  if p.from_truth_table else "") + ".")
    head = ["w"] + ([r"\theta"] if p.theta is not None else ["b"] if p.b is not None else [])
    vals = [p.w] + ([p.theta] if p.theta is not None else [p.b] if p.b is not None else [])
    if p.activation == "stochastic":
        head, vals = head + ["T", "seed"], vals + [p.T, str(p.seed)]
    if p.activation == "sigmoid" and act.params.get("a", 1) != 1:
        head, vals = head + ["a"], vals + [act.params["a"]]
    intro.table(head, [vals])

    def rules(page):
        unit(page, p, "k", p.X[0], 0.5)
        if p.activation == "stochastic":
            rec = _units.stochastic(p.T)
            page.math(rf"P(v) = {rec.definition}", "probability of firing")
            page.text(r"$y_{k} = +1$ with probability $P(v_{k})$, else $-1$: a uniform draw $\xi_{k}$ in $[0, 1)$ "
                      r"(numpy's default_rng(seed).random(), one per row in order) gives $+1$ when "
                      r"$\xi_{k} < P(v_{k})$. $T$ is the pseudo-temperature: as $T \to 0$ the unit becomes the "
                      r"deterministic sign unit ($P \to 1$ for $v > 0$, $0$ for $v < 0$); a large $T$ makes "
                      r"$P \to \frac{1}{2}$, pure noise.", "note")
        elif not act.identity_map:
            page.math(rf"\varphi(v) = {act.tex}(v) = {act.definition}", p.activation)
        else:
            page.text(r"Linear unit: $y_{k} = v_{k}$.", "note")
        if p.activation == "sign":
            page.text("torch.sign(0) is 0; this unit gives " + ("−1" if act.params.get("strict") else "+1")
                      + " at $v = 0$ (" + ("it fires only for $v > 0$" if act.params.get("strict") else
                                           "it fires for $v \\geq 0$") + ").", "note")
        elif p.activation == "step":
            page.text("torch.heaviside(v, values) takes the value at $v = 0$ as an argument: "
                      + ("0" if act.params.get("strict") else "1") + " here (the unit fires for "
                      + ("$v > 0$ only" if act.params.get("strict") else "$v \\geq 0$") + ").", "note")
        if p.theta is not None:
            page.text(r"$u_{k} = w \cdot x_{k}$ is the weighted sum (the notes' $U_k$, and the $V$ of their AND table); "
                      r"the unit fires when $u_{k} \geq \theta$, which is $v_{k} = u_{k} - \theta \geq 0$ "
                      r"(bias $b = -\theta$).", "note")
    sheet.rules("Rules", rules)

    draws = np.random.default_rng(p.seed).random(N) if p.activation == "stochastic" else np.full(N, np.nan)
    rows = []
    ys = []
    for k in range(1, N + 1):
        x = p.X[k - 1]

        def build(page, k=k, x=x):
            unit(page, p, k, x, draws[k - 1])
        sheet.section(f"Input {k}: $x_{{{k}}} = {_row_text(x)}$", level=3, detail=True, builder=build)
        u, v, P, y = unit(sheet.silent, p, k, x, draws[k - 1])
        yv = float(y)
        ys.append(yv)
        row = [k] + (list(x) if n <= 4 else [x])
        if p.theta is not None:
            row += [float(u), p.theta]
        row += [float(v)]
        if P is not None:
            row += [float(P), float(draws[k - 1])]
        row += [yv]
        if p.d is not None:
            ok = bool(abs(yv - p.d[k - 1]) <= p.tolerance)
            sheet.result(("matches", k), ok, exact=True)
            row += [p.d[k - 1], "yes" if ok else "no"]
        rows.append(row)
    cols = ["k"] + ([f"x_{{{i + 1}}}" for i in range(n)] if n <= 4 else ["x"])
    if p.theta is not None:
        cols += [r"u = w \cdot x", r"\theta"]
    cols += ["v"]
    if p.activation == "stochastic":
        cols += ["P(v)", r"\xi"]
    cols += ["y"]
    if p.d is not None:
        cols += ["d", "y = d"]
    table = sheet.section("Truth table" if p.from_truth_table or logic_function(p.X, np.array(ys)) else "Outputs")
    table.table(cols, rows)

    end = sheet.section("Result")
    if p.d is not None:
        wrong = [k for k in range(1, N + 1) if abs(ys[k - 1] - p.d[k - 1]) > p.tolerance]
        sheet.result(("all_match",), not wrong, exact=True)
        within = "" if p.tolerance == 0 else f" (within {p.tolerance:g})"
        if not wrong:
            end.text(f"$y = d$ for every input{within}: the neuron implements the targets.", "result")
        else:
            end.text(f"$y \\neq d${within} for input{'s' if len(wrong) > 1 else ''} "
                     + ", ".join(str(k) for k in wrong) + ": the neuron does not implement the targets.", "warning")
        gate = logic_function(p.X, p.d)
        if gate and not wrong:
            end.text(f"The targets are {gate} on this truth table, so the neuron implements {gate}.", "result")
    gate = logic_function(p.X, np.array(ys)) if p.activation != "stochastic" else None
    if gate and p.d is None:
        end.text(f"On this truth table the neuron computes {gate}.", "result")
    if p.theta is not None and p.activation in ("step", "sign"):
        fires = [k for k in range(1, N + 1) if ys[k - 1] == 1]
        rel = ">" if act.params.get("strict") else r"\geq"
        hi = 1 if p.activation == "step" else "+1"
        end.text(f"It fires ($y = {hi}$) where $u = w \\cdot x {rel} \\theta = {p.theta:g}$: "
                 + (", ".join(f"$x_{{{k}}}$" for k in fires) if fires else "for no input") + ".", "text")
    if p.activation == "stochastic":
        end.text(f"The outputs $y$ are random: they come from the draws $\\xi$ of seed {p.seed}, and another seed "
                 "gives other draws and possibly other $y$. The probabilities $P(v)$ do not depend on the draws.",
                 "note")
    if p.d is not None and p.tolerance == 0 and p.activation not in BINARY + BIPOLAR:
        end.text("The outputs of this graded unit are compared with the targets exactly; give tolerance: 0.5 "
                 "to read each output as the nearer label.", "note")
