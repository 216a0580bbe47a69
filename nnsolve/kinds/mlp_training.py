"""mlp training over several samples and epochs (classical.md, "mlp: training over several
samples and epochs"): online, batch or minibatch gradient descent, the batch's gradient summed
(the notes add the Δw of a batch) or averaged, and optional momentum in the notes' form
(seed 003): ΔW(t) = α ΔW(t−1) + η ∂E/∂W, W ← W − ΔW(t), ΔW(0) = 0, carried across epochs.

Hooked into nnsolve/kinds/mlp.py: its reader calls :func:`read_io` (the input and target, or
with ``samples`` the first sample's) and :func:`finish_read` (the training keys); its
``solve`` and ``work`` hand a :class:`Training` over to :func:`solve` and :func:`work` here.
The forward pass is mlp.py's ``forward``; losses and activations are the library's records.
"""
from __future__ import annotations

import functools
import operator
from dataclasses import dataclass

import numpy as np

from .. import nn, ops
from ..given import Field
from ..notation import layer
from ._classical import MAX_EPOCHS, MAX_PRESENTATIONS, new as new_tex

MODES = ("online", "batch", "minibatch")
REDUCTIONS = ("sum", "mean")
FULL_UPDATES = 3      # updates worked in full (each in its own section); the table has them all
FULL_EPOCHS = 3       # epoch losses worked as a formula; the table has them all
WEIGHT_COLUMNS = 16   # a network of more weights has no weights columns in the table of updates

FIELDS = (
    Field("samples", "list", "training instead of one step: the samples, presented in this order every epoch",
          default=None, flow=True, template="comment",
          lead="or, training over several samples (instead of input and target):",
          what="a list of samples {x: [...], d: [...]}",
          example=[{"x": [0, 1], "d": [1]}, {"x": [1, 0], "d": [0]}],
          fields=(Field("x", "vector", "the input pattern", shape=("n",), notation="x",
                        what="the input pattern x, a list of numbers"),
                  Field("d", "vector", "the desired output, one per output neuron", shape=("k",), notation="d",
                        what="the desired output d, a list of numbers"))),
    Field("epochs", "integer", "samples only: passes over the samples", default=1, minimum=1, maximum=MAX_EPOCHS,
          example=1, template="comment"),
    Field("mode", "choice", "samples only: online (an update per sample) | batch (per epoch) | minibatch "
          "(per batch_size samples, in file order)", choices=MODES, default="online", example="online",
          template="comment"),
    Field("batch_size", "integer", "minibatch only: samples per update (the last batch may be short)",
          default=None, minimum=1, example=2, template="comment", needs=(("mode", "minibatch"),),
          what="the number of samples per update, a whole number ≥ 1"),
    Field("reduction", "choice", "samples only: sum (the notes add the Δw of a batch) | mean (divided by the "
          "batch's own size)", choices=REDUCTIONS, default="sum", example="sum", template="comment"),
    Field("momentum", "number", "samples only: α in ΔW(t) = α ΔW(t−1) + η ∂E/∂W, W ← W − ΔW(t)",
          notation=r"\alpha", default=None, minimum=0, maximum=1, example=0.9, template="comment",
          default_text="none (plain gradient descent)", what="the momentum α, a number from 0 to 1"),
)
KEYS = tuple(f.key for f in FIELDS if f.key != "samples")


@dataclass
class Training:
    net: object          # mlp.Problem: layers, loss, η, update_bias, slope (x, d: the first sample's)
    X: np.ndarray        # N × n
    D: np.ndarray        # N × k
    epochs: int
    mode: str
    batch_size: int | None
    reduction: str
    momentum: float | None
    size_key: tuple = ("samples",)

    def batches(self) -> list[list[int]]:
        """The samples (0-based) of each update of an epoch, in file order."""
        N = len(self.X)
        size = {"online": 1, "batch": N}.get(self.mode, self.batch_size)
        return [list(range(s, min(s + size, N))) for s in range(0, N, size)]


# -- reading ------------------------------------------------------------------------------------

