"""kind: softmax — softmax + cross-entropy (multiclass), or a sigmoid per class + binary
cross-entropy (multilabel, seed 000's cat/dog/horse), for one sample or a list of samples.

The working is a hand solution's: every e^{z_j}, their sum and each ratio (after the shift by
max z when the logits are large), the log-probabilities, the loss and ∂L/∂z. The loss is
computed in the log domain, ln ŷ_j = z_j/T − logsumexp(z/T), so it stays finite and exact
when ŷ_j underflows to 0. :func:`normalise` (the softmax as a hand writes it) is shared
with kind: attention.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import nn, ops
from ..expr import sigmoid_np, softmax_np
from ..given import Field, title

SUMMARY = "softmax + cross-entropy, or a sigmoid per class + binary cross-entropy: probabilities, loss, ∂L/∂z"
HEADLINE = "softmax and cross-entropy (or per-class sigmoids and binary cross-entropy)"

MODES = ("multiclass", "multilabel")
SHIFTS = ("auto", "always", "never")
LARGE = 30.0       # |z/T| beyond which a hand solution shifts by the max (e^30 ≈ 10^13)
MAX_SAMPLES = 10_000
MAX_ENTRIES = 200_000  # N × k
FULL_SAMPLES = 3   # samples whose working is shown in full when there are many (the renderer's head)

_NUMBER = {"type": "number"}
_LOGITS = {"anyOf": [_NUMBER, {"type": "array", "minItems": 1, "items": {"anyOf": [
    _NUMBER, {"type": "array", "minItems": 1, "items": _NUMBER}]}}]}
_ONE_TARGET = [_NUMBER, {"type": "string"},
               {"type": "array", "minItems": 1, "items": {"anyOf": [_NUMBER, {"type": "string"}]}}]
_TARGET = {"anyOf": _ONE_TARGET[:2] + [{"type": "array", "minItems": 1, "items": {"anyOf": _ONE_TARGET}}]}

GIVEN = (
    title("Softmax and cross-entropy"),
    Field("logits", "any", "z: one sample's logits (a list of k numbers), or a list of samples, one row each",
          notation="z", shape=("k",), example=[2.0, 1.0, 0.1], schema=_LOGITS,
          what="the logits z: a list of numbers, or a list of samples (one list of k logits each)"),
    Field("target", "any", "y: a class index (from 0), a one-hot vector or probabilities; one per sample",
          example=0, schema=_TARGET,
          note="with classes: also a class name, or (multilabel) a list of names. With a list of samples: "
               "a list of targets, one per sample (a flat list of numbers is one class index per sample)",
          what="the target: a class index, a one-hot vector or probabilities"),
    Field("mode", "choice", "multiclass: softmax + cross-entropy | multilabel: a sigmoid per class + "
          "binary cross-entropy", choices=MODES, default="multiclass", example="multiclass"),
    Field("temperature", "number", "ŷ = softmax(z / T) (multilabel: σ(z / T))", notation="T", default=1.0,
          positive=True, example=1, what="the temperature T, a positive number"),
    Field("shift", "choice", "subtract max z before the exponentials (softmax(z) = softmax(z − max z)): "
          "auto (when a logit is large, |z/T| > 30) | always | never", choices=SHIFTS, default="auto",
          example="always", template="comment"),
    Field("classes", "list", "names of the k classes, for the working (and targets by name)", of="string",
          default=None, example=["cat", "dog", "horse"], template="comment",
          what="a list of k class names"),
)


@dataclass
class Problem:
    Z: np.ndarray        # N × k logits
    Y: np.ndarray        # N × k targets
    labels: list         # per sample: how the target was given (text), or None
    batch: bool          # logits given as a list of samples: results have a row per sample
    mode: str
    T: float
    shift: str
    classes: list | None


# -- reading ------------------------------------------------------------------------------

def _describe(value) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the text '{value}'"
    if isinstance(value, dict):
        return "a mapping"
    if value is None:
        return "nothing (null)"
    return repr(value)


def _read_target(r, value, path, k: int, mode: str, classes, what: str):
    """One sample's target -> (vector of length k, how it was given or None)."""
    names = classes or []
    if isinstance(value, str) and value in names:
        y = np.zeros(k)
        y[names.index(value)] = 1.0
        return y, f"'{value}' (class {names.index(value)})"
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value) and names:
        unknown = [v for v in value if v not in names]
        if unknown:
            raise r.error(path, f"unknown class '{unknown[0]}' in {what}: the classes are {', '.join(names)}")
        y = np.zeros(k)
        for v in value:
            y[names.index(v)] = 1.0
        if mode == "multiclass" and y.sum() != 1:
            raise r.error(path, f"expected {what} to name one class (multiclass: exactly one class is right), "
                                f"got {len(set(value))}; for several true labels use mode: multilabel")
        return y, ", ".join(f"'{v}'" for v in value)
    if isinstance(value, (dict, bool)) or value is None or (isinstance(value, str) and not _numeric(value)):
        hint = f" or a class name ({', '.join(names)})" if names else ""
        raise r.error(path, f"expected {what}: a class index 0 … {k - 1}{hint} or a vector of length {k}, "
                            f"got {_describe(value)}")
    if not isinstance(value, list):  # a class index
        x = r.array_value(value, path, ndim=1, what=f"{what}: a class index 0 … {k - 1}")[0]
        if mode == "multilabel" and k == 1:
            raise r.error(path, f"with one logit a number as {what} would be a class index (only 0 there is); "
                                f"write the label as a list: [1] (positive) or [0] (negative)")
        if not float(x).is_integer() or not 0 <= x < k:
            raise r.error(path, f"expected {what} as a class index, a whole number from 0 to {k - 1} "
                                f"(classes are counted from 0), got {x:g}")
        y = np.zeros(k)
        y[int(x)] = 1.0
        name = f" '{names[int(x)]}'" if names else ""
        return y, f"class {int(x)}{name}"
    y = r.array_value(value, path, ndim=1, shape=(k,),
                      what=f"{what}: a vector of length {k} (one number per logit) or a class index")
    if np.any(y < 0) or np.any(y > 1):
        bad = next(float(v) for v in y if v < 0 or v > 1)
        raise r.error(path, f"expected {what} with components between 0 and 1, got {bad:g}")
    if mode == "multiclass" and abs(y.sum() - 1.0) > 1e-9:
        raise r.error(path, f"expected {what} to be a probability distribution (summing to 1) for softmax "
                            f"with cross-entropy, got components summing to {y.sum():g}; for several true "
                            f"labels use mode: multilabel")
    return y, None


