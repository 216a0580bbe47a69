"""kind: batchnorm — batch normalisation of a minibatch in training mode, forward and backward.

Per feature j (a column of the minibatch, N samples x_j^(1) … x_j^(N)), in the notation of
seed 003 (sample index as a superscript (i), feature as a subscript j):

    μ_j = (1/N) Σ_i x_j^(i)
    σ_j² = (1/N) Σ_i (x_j^(i) − μ_j)²          (the biased variance PyTorch normalises with)
    x̂_j^(i) = (x_j^(i) − μ_j) / √(σ_j² + ε)
    y_j^(i) = γ_j x̂_j^(i) + β_j

and, with grad_output ∂L/∂y, the backward pass term by term (Ioffe & Szegedy, 2015):
∂L/∂β_j, ∂L/∂γ_j, ∂L/∂x̂, ∂L/∂σ_j², ∂L/∂μ_j and ∂L/∂x_j^(i). The features are independent,
so the working has one section per feature with both passes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import ops
from ..given import Field, title

SUMMARY = "batch normalisation of a minibatch (training mode): μ, σ², x̂, y per feature, and the backward pass"
HEADLINE = "batch normalisation of a minibatch, forward and backward"

MAX_VALUES = 10_000  # N × d numbers of the minibatch
SHOW_ROWS = 4        # samples written out in full in each feature's section; a table has them all

GIVEN = (
    title("My batch norm"),
    Field("inputs", "matrix", "the minibatch: one row per sample x^(i), one column per feature j",
          notation="x", shape=("N", "d"), example=[[1, 2], [3, 6], [5, 4]],
          what="the minibatch, an N × d matrix (a list of rows, one per sample)"),
    Field("gamma", "vector", "the scale of each feature", notation=r"\gamma", shape=("d",), default=None,
          default_text="ones", example=[1, 1]),
    Field("beta", "vector", "the shift of each feature", notation=r"\beta", shape=("d",), default=None,
          default_text="zeros", example=[0, 0]),
    Field("epsilon", "number", "added to σ² under the square root", notation=r"\epsilon", default=1e-5,
          default_text="1e-5, PyTorch's", minimum=0, example=0.001, template="comment",
          what="ε, a number ≥ 0"),
    Field("grad_output", "matrix", "optional ∂L/∂y, one row per sample: then the backward pass too",
          shape=("N", "d"), default=None, example=[[0.1, -0.2], [0.3, 0.0], [-0.1, 0.5]],
          what="∂L/∂y, an N × d matrix like inputs"),
)


@dataclass
class Problem:
    X: np.ndarray            # N × d
    gamma: np.ndarray        # d
    beta: np.ndarray         # d
    eps: float
    G: np.ndarray | None     # N × d, ∂L/∂y
    error: object            # (path, message) -> an InputError located in the file
    where: dict              # whether epsilon and rounding are keys of the file


def read(r, kind):
    raw = r.raw("inputs", what=r.fields["inputs"].what)
    if isinstance(raw, list) and len(raw) > 1 and not any(isinstance(v, list) for v in raw):
        raise r.error(("inputs",), "expected an N × d matrix, one row per sample (a minibatch); a flat list "
                                   "is one sample. For N samples of one feature write one number per row: "
                                   "[[1], [3], [5]]")
    X = r.matrix("inputs", what=r.fields["inputs"].what)
    N, d = X.shape
    if N * d > MAX_VALUES:
        raise r.error(("inputs",), f"expected at most {MAX_VALUES} numbers in the minibatch, got N × d = "
                                   f"{N} × {d} = {N * d}")
    gamma = r.vector("gamma", np.ones(d), length=d,
                     what=f"γ, a vector of length d = {d} (one per feature: a column of inputs)")
    beta = r.vector("beta", np.zeros(d), length=d,
                    what=f"β, a vector of length d = {d} (one per feature: a column of inputs)")
    eps = r.field("epsilon")
    G = r.matrix("grad_output", None, shape=(N, d),
                 what=f"∂L/∂y, a {N} × {d} matrix like inputs (N = {N} rows, d = {d} columns)")
    if eps == 0:
        for j in range(d):
            col = X[:, j]
            if np.all(col == col[0]) or np.mean((col - np.mean(col)) ** 2) == 0:
                raise r.error(("epsilon",),
                              f"ε = 0, but feature {j + 1} (column {j + 1} of inputs) has the same value "
                              f"{col[0]:g} in every sample, so σ²_{j + 1} = 0 and x̂ = (x − μ)/√(σ² + ε) "
                              f"would be 0/0; give epsilon > 0 (PyTorch's default is 1e-5)")
    return Problem(X, gamma, beta, eps, G, r.error, {k: k in r.data for k in ("epsilon", "rounding")})


def _root_rounds_to_zero(col, eps, k) -> bool:
    """Whether a hand calculation to k decimals writes s = √(σ² + ε) of this feature as 0."""
    with ops.rounding(k):
        mu = ops.round_value(np.mean(col))
        var = ops.round_value(np.mean((col - mu) ** 2))
        return float(ops.round_value(np.sqrt(ops.round_value(var + eps)))) == 0


# -- the formulas, each stated once (shown, silent, or as the rules) --------------------------

def statistics(page, j, col, p: Problem):
    """μ_j, σ_j² and s_j = √(σ_j² + ε) of feature j over the minibatch (col: x_j^(1) … x_j^(N))."""
    x = page.sym(rf"x_{{{j}}}^{{(i)}}", col)
    mu = page.step(("mean", j), rf"\mu_{{{j}}}", ops.mean(x, "i"), f"Mean of feature {j}", scalar=True)
    var = page.step(("variance", j), rf"\sigma_{{{j}}}^{{2}}", ops.mean((x - mu) ** 2, "i"),
                    f"Variance of feature {j} (biased: divided by N)", scalar=True)
    s = page.step(None, f"s_{{{j}}}", ops.sqrt(var + page.sym(r"\epsilon", p.eps)),
                  "The standard deviation the normalisation divides by (with ε)", scalar=True)
    return mu, var, s


def normalise(page, i, j, x_ij, mu, s, p: Problem, gamma_j, beta_j, first=False):
    """x̂_j^(i) and y_j^(i) of one sample."""
    x = page.sym(rf"x_{{{j}}}^{{({i})}}", x_ij)
    xh = page.step(("x_hat", i, j), rf"\hat{{x}}_{{{j}}}^{{({i})}}", (x - mu) / s,
                   "Normalised values" if first else "", scalar=True)
    y = page.step(("y", i, j), rf"y_{{{j}}}^{{({i})}}",
                  page.sym(rf"\gamma_{{{j}}}", gamma_j) * xh + page.sym(rf"\beta_{{{j}}}", beta_j),
                  "Scaled and shifted" if first else "", scalar=True)
    return xh, y


def dy_name(j, i="i"):
    return rf"\frac{{\partial L}}{{\partial y_{{{j}}}^{{({i})}}}}"


def dxhat_name(j, i="i"):
    return rf"\frac{{\partial L}}{{\partial \hat{{x}}_{{{j}}}^{{({i})}}}}"


def backward_sums(page, j, g_col, xhat_col, x_col, mu, s, p: Problem, gamma_j, N):
    """∂L/∂β_j, ∂L/∂γ_j, ∂L/∂x̂_j^(i) (all i), ∂L/∂σ_j², ∂L/∂μ_j."""
    g = page.sym(dy_name(j), g_col)
    xh = page.sym(rf"\hat{{x}}_{{{j}}}^{{(i)}}", xhat_col)
    x = page.sym(rf"x_{{{j}}}^{{(i)}}", x_col)
    n = page.sym("N", float(N))
    dbeta = page.step(("grad_beta", j), rf"\frac{{\partial L}}{{\partial \beta_{{{j}}}}}", ops.total(g, "i"),
                      "Gradient of the shift", scalar=True)
    dgamma = page.step(("grad_gamma", j), rf"\frac{{\partial L}}{{\partial \gamma_{{{j}}}}}", ops.total(g * xh, "i"),
                       "Gradient of the scale", scalar=True)
    dxh = page.step(None, dxhat_name(j), g * page.sym(rf"\gamma_{{{j}}}", gamma_j),
                    "Through y = γ x̂ + β (i = 1 … N)", components=False)
    half = ops.const(-0.5, r"-\frac{1}{2}", like=g)
    dvar = page.step(None, rf"\frac{{\partial L}}{{\partial \sigma_{{{j}}}^{{2}}}}",
                     half * ops.total(dxh * (x - mu), "i") / s ** 3,
                     "Through the variance", scalar=True)
    two = ops.const(-2.0, "-2", like=g)
    dmu = page.step(None, rf"\frac{{\partial L}}{{\partial \mu_{{{j}}}}}",
                    -ops.total(dxh, "i") / s + two * dvar * ops.total(x - mu, "i") / n,
                    "Through the mean", scalar=True)
    return dbeta, dgamma, dxh, dvar, dmu


def grad_input(page, i, j, dxh_i, x_ij, mu, s, dvar, dmu, p: Problem, N, first=False):
    """∂L/∂x_j^(i): through x̂ directly, through σ² and through μ."""
    d = page.sym(dxhat_name(j, i), dxh_i)
    x = page.sym(rf"x_{{{j}}}^{{({i})}}", x_ij)
    n = page.sym("N", float(N))
    two = ops.const(2.0, "2", like=d)
    return page.step(("grad_input", i, j), rf"\frac{{\partial L}}{{\partial x_{{{j}}}^{{({i})}}}}",
                     d / s + two * dvar * (x - mu) / n + dmu / n,
                     "Gradient of the inputs" if first else "", scalar=True)


# -- the working -------------------------------------------------------------------------------

def solve(p: Problem, sheet) -> None:
    N, d = p.X.shape
    back = p.G is not None
    intro = sheet.section("Problem")
    intro.text(f"A minibatch of N = {N} sample{'s' if N > 1 else ''} with d = {d} feature{'s' if d > 1 else ''} "
               "(one row per sample $x^{(i)}$), normalised feature by feature in training mode: with the "
               "minibatch's own mean and variance."
               + (" The upstream gradient $\\partial L/\\partial y$ is given, so the backward pass follows."
                  if back else ""))
    cols = ["i", "x^{(i)}"] + ([r"\partial L / \partial y^{(i)}"] if back else [])
    intro.table(cols, [[i + 1, p.X[i]] + ([p.G[i]] if back else []) for i in range(N)], title="Minibatch")
    intro.table(["j", r"\gamma_{j}", r"\beta_{j}"], [[j + 1, p.gamma[j], p.beta[j]] for j in range(d)],
                title="Scale and shift")
    intro.text(f"$\\epsilon$ = {p.eps:g}" + (" (PyTorch's default)" if p.eps == 1e-5 else
                                             ": the notes' first form, x̂ = (x − μ)/σ (PyTorch refuses ε = 0 in "
                                             "training mode)" if p.eps == 0 else ""))
    if N == 1:
        intro.text("With N = 1 every feature equals its mean: σ² = 0 and x̂ = 0. (PyTorch refuses a batch "
                   "of one sample in training mode.)", "warning")

    def rules(page):
        mu, _, s = statistics(page, "j", p.X[:, 0], p)
        normalise(page, "i", "j", p.X[0, 0], mu, s, p, p.gamma[0], p.beta[0])
        if back:
            _, _, dxh, dvar, dmu = backward_sums(page, "j", p.G[:, 0], p.X[:, 0], p.X[:, 0], mu, s, p,
                                                 p.gamma[0], N)
            grad_input(page, "i", "j", p.G[0, 0], p.X[0, 0], mu, s, dvar, dmu, p, N)
        page.text("Each feature j (a column of the minibatch) is normalised on its own; $i$ counts the "
                  "samples, $N$ = " + str(N) + ". The notes write the net inputs $z_j^{(i)}$ where this "
                  "working writes $x_j^{(i)}$.", "note")
        page.text("PyTorch normalises with this biased variance (divided by N); the running variance it "
                  "keeps for inference is the unbiased one, divided by N − 1.", "note")
    sheet.rules("Batch normalisation (training mode)", rules)

    if sheet.rounding is not None and not sheet.given:
        zero = [j for j in range(d) if _root_rounds_to_zero(p.X[:, j], p.eps, sheet.rounding)]
        if zero:
            j = zero[0]
            need = next((k for k in range(sheet.rounding + 1, 13)
                         if not any(_root_rounds_to_zero(p.X[:, i], p.eps, k) for i in zero)), None)
            where = ("epsilon",) if p.where["epsilon"] else ("rounding",) if p.where["rounding"] else ("inputs", 0, j)
            raise p.error(where, f"rounded to {sheet.rounding} decimals, √(σ²_{j + 1} + ε) = "
                                 f"√({float(np.mean((p.X[:, j] - p.X[:, j].mean()) ** 2)) + p.eps:g}) is written 0 "
                                 f"(feature {j + 1}), so x̂ = (x − μ)/√(σ² + ε) cannot be worked by hand to these "
                                 "decimals; " + (f"round to at least {need} decimals or " if need else "")
                                 + "give a larger epsilon")

    def feature(page, j, shown):
        """Feature j, both passes; samples after the first SHOW_ROWS go on the silent page when shown."""
        col = p.X[:, j - 1]
        row_page = lambda i: page if (not shown or i <= SHOW_ROWS) else sheet.silent
        plain = lambda q, pg: q if pg is page else ops.value(q)  # a Sym of this page, or its value
        mu, var, s = statistics(page, j, col, p)
        xh, ys = [], []
        for i in range(1, N + 1):
            pg = row_page(i)
            a, b = normalise(pg, i, j, col[i - 1], plain(mu, pg), plain(s, pg), p, p.gamma[j - 1], p.beta[j - 1],
                             first=i == 1)
            xh.append(float(ops.value(a)))
            ys.append(float(ops.value(b)))
        grads = None
        if back:
            g = p.G[:, j - 1]
            dbeta, dgamma, dxh, dvar, dmu = backward_sums(page, j, g, np.array(xh), col, mu, s, p,
                                                          p.gamma[j - 1], N)
            if shown:
                page.text(f"$\\sum_i (x_{{{j}}}^{{(i)}} - \\mu_{{{j}}}) = 0$ by the definition of the mean, "
                          f"so the second term of $\\partial L/\\partial \\mu_{{{j}}}$ vanishes (up to rounding).",
                          "note")
            dxv = ops.value(dxh)
            dx = []
            for i in range(1, N + 1):
                pg = row_page(i)
                q = grad_input(pg, i, j, dxv[i - 1], col[i - 1], plain(mu, pg), plain(s, pg), plain(dvar, pg),
                               plain(dmu, pg), p, N, first=i == 1)
                dx.append(float(ops.value(q)))
            grads = (float(ops.value(dbeta)), float(ops.value(dgamma)), dxv, dx)
        if shown and N > SHOW_ROWS:
            cols_ = ["i", f"x_{{{j}}}^{{(i)}}", f"\\hat{{x}}_{{{j}}}^{{(i)}}", f"y_{{{j}}}^{{(i)}}"]
            rows = [[i + 1, col[i], xh[i], ys[i]] for i in range(N)]
            if back:
                cols_ += [dy_name(j), dxhat_name(j), rf"\frac{{\partial L}}{{\partial x_{{{j}}}^{{(i)}}}}"]
                rows = [r + [p.G[i, j - 1], grads[2][i], grads[3][i]] for i, r in enumerate(rows)]
            page.table(cols_, rows, title=f"Every sample of feature {j} (the first {SHOW_ROWS} are worked above)")
        return float(ops.value(mu)), float(ops.value(var)), xh, ys, grads

    def shown_feature(page, j):
        with np.errstate(divide="ignore", invalid="ignore"):  # a student's σ² of 0 (marking) stays NaN quietly
            feature(page, j, True)

    stats = []
    for j in range(1, d + 1):
        sheet.section(f"Feature j = {j}", level=3, detail=True, builder=lambda page, j=j: shown_feature(page, j))
        stats.append(feature(sheet.silent, j, False))

    out = sheet.section("Summary")
    out.table(["j", r"\mu_{j}", r"\sigma_{j}^{2}", r"\gamma_{j}", r"\beta_{j}"]
              + ([r"\partial L / \partial \gamma_{j}", r"\partial L / \partial \beta_{j}"] if back else []),
              [[j + 1, s[0], s[1], p.gamma[j], p.beta[j]] + ([s[4][1], s[4][0]] if back else [])
               for j, s in enumerate(stats)], title="Per feature")
    xhat = np.array([s[2] for s in stats]).T
    y = np.array([s[3] for s in stats]).T
    cols = ["i", r"x^{(i)}", r"\hat{x}^{(i)}", r"y^{(i)}"]
    rows = [[i + 1, p.X[i], xhat[i], y[i]] for i in range(N)]
    if back:
        dx = np.array([s[4][3] for s in stats]).T
        cols += [r"\partial L / \partial y^{(i)}", r"\partial L / \partial x^{(i)}"]
        rows = [r + [p.G[i], dx[i]] for i, r in enumerate(rows)]
    out.table(cols, rows, title="Per sample")
    if back:
        out.text("Check: in training mode each column of $\\partial L/\\partial x$ sums to 0 (shifting a "
                 "feature by a constant shifts its mean alike and changes nothing).", "note")