def read_io(r, what_x: str, what_d: str):
    """(x, d, path of d) for mlp's reader: ``input`` and ``target``, or, with ``samples``, the
    first sample's x and d (every sample is read and checked here; :func:`finish_read` keeps them)."""
    if not r.has("samples"):
        return r.vector("input", what=what_x), r.vector("target", what=what_d), ("target",)
    for key in ("input", "target"):
        if r.has(key):
            raise r.error((key,), "give input and target (one step) or samples (training), not both")
    X, D = [], []
    for path, item in r.items("samples", what=r.fields["samples"].what):
        s = r.element(path, item)
        s.finish()
        n = len(X[0]) if X else None
        x = s.vector("x", length=n, what="an input vector" + (f" of length {n} (as long as sample 1's)" if n else ""))
        k = len(D[0]) if D else None
        d = s.vector("d", length=k, what="a target vector" + (f" of length {k} (as long as sample 1's)" if k else ""))
        X.append(x)
        D.append(d)
    r._training = (np.array(X, dtype=float), np.array(D, dtype=float))
    return X[0], D[0], ("samples", 0, "d")


def finish_read(r, p):
    """mlp's problem ``p`` as it is (one step), or the Training over the samples read by
    :func:`read_io`, with the training keys."""
    data = getattr(r, "_training", None)
    if data is None:
        r.values(*KEYS)  # a wrong value first says what the key expects
        for key in KEYS:
            if r.has(key):
                raise r.error((key,), f"{key} is for training over samples (give samples: [{{x, d}}, ...] "
                                      "instead of input and target)")
        return p
    X, D = data
    epochs, mode, batch_size, reduction, momentum = r.values(*KEYS)
    if mode == "minibatch" and batch_size is None:
        r.raw("batch_size", what="the number of samples per update, a whole number ≥ 1 (mode: minibatch)")
    if batch_size is not None and mode != "minibatch":
        raise r.error(("batch_size",), f"batch_size is for mode: minibatch (this training is {mode})")
    for i, d in enumerate(D):
        if p.loss == "bce" and np.any((d < 0) | (d > 1)):
            raise r.error(("samples", i, "d"), "bce needs targets between 0 and 1")
        if p.loss == "cross_entropy" and np.any(d < 0):
            raise r.error(("samples", i, "d"), "cross_entropy needs non-negative targets (a one-hot vector "
                                               "or probabilities)")
    if len(X) * epochs > MAX_PRESENTATIONS:
        raise r.error(("epochs",), f"{len(X)} samples × {epochs} epochs is more than {MAX_PRESENTATIONS} "
                                   "presentations")
    key = ("epochs",) if "epochs" in r.data else ("samples",)
    return Training(p, X, D, epochs, mode, batch_size, reduction, momentum, key)


def work(t: Training):
    """The size of the working (nnsolve.work): every presentation is a forward pass, a loss,
    a backward pass and the gradients; every update the batch's gradient, the step and the
    weights in results; the first updates are worked in full."""
    from .. import work as W
    N, n = t.X.shape
    P = N * t.epochs
    U = len(t.batches()) * t.epochs
    L = len(t.net.layers)
    mn = sum(layer_.W.size for layer_ in t.net.layers)
    m = sum(layer_.W.shape[0] for layer_ in t.net.layers)
    per_sample = 6 * L + 2
    per_update = 3 * L + 2
    shown_sample = sum(4 * W.step(lr.W.shape[0], lr.W.shape[1] + 1) + W.step(lr.W.size, 2 * lr.W.size)
                       for lr in t.net.layers)
    c = W.cell(mn) + W.cell(m)
    return W.Work(
        what=f"{P:,} presentations ({N:,} sample{'s' if N > 1 else ''} × {t.epochs:,} epoch"
             f"{'s' if t.epochs > 1 else ''}) of a network of {mn:,} weights",
        key=t.size_key, shrink="use fewer samples or epochs, or a smaller network",
        steps=per_sample * P + per_update * U + t.epochs, numbers=12 * (mn + m) * P + 6 * (mn + m) * U,
        flops=8 * mn * P, results=(mn + m + 3) * U + t.epochs + mn + m,
        detail=(min(U, FULL_UPDATES), min(N, 8) * shown_sample + L * 3 * W.step(mn, 2 * mn)),
        shown=(min(t.epochs, FULL_EPOCHS) + 4) * W.SHOWN_STEP,
        tables=[(U, 3 + (c if mn <= WEIGHT_COLUMNS else 0)), (t.epochs, 2), (N, W.cell(n) + W.cell(t.D.shape[1])),
                (L, c)])