def _numeric(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def read(r, kind):
    raw = r.raw("logits", what=r.fields["logits"].what)
    batch = isinstance(raw, list) and any(isinstance(v, list) for v in raw)
    if batch:
        Z = r.matrix("logits", what="a list of samples, each a list of k logits (one row per sample)")
    else:
        Z = r.vector("logits", what="the logits z, a list of numbers (one per class)")[None, :]
    N, k = Z.shape
    if N > MAX_SAMPLES or N * k > MAX_ENTRIES:
        raise r.error(("logits",), f"expected at most {MAX_SAMPLES} samples and {MAX_ENTRIES} logits in all, "
                                   f"got {N} × {k}")
    mode, T, shift = r.values("mode", "temperature", "shift")
    classes = None
    if r.has("classes"):
        items = r.items("classes", what="a list of k class names")
        classes = []
        for path, v in items:
            if isinstance(v, (list, dict)) or v is None:
                raise r.error(path, f"expected a class name, got {_describe(v)}")
            classes.append(str(v))
        if len(classes) != k:
            raise r.error(("classes",), f"expected {k} class names (one per logit), got {len(classes)}")
        if len(set(classes)) != k:
            raise r.error(("classes",), "expected different names for the classes")
    if mode == "multiclass" and k < 2:
        raise r.error(("logits",), "softmax needs k ≥ 2 logits (the softmax of one number is always 1); "
                                   "for one logit with a sigmoid use mode: multilabel")
    with np.errstate(over="ignore", invalid="ignore"):
        U = Z / T
        finite = np.all(np.isfinite(U)) and np.all(np.isfinite(U.max(axis=1) - U.min(axis=1)))
    if not finite:
        if T == 1:
            raise r.error(("logits",), "the logits are too large for float64 (their differences overflow)")
        raise r.error(("temperature",), f"z/T is too large for float64 with T = {T:g}")
    if shift == "never":
        with np.errstate(over="ignore", under="ignore"):
            if mode == "multiclass":
                S = np.exp(U).sum(axis=1)
                bad = not np.all(np.isfinite(S)) or np.any(S == 0)
            else:
                bad = np.any(U > 700)
        if bad:
            raise r.error(("shift",), "shift: never: e^(z/T) is out of float64's range for these logits "
                                      "(beyond e^709 or all below e^-745); use shift: auto or always, "
                                      "which subtract max z first")
    raw_t = r.raw("target", what="a target for each sample: a class index, a one-hot vector or probabilities")
    targets, labels = [], []
    if batch:
        if not isinstance(raw_t, list):
            raise r.error(("target",), f"expected a list of {N} targets, one per sample (logits has {N} rows), "
                                       f"got {_describe(raw_t)}")
        if len(raw_t) != N:
            raise r.error(("target",), f"expected {N} targets, one per sample (logits has {N} rows), "
                                       f"got {len(raw_t)}")
        for n, v in enumerate(raw_t):
            y, lab = _read_target(r, v, ("target", n), k, mode, classes, f"the target of sample {n + 1}")
            targets.append(y)
            labels.append(lab)
    else:
        y, lab = _read_target(r, raw_t, ("target",), k, mode, classes, "the target")
        targets.append(y)
        labels.append(lab)
    return Problem(Z, np.array(targets), labels, batch, mode, T, shift, classes)


# -- the softmax as a hand writes it (shared with kind: attention) --------------------------

def shifted(u: np.ndarray, shift: str, mode: str = "multiclass") -> bool:
    """Whether the working subtracts the max: always, never, or (auto) when the exponentials
    would be too large or too small to write down."""
    if shift != "auto":
        return shift == "always"
    u = np.asarray(u, dtype=float)
    if mode == "multiclass":
        n = ops.current_rounding()
        if n is not None and ops.round_half_away(np.exp(np.max(u)), n) == 0:
            return True  # every e^{u_j} would round to 0 (and their sum with them)
        return bool(abs(np.max(u)) > LARGE)
    return bool(np.max(np.abs(u)) > LARGE)


def _max(a):
    return np.max(a)


def normalise(page, u, *, shift: bool, name: str, out: str, path, exp_tex=None, what="logit", sum_tex="S"):
    """softmax(u) on ``page``: (with ``shift`` the largest m = max_j u_j and ũ = u − m, which
    leaves the ratios unchanged), every e^{u_j}, their sum S = Σ_k e^{u_k}, and each ratio
    e^{u_j} / S, the result at ``path``. ``name``: the TeX of u; ``out``: of the result.
    Returns (probabilities, the exponent x, S): ln softmax(u) = x − ln S."""
    x = u
    xname = name
    if shift:
        page.text(f"The {what}s are large, so the exponentials are taken after subtracting the largest, "
                  f"$m = \\max_{{j}} {name}_{{j}}$: $e^{{{name}_{{j}} - m}} / \\sum_{{k}} e^{{{name}_{{k}} - m}}$ is "
                  f"the same ratio (the factor $e^{{-m}}$ cancels), and every exponential is at most $1$, where "
                  f"$e^{{{name}_{{j}}}}$ itself can overflow (float64 ends near $e^{{709}}$) or underflow to $0$.",
                  "note")
        m = page.step(None, "m", ops.func(r"\max", _max, u, elementwise=False),
                      f"Shift: the largest {what}", scalar=True)
        xname = rf"\tilde{{{name}}}"
        x = page.step(None, xname, u - m, f"Each {what} minus $m$ (the largest becomes $0$)")
    exp_tex = exp_tex or (lambda t: f"e^{{{t}}}")
    E = page.step(None, exp_tex(xname), ops.exp(x), "Every exponential")
    Ek = page.sym(exp_tex(f"{xname}_{{k}}"), ops.value(E))  # summed over k: named by k
    S = page.step(None, sum_tex, ops.total(Ek, "k"), "Their sum", scalar=True)
    P = page.step(path, out, E / S, "Each ratio")
    return P, x, S


# -- solving ------------------------------------------------------------------------------

def log_prob(x, S):
    """ln softmax: the exponent x (u, or u − m) minus ln S."""
    return x - ops.log(S)


def gradient(page, P, y, T: float):
    """∂L/∂z = (ŷ − y) / T."""
    return P - y if T == 1 else (P - y) / page.sym("T", T)


def _path(p: Problem, name: str, n: int):
    return (name, n) if p.batch else (name,)


def _by_j(page, tex: str, q):
    """q named by its component j, for a sum over j (Σ_j y_j ln ŷ_j, not Σ_j y ln ŷ): the
    subscript goes on the symbol (ln ŷ_j, ln(1 − ŷ_j))."""
    if tex.endswith(")") and "(" in tex:  # \ln(1 - \hat{y}) -> \ln(1 - \hat{y}_{j})
        named = tex[:-1] + "_{j})"
    else:
        named = f"{tex}_{{j}}"
    return page.sym(named, ops.value(q))


def sample(page, p: Problem, n: int, z, y, shift: bool, names=None):
    """One sample's working, each formula stated once (shown, silent or rules page).
    Returns (probabilities, loss, gradient)."""
    names = names or {}
    zt, yt, T = names.get("z", "z"), names.get("y", "y"), p.T
    zs = page.sym(zt, z)
    ys = page.sym(yt, y)
    u, ut = zs, zt
    if T != 1:
        ut = names.get("u", "u")
        u = page.step(None, ut, zs / page.sym("T", T), "The logits divided by the temperature")
    P_tex, L_tex = names.get("y_hat", r"\hat{y}"), names.get("L", "L")
    if p.mode == "multiclass":
        P, x, S = normalise(page, u, shift=shift, name=ut, out=P_tex, path=_path(p, "probabilities", n))
        lnp = page.step(None, rf"\ln {P_tex}", log_prob(x, S), "Log-probabilities (log domain: finite even "
                                                                 "where a probability underflows to 0)")
        yj, lnpj = _by_j(page, yt, ys), _by_j(page, rf"\ln {P_tex}", lnp)
        L = page.step(_path(p, "loss", n), L_tex, -ops.total(yj * lnpj, "j"), "Cross-entropy", scalar=True)
        hot = np.flatnonzero(np.asarray(y) == 1)
        if len(hot) == 1 and np.count_nonzero(y) == 1:
            c = int(hot[0])
            page.text(f"The target is one-hot: only the term $j = {c + 1}$ (class {c}) is not zero, "
                      f"$L = -\\ln \\hat{{y}}_{{{c + 1}}}$.", "note")
    else:
        P = page.step(_path(p, "probabilities", n), P_tex, ops.sigma(u), "A sigmoid per class")
        A_tex = rf"\ln(1 + e^{{{ut}}})"
        if shift:
            page.text(f"Some logits are large, so $\\ln(1 + e^{{{ut}_{{j}}}})$, the log of the sum of the two "
                      f"exponentials $e^{{0}}$ and $e^{{{ut}_{{j}}}}$, is taken after the shift by the larger "
                      f"exponent, "
                      f"$m_{{j}} = \\max(0, {ut}_{{j}})$: $\\ln(1 + e^{{{ut}_{{j}}}}) = m_{{j}} + "
                      f"\\ln(e^{{-m_{{j}}}} + e^{{{ut}_{{j}} - m_{{j}}}})$, where $e^{{{ut}_{{j}}}}$ itself can "
                      f"overflow (float64 ends near $e^{{709}}$).", "note")
            m = page.step(None, "m", page.sym(rf"\max(0, {ut})", np.maximum(0.0, ops.value(u))),
                          f"Shift: $m_{{j}} = \\max(0, {ut}_{{j}})$")
            A = page.step(None, A_tex, m + ops.log(ops.exp(-m) + ops.exp(u - m)),
                          "The log-normaliser, after the shift")
        else:
            A = page.step(None, A_tex, ops.log(1 + ops.exp(u)), "The log-normaliser")
        lnp = page.step(None, rf"\ln {P_tex}", u - A, "Log-probabilities of each label being on")
        lnq = page.step(None, rf"\ln(1 - {P_tex})", -A, "and of it being off")
        yj, lnpj, lnqj = _by_j(page, yt, ys), _by_j(page, rf"\ln {P_tex}", lnp), _by_j(page, rf"\ln(1 - {P_tex})", lnq)
        L = page.step(_path(p, "loss", n), L_tex, -ops.total(yj * lnpj + (1 - yj) * lnqj, "j"),
                      "Binary cross-entropy, summed over the classes", scalar=True)
    G = page.step(_path(p, "grad_logits", n), names.get("grad", r"\frac{\partial L}{\partial z}"),
                  gradient(page, P, ys, T), "Gradient with respect to the logits")
    return P, L, G


def prediction(p: Problem, z) -> object:
    """multiclass: the argmax class (a tie goes to the lowest index); multilabel: 1 where
    ŷ_j ≥ 0.5. Of the exact float64 probabilities (hand rounding does not move a decision)."""
    u = np.asarray(z, dtype=float) / p.T
    if p.mode == "multiclass":
        return int(np.argmax(softmax_np(u)))
    return [int(v) for v in (sigmoid_np(u) >= 0.5)]


def _class_text(p: Problem, c: int) -> str:
    return f"class {c}" + (f" ({p.classes[c]})" if p.classes else "")


def _prediction_text(p: Problem, pred) -> str:
    if p.mode == "multiclass":
        return f"Prediction: {_class_text(p, pred)}, the largest probability."
    on = [j for j, v in enumerate(pred) if v]
    if not on:
        return "Prediction: no label is on (every $\\hat{y}_{j} < 0.5$)."
    return "Prediction: " + ", ".join(_class_text(p, j) for j in on) + " on ($\\hat{y}_{j} \\geq 0.5$)."


def solve(p: Problem, sheet) -> None:
    N, k = p.Z.shape
    multi = p.mode == "multiclass"
    intro = sheet.section("Problem")
    what = ("softmax over the k classes with the cross-entropy loss" if multi else
            "a sigmoid for each class (independent yes/no labels) with the binary cross-entropy loss")
    intro.text(f"{N} sample{'s' if N > 1 else ''} of k = {k} logits; {what}"
               + (f"; temperature T = {p.T:g}" if p.T != 1 else "") + ".")
    cls = [p.classes[j] if p.classes else str(j) for j in range(k)]
    if not p.batch:
        intro.table(["j", "class", "z_{j}", "y_{j}"], [[j + 1, cls[j], p.Z[0, j], p.Y[0, j]] for j in range(k)],
                    note=f"The target is {p.labels[0]}." if p.labels[0] else None)
    else:
        intro.table(["sample", "z", "y", "target"], [[n + 1, p.Z[n], p.Y[n], p.labels[n] or ""] for n in range(N)],
                    note="Classes: " + ", ".join(f"{j} = {c}" for j, c in enumerate(cls)) if p.classes else None)
    if any(lab and lab.startswith("class") for lab in p.labels):
        intro.text("A class index counts from 0 (as PyTorch's): class c is the one-hot target with a 1 in "
                   "component c + 1.", "note")

    act = nn.activation("softmax" if multi else "sigmoid")
    loss = nn.loss("cross_entropy" if multi else "bce")

    def rules(page):
        arg = "z / T" if p.T != 1 else "z"
        base = "u" if p.T != 1 else "z"
        u = page.sym(f"{base}_{{j}}", p.Z[0, 0] / p.T)
        yh, y = page.sym(r"\hat{y}_{j}", 0.5), page.sym("y_{j}", p.Y[0, 0])
        if p.T != 1:
            page.step(None, "u_{j}", page.sym("z_{j}", p.Z[0, 0]) / page.sym("T", p.T),
                      "the logits over the temperature")
        if multi:
            page.math(rf"\hat{{y}} = {act.tex}({arg}), \quad {act.tex}(v)_{{j}} = {act.definition}", "softmax")
            S = page.sym(rf"\sum_{{k}} e^{{{base}_{{k}}}}", 1.0)
            page.step(None, r"\ln \hat{y}_{j}", log_prob(u, S), "in the log domain")
        else:
            page.math(rf"\hat{{y}}_{{j}} = {act.tex}({u.tex}), \quad {act.tex}(v) = {act.definition}",
                      "a sigmoid per class" + (", u = z / T" if p.T != 1 else ""))
            A = page.sym(rf"\ln(1 + e^{{{u.tex}}})", 1.0)
            page.step(None, r"\ln \hat{y}_{j}", u - A, "in the log domain")
            page.step(None, r"\ln(1 - \hat{y}_{j})", -A)
        page.math("L = " + loss.rule("y_{j}", r"\hat{y}_{j}"), loss.title)
        page.step(None, r"\frac{\partial L}{\partial z_{j}}", gradient(page, yh, y, p.T), "gradient")
        page.text(("The softmax's Jacobian and the cross-entropy's derivative combine into this simple "
                   "gradient because $\\sum_{j} y_{j} = 1$." if multi else
                   "The sigmoid's derivative cancels against the binary cross-entropy's, leaving this simple "
                   "gradient.")
                  + " The loss is summed over the classes, per sample, with no averaging.", "note")
        if multi:
            page.text("PyTorch's F.cross_entropy takes the logits (not the probabilities) and a class index or "
                      "probabilities as the target, and computes the same log-softmax; its default "
                      "reduction='mean' averages over the samples of a batch (here: mean_loss).", "note")
        else:
            page.text("PyTorch's BCEWithLogitsLoss computes the same from the logits; its default "
                      "reduction='mean' averages over all N · k entries, where the notes (and mean_loss here) "
                      "sum over the classes and average over the samples only.", "note")
    sheet.rules("Rules", rules)

    losses, probs = [], []
    preds = []
    if not p.batch:
        z, y = p.Z[0], p.Y[0]
        s = shifted(z / p.T, p.shift, p.mode)
        page = sheet.section("Softmax" if multi else "Sigmoid per class")
        P, L, G = sample(_Pages(sheet, page), p, 1, z, y, s)
        pred = prediction(p, z)
        sheet.result(("prediction",), pred, exact=True)
        end = sheet.section("Result")
        end.table(["j", "class", r"\hat{y}_{j}", "y_{j}", r"\partial L / \partial z_{j}"],
                  [[j + 1, cls[j], ops.value(P)[j], y[j], ops.value(G)[j]] for j in range(k)])
        end.table(["L"], [[ops.value(L)]])
        end.text(_prediction_text(p, pred), "result")
        return

    for n in range(N):
        z, y = p.Z[n], p.Y[n]
        s = shifted(z / p.T, p.shift, p.mode)

        def build(page, n=n, z=z, y=y, s=s):
            page.table(["z", "y"], [[z, y]])
            sample(page, p, n + 1, z, y, s)
            page.text(_prediction_text(p, prediction(p, z)), "result")
        sheet.section(f"Sample {n + 1}", level=3, detail=True, builder=build)
        P, L, G = sample(sheet.silent, p, n + 1, z, y, s)
        pred = prediction(p, z)
        sheet.result(("prediction", n + 1), pred, exact=True)
        probs.append(ops.value(P))
        losses.append(float(ops.value(L)))
        preds.append(pred)
    summary = sheet.section("Summary over the samples")
    summary.table(["sample", r"\hat{y}", "y", "L", "prediction"],
                  [[n + 1, probs[n], p.Y[n], losses[n], str(preds[n])] for n in range(N)])
    mean = sheet.section("Mean loss")
    Ls = mean.sym("L_{i}", np.array(losses))
    mean.step(("mean_loss",), r"\bar{L}", ops.mean(Ls, "i"), "The mean over the samples", scalar=True)


class _Pages:
    """A single sample's working split into sections: the same calls as a page; a new
    section starts at the loss and at the gradient."""

    def __init__(self, sheet, first):
        self.sheet = sheet
        self.page = first

    def _to(self, label: str):
        for start, heading in (("Log-probabilities", "Loss"), ("Gradient", "Gradient")):
            if label.startswith(start):
                self.page = self.sheet.section(heading)

    def sym(self, tex, value):
        return self.page.sym(tex, value)

    def step(self, path, tex, formula, label="", **kw):
        self._to(label)
        return self.page.step(path, tex, formula, label, **kw)

    def text(self, *a, **kw):
        self.page.text(*a, **kw)