# -- solving ------------------------------------------------------------------------------------

def _backward(page, p, acts, Ws, vs, ys, d, d_value, k, first):
    """The local gradients δ^(l) of one sample, as mlp.py's single step works them (Haykin):
    δ = −∂E/∂v at the output, δ^(l) = φ′(v^(l)) ⊙ W^(l+1)ᵀ δ^(l+1) below."""
    from .mlp import _dphi, hidden_sum, output_delta
    nL = len(p.layers)
    last, y = acts[-1], ys[-1]
    loss_rec = nn.loss(p.loss)
    if p.loss == "cross_entropy" and last.name == "softmax":
        if first:
            page.text("Softmax output with cross-entropy: $\\delta = -\\partial E/\\partial v = d - y \\sum_{k} d_{k}$, "
                      "$= e$ for a one-hot target.", "note")
        expr = d - y if np.isclose(np.sum(d_value), 1.0) else d - page.sym(r"\sum_{k} d_{k}", np.sum(d_value)) * y
    elif p.loss == "bce" and last.name == "sigmoid":
        if first:
            page.text("Sigmoid output with binary cross-entropy: the $y(1 - y)$ of $\\varphi'$ cancels, "
                      "$\\delta = a (d - y)$.", "note")
        expr = page.sym("a", p.slope) * (d - y) if p.show_slope else d - y
    else:
        if p.loss == "half_sse":
            g = page.step(None, "e", d - y, f"Sample {k}: output errors" if first else "")
        else:
            g = page.step(None, r"-\frac{\partial E}{\partial y}", loss_rec.neg_grad(d, y),
                          f"$-\\partial E/\\partial y$ for the {loss_rec.title}" if first else "")
        if last.name == "softmax":
            expr = ops.prime(last, vs[-1], y).T @ g
        else:
            expr = output_delta(p, last, g, vs[-1], y)
    deltas = [None] * nL
    deltas[-1] = page.step(None, layer(r"\delta", nL), expr, f"Sample {k}: local gradients, output layer")
    for l in range(nL - 1, 0, -1):
        dphi = _dphi(page, acts[l - 1], vs[l - 1], ys[l], l, p)
        deltas[l - 1] = page.step(None, layer(r"\delta", l), ops.odot(dphi, hidden_sum(Ws[l], deltas[l])),
                                  f"Sample {k}: local gradients, hidden layer {l}")
    return deltas


def _add(terms):
    return functools.reduce(operator.add, terms)


def update(page, t: Training, i: int, ks, state, first: bool = False):
    """Update i (history[i]) on the samples ks (0-based) from ``state`` = (W per layer, b per
    layer, ΔW(t−1) per layer, Δb(t−1) per layer): each sample forward, its loss, backward and
    gradients; the batch's loss and gradient (summed or averaged); the step (with momentum);
    the new weights. Returns (new state, the samples' losses)."""
    from .mlp import _act, forward
    p = t.net
    nL = len(p.layers)
    Ws0, bs0, VW, Vb = state
    acts = [_act(p, L) for L in p.layers]
    loss_rec = nn.loss(p.loss)
    Ws = [page.sym(layer("W", l), W) for l, W in enumerate(Ws0, start=1)]
    bs = [page.sym(layer("b", l), b) for l, b in enumerate(bs0, start=1)]
    Es, gWs, gbs = [], [[] for _ in range(nL)], [[] for _ in range(nL)]
    for k0 in ks:
        k = k0 + 1
        page.text(f"Sample {k}: $x_{{{k}}}$ and $d_{{{k}}}$ as given.", "text")
        x, d = page.sym(f"x_{{{k}}}", t.X[k0]), page.sym(f"d_{{{k}}}", t.D[k0])
        vs, ys = forward(page, p, Ws, bs, x, after=True)
        dj, yj = d, ys[-1]
        if t.D.shape[1] > 1:  # summed over the outputs j: named by j
            dj, yj = page.sym(f"d_{{{k},j}}", t.D[k0]), page.sym(r"y_{j}^{(" + str(nL) + ")}", ops.value(ys[-1]))
        E = page.step(None, f"E_{{{k}}}", loss_rec.formula(dj, yj, nn.log_terms(acts[-1], vs[-1], yj)),
                      f"Sample {k}: loss ({loss_rec.title})", scalar=True)
        deltas = _backward(page, p, acts, Ws, vs, ys, d, t.D[k0], k, first and k0 == ks[0])
        for l in range(1, nL + 1):
            gWs[l - 1].append(page.step(None, rf"\frac{{\partial E_{{{k}}}}}{{\partial {layer('W', l)}}}",
                                        -ops.outer(deltas[l - 1], ys[l - 1]),
                                        f"Sample {k}: gradient of the weights of layer {l}, $-\\delta y^{{\\top}}$",
                                        components=False))
            if p.update_bias:
                gbs[l - 1].append(page.step(None, rf"\frac{{\partial E_{{{k}}}}}{{\partial {layer('b', l)}}}",
                                            -deltas[l - 1], f"Sample {k}: gradient of the biases of layer {l}, "
                                                            f"$-\\delta$", components=False))
        Es.append(E)
    B = len(ks)
    mean = t.reduction == "mean" and B > 1
    scale = (lambda q: ops.const(1.0 / B, rf"\frac{{1}}{{{B}}}", like=q) * q) if mean else (lambda q: q)
    names = ", ".join(str(k0 + 1) for k0 in ks)
    loss = page.step(("history", i, "loss"), "E", scale(_add(Es)),
                     f"Loss of the batch (samples {names}), {'averaged' if mean else 'summed'}" if B > 1
                     else "Loss of the update (the sample's)", scalar=True)
    eta = page.sym(r"\eta", p.eta)
    alpha = page.sym(r"\alpha", t.momentum) if t.momentum is not None else None
    newW, newb, newVW, newVb = [], [], [], []
    for l in range(1, nL + 1):
        for kind, grads, start, V, out, vel in (("W", gWs, Ws, VW, newW, newVW), ("b", gbs, bs, Vb, newb, newVb)):
            path = ("history", i, "weights" if kind == "W" else "bias", l)
            if kind == "b" and not p.update_bias:
                out.append(bs0[l - 1])
                vel.append(V[l - 1])
                if page.keep:
                    page.sheet.result(path, bs0[l - 1])
                continue
            what = "weights" if kind == "W" else "biases"
            G = grads[l - 1][0] if B == 1 else page.step(
                None, rf"\frac{{\partial E}}{{\partial {layer(kind, l)}}}", scale(_add(grads[l - 1])),
                f"Layer {l}: gradient of the batch's loss for the {what}", components=False)
            if alpha is None:
                new = page.step(path, new_tex(kind, l), start[l - 1] - eta * G,
                                f"Layer {l}: new {what}", components=False)
                vel.append(V[l - 1])
            else:
                step = page.step(None, rf"\Delta {layer(kind, l)}(t)",
                                 alpha * page.sym(rf"\Delta {layer(kind, l)}(t-1)", V[l - 1]) + eta * G,
                                 f"Layer {l}: step of the {what}, with momentum", components=False)
                new = page.step(path, new_tex(kind, l), start[l - 1] - step,
                                f"Layer {l}: new {what}", components=False)
                vel.append(np.asarray(ops.value(step), dtype=float))
            out.append(np.asarray(ops.value(new), dtype=float))
    return (newW, newb, newVW, newVb), [float(ops.value(E)) for E in Es], float(ops.value(loss))


def epoch_loss(page, epoch: int, losses):
    terms = [page.sym(f"E_{{{k}}}", E) for k, E in enumerate(losses, start=1)]
    N = len(terms)
    total = _add(terms)
    formula = ops.const(1.0 / N, rf"\frac{{1}}{{{N}}}", like=terms[0]) * total if N > 1 else total
    return page.step(("epoch_loss", epoch), rf"\bar{{E}}^{{({epoch})}}", formula,
                     f"Epoch {epoch}: the mean of its samples' losses", scalar=True)


def solve(t: Training, sheet) -> None:
    p = t.net
    N, n = t.X.shape
    nL = len(p.layers)
    acts = [nn.activation(L.activation, a=p.slope, negative_slope=L.negative_slope) for L in p.layers]
    batches = t.batches()
    U = len(batches)
    intro = sheet.section("Problem")
    sizes = " → ".join([str(n)] + [str(L.W.shape[0]) for L in p.layers])
    per = {"online": "an update after every sample", "batch": "one update per epoch (all samples)",
           "minibatch": f"an update per batch of {t.batch_size} samples in file order"
                        + (" (the last one shorter)" if N % (t.batch_size or 1) else "")}[t.mode]
    intro.text(f"A fully connected network {sizes}; loss: {nn.loss(p.loss).title}; {N} sample{'s' if N > 1 else ''}, "
               f"{t.epochs} epoch{'s' if t.epochs > 1 else ''}, {t.mode} training: {per} "
               f"({U} update{'s' if U > 1 else ''} per epoch)"
               + ("" if p.update_bias else "; the biases are kept fixed") + ".")
    intro.table(["layer", "W (rows: neurons)", "b", "activation"],
                [[l + 1, L.W, L.b, L.activation] for l, L in enumerate(p.layers)])
    intro.table(["sample", "x", "d"], [[k + 1, x, d] for k, (x, d) in enumerate(zip(t.X, t.D))])
    sig = any(L.activation == "sigmoid" for L in p.layers)
    intro.table([r"\eta"] + ([r"\alpha"] if t.momentum is not None else []) + (["a"] if sig else []),
                [[p.eta] + ([t.momentum] if t.momentum is not None else []) + ([p.slope] if sig else [])])

    rules = sheet.section("Rules")
    rules.math(r"v^{(l)} = W^{(l)} y^{(l-1)} + b^{(l)}, \quad y^{(l)} = \varphi(v^{(l)}), \quad y^{(0)} = x",
               "forward")
    rules.math(r"\delta^{(L)} = -\frac{\partial E}{\partial v^{(L)}}, \quad "
               r"\delta^{(l)} = \varphi'(v^{(l)}) \odot W^{(l+1)\top} \delta^{(l+1)}", "local gradients")
    rules.math(r"\frac{\partial E_{k}}{\partial W^{(l)}} = -\delta^{(l)} y^{(l-1)\top}, \quad "
               r"\frac{\partial E_{k}}{\partial b^{(l)}} = -\delta^{(l)}", "gradients of one sample")
    red = (r"\frac{\partial E}{\partial W} = \frac{1}{|B|} \sum_{k \in B} \frac{\partial E_{k}}{\partial W}, \quad "
           r"E = \frac{1}{|B|} \sum_{k \in B} E_{k}" if t.reduction == "mean" else
           r"\frac{\partial E}{\partial W} = \sum_{k \in B} \frac{\partial E_{k}}{\partial W}, \quad "
           r"E = \sum_{k \in B} E_{k}")
    rules.math(red, f"a batch B ({t.reduction})")
    loss_rec = nn.loss(p.loss)
    rules.math(rf"E_{{k}} = {loss_rec.rule('d_{j}', 'y_{j}')}", f"loss of one sample ({loss_rec.title})")
    if t.momentum is None:
        rules.math(r"W \leftarrow W - \eta \frac{\partial E}{\partial W}", "update (plain gradient descent)")
    else:
        rules.math(r"\Delta W(t) = \alpha \Delta W(t-1) + \eta \frac{\partial E}{\partial W}(t), \quad "
                   r"W \leftarrow W - \Delta W(t), \quad \Delta W(0) = 0", "update with momentum (the notes' form)")
        rules.text("The step $\\Delta W$ is carried from update to update, across epochs, for weights and biases "
                   "alike. PyTorch's torch.optim.SGD keeps $v(t) = \\alpha v(t-1) + \\partial E/\\partial W$ and "
                   "steps $W \\leftarrow W - \\eta v(t)$: the same weights for a fixed $\\eta$ ($\\Delta W = \\eta v$).",
                   "note")
    from .mlp import _prime_tex
    for act in {a.name: a for a in acts if not a.identity_map and a.elementwise}.values():
        rules.math(rf"\varphi(v) = {act.tex}(v) = {act.definition}, \quad \varphi'(v) = {_prime_tex(p, act)}", act.name)
    rules.text(f"$-\\partial E/\\partial W = \\delta y^{{\\top}}$: the step $-\\eta \\partial E/\\partial W$ is "
               f"Haykin's $\\Delta w_{{ji}} = \\eta \\delta_j y_i$, added over the batch's samples"
               + (" and divided by its size." if t.reduction == "mean" else "."), "note")

    zeros = lambda arrs: [np.zeros_like(np.asarray(a, dtype=float)) for a in arrs]
    Ws = [L.W.astype(float) for L in p.layers]
    bs = [L.b.astype(float) for L in p.layers]
    state = (Ws, bs, zeros(Ws), zeros(bs))
    rows, i = [], 0
    epoch_losses = []
    small = sum(W.size for W in Ws) <= WEIGHT_COLUMNS
    for epoch in range(1, t.epochs + 1):
        losses = [0.0] * N
        for b, ks in enumerate(batches, start=1):
            i += 1
            sheet.result(("history", i, "epoch"), epoch, exact=True)
            sheet.result(("history", i, "batch"), b, exact=True)
            if i <= FULL_UPDATES:
                def build(page, i=i, ks=ks, start=state):
                    update(page, t, i, ks, start, first=i == 1)
                title = f"Update {i}: epoch {epoch}" + (f", batch {b}" if U > 1 else "")
                sheet.section(title, level=3, detail=True, builder=build)
            state, Es, loss = update(sheet.silent, t, i, ks, state)
            for k0, E in zip(ks, Es):
                losses[k0] = E
            rows.append([epoch, b, ", ".join(str(k0 + 1) for k0 in ks), loss]
                        + ([x for l in range(nL) for x in (state[0][l], state[1][l])] if small else []))
        epoch_losses.append(losses)
        epoch_loss(sheet.silent, epoch, losses)

    if U * t.epochs > FULL_UPDATES:
        sheet.section("Updates", level=3).text(
            f"The first {FULL_UPDATES} updates are worked in full above; the others go the same way, "
            "and the table below has them all.", "note")
    table = sheet.section("Training, update by update")
    cols = ["epoch", "batch", "samples", "E"] + ([c for l in range(1, nL + 1)
                                                   for c in (layer("W", l), layer("b", l))] if small else [])
    table.table(cols, rows, note="E: the batch's loss with the weights before the update; W and b after it.")
    if not small:
        table.text("The weights after every update are in the results (history[i].weights, .bias).", "note")

    per_epoch = sheet.section("Loss per epoch")
    for epoch in range(1, min(t.epochs, FULL_EPOCHS) + 1):
        epoch_loss(per_epoch, epoch, epoch_losses[epoch - 1])
    if t.epochs > 1:
        per_epoch.table(["epoch", r"\bar{E}"], [[e, sheet.memory["epoch_loss"][e]] for e in range(1, t.epochs + 1)],
                        note="each sample's loss with the weights it was presented to")
    end = sheet.section("Result")
    Wf, bf = state[0], state[1]
    for l in range(1, nL + 1):
        sheet.result(("final_weights", l), Wf[l - 1])
        sheet.result(("final_bias", l), bf[l - 1])
    end.table(["layer", "W (final)", "b (final)"], [[l, Wf[l - 1], bf[l - 1]] for l in range(1, nL + 1)])
    if t.epochs > 1:
        first_, last_ = sheet.memory["epoch_loss"][1], sheet.memory["epoch_loss"][t.epochs]
        went = float(last_) < float(first_)
        end.text(f"The mean loss per epoch went {'down' if went else 'up'} from {float(first_):.6g} (epoch 1) to "
                 f"{float(last_):.6g} (epoch {t.epochs}).", "result" if went else "warning")
