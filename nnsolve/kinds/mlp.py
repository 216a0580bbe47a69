"""kind: mlp — one forward and backward pass of a fully connected network, and the update,
in Haykin's notation (v_j, y_j, e_j, δ_j, Δw_ji = η δ_j y_i)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import expr as E
from .. import nn, ops
from ..notation import layer
from ._classical import new
from ..given import Field, title
from ..schema import Reader
from . import mlp_training as training  # training over several samples and epochs (classical.md)

SUMMARY = "one backpropagation step of a multilayer perceptron (Haykin's δ notation)"


ACTIVATIONS = nn.activation_names()
LOSSES = ["half_sse", "mse", "bce", "cross_entropy"]
WEIGHT_ROWS = 256  # a layer of more weights gets no table of every weight (the results hold them)
HEADLINE = "one backpropagation step of a multilayer perceptron"

GIVEN = (
    title("My network"),
    Field("input", "vector", "the input pattern", notation="x", shape=("n",), example=[0.05, 0.10],
          instead=("samples",), what="the input pattern x, a list of numbers"),
    Field("target", "vector", "the desired output, one per output neuron", notation="d", shape=("k",),
          example=[0.01, 0.99], instead=("samples",), what="the desired output d, a list of numbers"),
    Field("layers", "list", "input side first; weights are (outputs × inputs): row j = neuron j",
          what="a list of layers (input side first)",
          example=[{"weights": [[0.15, 0.20], [0.25, 0.30]], "bias": [0.35, 0.35], "activation": "sigmoid"},
                   {"weights": [[0.40, 0.45], [0.50, 0.55]], "bias": [0.60, 0.60], "activation": "sigmoid"}],
          fields=(Field("weights", "matrix", "the layer's weights, row j = neuron j", notation="W",
                        shape=("m", "n")),
                  Field("bias", "vector", "the layer's biases", notation="b", shape=("m",), default=None,
                        default_text="zeros"),
                  Field("activation", "choice", "activation φ (softmax: last layer only)",
                        choices=ACTIVATIONS, default="sigmoid"),
                  Field("negative_slope", "number", "leaky_relu only: the slope for v < 0", default=0.01,
                        minimum=0, example=0.01, template="comment", needs=(("activation", "leaky_relu"),),
                        what="the negative slope of leaky_relu, a number ≥ 0 (default 0.01)"))),
    Field("loss", "choice", "half_sse: ½Σ(d−y)² | mse: mean (d−y)² | bce: −Σ[d ln y + (1−d) ln(1−y)] "
          "| cross_entropy: −Σ d ln y (with a softmax output)", choices=LOSSES, default="half_sse",
          example="half_sse"),
    Field("learning_rate", "number", "learning rate", notation=r"\eta", default=1.0, example=0.5,
          what="the learning rate η"),
    Field("update_bias", "boolean", "update the biases too", default=True, example=True),
    Field("slope", "number", "a in the sigmoid 1/(1+exp(−a v)) of every sigmoid layer", default=1.0,
          positive=True, example=1),
    *training.FIELDS,
)


@dataclass
class Layer:
    W: np.ndarray
    b: np.ndarray
    activation: str
    negative_slope: float = 0.01  # leaky_relu only


@dataclass
class Problem:
    x: np.ndarray
    d: np.ndarray
    layers: list
    loss: str
    eta: float
    update_bias: bool
    slope: float
    show_slope: bool = False  # the file states the sigmoid's slope a: the working writes it (even a = 1)


def read(r: Reader, kind):
    x, d, tpath = training.read_io(r, "the input pattern x, a list of numbers",
                                   "the desired output d, a list of numbers")  # tpath: ("target",) or samples[0].d
    layers = []
    n_in = len(x)
    items = r.items("layers", what=r.fields["layers"].what)
    for k, (path, item) in enumerate(items):
        lr = r.element(path, item)
        W = lr.matrix("weights", shape=(None, n_in),
                      what=f"a weight matrix with {n_in} columns (one per input of layer {k + 1})")
        b = lr.vector("bias", np.zeros(W.shape[0]), length=W.shape[0],
                      what=f"a bias vector of length {W.shape[0]} (one per neuron of layer {k + 1})")
        act = lr.field("activation")
        if act == "softmax" and k != len(items) - 1:
            raise r.error(path + ("activation",), "softmax is allowed in the last layer only")
        slope = lr.field("negative_slope")
        if lr.has("negative_slope") and act != "leaky_relu":
            raise r.error(path + ("negative_slope",), f"negative_slope is for activation: leaky_relu (this layer is {act})")
        lr.finish()
        layers.append(Layer(W, b, act, slope))
        n_in = W.shape[0]
    if len(d) != n_in:
        raise r.error(tpath, f"expected a target of length {n_in} (the last layer has {n_in} "
                                   f"neurons), got length {len(d)}")
    loss, eta, update_bias, slope = r.values("loss", "learning_rate", "update_bias", "slope")
    last = layers[-1].activation
    if loss in ("bce", "cross_entropy") and last not in ("sigmoid", "softmax"):
        raise r.error(("loss",), f"the {loss} loss takes the logarithm of the outputs, so they must lie between 0 "
                                 f"and 1: use a sigmoid or softmax last layer (it is {last}), or loss half_sse / mse")
    if loss == "bce" and np.any((d < 0) | (d > 1)):
        raise r.error(tpath, "bce needs targets between 0 and 1")
    if loss == "cross_entropy" and np.any(d < 0):
        raise r.error(tpath, "cross_entropy needs non-negative targets (a one-hot vector or probabilities)")
    show_slope = (r.has("slope") or slope != 1) and any(L.activation == "sigmoid" for L in layers)
    return training.finish_read(r, Problem(x, d, layers, loss, eta, update_bias, slope, show_slope))


def work(p: Problem):
    """The size of the working (nnsolve.work): every layer's steps are shown, forward,
    backward and update; the weights of a layer are in results twice (new, gradient)."""
    if not isinstance(p, Problem):
        return training.work(p)
    from .. import work as W
    L = len(p.layers)
    steps = numbers = flops = results = shown = 0
    tables = [(L, W.cell(0) + 3), (1, 3 * W.cell(len(p.x)))]
    for lay in p.layers:
        m, n = lay.W.shape
        mn = m * n
        steps += 12 + (mn if mn <= 16 else 0)
        numbers += 10 * mn + 12 * m
        flops += 8 * mn
        results += 2 * mn + 3 * m
        shown += 6 * W.step(m, n + 1) + 3 * W.step(mn, 2 * mn) + (mn if mn <= 16 else 0) * W.step(1, 2)
        tables += [(mn if mn <= WEIGHT_ROWS else 0, 7), (m, 5), (1, W.cell(mn) + W.cell(m)), (1, W.cell(m))]
    sizes = " → ".join([str(len(p.x))] + [str(lay.W.shape[0]) for lay in p.layers])
    return W.Work(what=f"a network {sizes if L <= 6 else f'of {L:,} layers'} "
                       f"({sum(lay.W.size for lay in p.layers):,} weights)",
                  key=("layers",), shrink="use fewer or smaller layers",
                  steps=steps, numbers=numbers, flops=flops, results=results + 2 * L + len(p.x),
                  shown=shown, tables=tables)


def _act(p: Problem, L: Layer) -> nn.Activation:
    """The layer's activation record, with its parameters (the sigmoid's slope a, leaky_relu's
    negative slope)."""
    return nn.activation(L.activation, a=p.slope, negative_slope=L.negative_slope)


SOFTMAX_WRITTEN = 50.0  # |v| up to this: every e^{v_j} of a softmax layer is written down


def outputs(page, p: Problem, L: Layer, l: int, v, out):
    """y^(l) = φ(v^(l)) as a hand solution writes it: a sigmoid by its definition with the
    numbers put in, 1/(1 + e^{−v}) (seed 003: 1/(1 + e^{−0.2}) = 0.5498); a softmax as every
    e^{v_j}, their sum Σ_k e^{v_k} and each ratio. The value is φ(v) itself, bit for bit
    (the library's function: a silent page computes only that)."""
    act = _act(p, L)
    formal = ops.apply(act, v)
    label = f"Layer {l}: outputs"
    if not page.shown or not isinstance(formal, E.Func):
        return page.step(out, layer("y", l), formal, label)
    if act.name == "sigmoid" and formal.tex == act.tex:  # not a slip's swapped activation
        one = ops.const(1.0, "1")
        arg = -(ops.const(p.slope, "a") * v) if p.slope != 1 else -v
        return page.step(out, layer("y", l), ops.written(formal, one / (1 + ops.exp(arg))),
                         f"{label}, $y = {act.tex}(v) = {act.definition}$")
    vv = ops.value(v)
    if act.name == "softmax" and formal.tex == act.tex and np.max(np.abs(vv)) <= SOFTMAX_WRITTEN:
        ev = page.step(None, "e^{" + layer("v", l) + "}", ops.exp(v), f"Layer {l}: every exponential")
        ek = page.sym(r"e^{v_{k}^{(" + str(l) + ")}}", ops.value(ev))  # summed over k: named by k
        S = page.step(None, f"S^{{({l})}}", ops.total(ek, "k"), "Their sum", scalar=True)
        return page.step(out, layer("y", l), ops.written(formal, ev / S),
                         f"{label}: each ratio $y_{{j}} = e^{{v_{{j}}}} / S$")
    return page.step(out, layer("y", l), formal, label)


def forward(page, p: Problem, Ws, bs, x, after: bool = False):
    """The forward pass, each formula stated once: v^(l) = W^(l) y^(l−1) + b^(l),
    y^(l) = φ(v^(l)). Returns (v per layer, y per layer with y^(0) = x). The network's output
    is the result `output` (not for the updated network, ``after``)."""
    nL = len(p.layers)
    ys, vs = [x], []
    for l, L in enumerate(p.layers, start=1):
        v = page.step(None, layer("v", l), Ws[l - 1] @ ys[-1] + bs[l - 1], f"Layer {l}: net inputs")
        out = ("output",) if l == nL and not after else None
        y = outputs(page, p, L, l, v, out)
        vs.append(v)
        ys.append(y)
    return vs, ys


def solve(p: Problem, sheet) -> None:
    if not isinstance(p, Problem):
        return training.solve(p, sheet)
    nL = len(p.layers)
    a = p.slope
    loss_rec = nn.loss(p.loss)
    acts = [_act(p, L) for L in p.layers]
    intro = sheet.section("Problem")
    sizes = " → ".join([str(len(p.x))] + [str(L.W.shape[0]) for L in p.layers])
    intro.text(f"A fully connected network {sizes} ({nL} layer{'s' if nL > 1 else ''} of weights); "
               f"loss: {loss_rec.title}; learning rate $\\eta$; one forward pass, one backward pass, one update"
               + ("" if p.update_bias else " (of the weights only: the biases are kept fixed)") + ".")
    intro.table(["layer", "W (rows: neurons)", "b", "activation"],
                [[l + 1, L.W, L.b, L.activation] for l, L in enumerate(p.layers)])
    sig = any(L.activation == "sigmoid" for L in p.layers)
    intro.table(["x", "d", r"\eta"] + ([r"a"] if sig else []), [[p.x, p.d, p.eta] + ([a] if sig else [])])
    rules = sheet.section("Rules (Haykin)")
    rules.math(r"v_{j} = \sum_{i} w_{ji} y_{i} + b_{j}, \quad y_{j} = \varphi(v_{j})", "forward")
    rules.math(r"e_{j} = d_{j} - y_{j}", "error at an output neuron")
    rules.math(r"\delta_{j} = -\frac{\partial E}{\partial v_{j}}", "local gradient")
    rules.math(r"\delta_{j} = e_{j} \varphi'(v_{j})", "output neuron (for half the sum of squared errors)")
    rules.math(r"\delta_{j} = \varphi'(v_{j}) \sum_{k} \delta_{k} w_{kj}", "hidden neuron")
    rules.math(r"\Delta w_{ji} = \eta \delta_{j} y_{i}, \quad w_{ji} \leftarrow w_{ji} + \Delta w_{ji}", "update")
    for act in {act.name: act for act in acts if not act.identity_map and act.elementwise}.values():
        rules.math(rf"\varphi(v) = {act.tex}(v) = {act.definition}, \quad \varphi'(v) = {_prime_tex(p, act)}", act.name)

    # ---- forward ----------------------------------------------------------------------
    fwd = sheet.section("Forward pass")
    x = fwd.sym("x", p.x)
    Ws = [fwd.sym(layer("W", l), L.W) for l, L in enumerate(p.layers, start=1)]
    bs = [fwd.sym(layer("b", l), L.b) for l, L in enumerate(p.layers, start=1)]
    vs, ys = forward(fwd, p, Ws, bs, x)
    y_out = ys[-1]
    d = fwd.sym("d", p.d)
    lossw = sheet.section("Loss")
    dj, yj = components(lossw, "d", p.d), components(lossw, "y", ops.value(y_out), nL)
    loss = lossw.step(("loss",), "E", loss_rec.formula(dj, yj, nn.log_terms(acts[-1], vs[-1], yj)),
                      f"Loss: {loss_rec.title}", scalar=True)
    if loss_rec.probabilities and acts[-1].name in ("sigmoid", "softmax"):
        lossw.text("The logarithms are computed from the net inputs $v$ (log-sum-exp, as PyTorch's "
                   "cross-entropy does): exact even where $y_j$ rounds to 0 or 1.", "note")

    # ---- backward ---------------------------------------------------------------------
    back = sheet.section("Backward pass: local gradients")
    last = acts[-1]
    e = back.step(None, "e", d - y_out, "Output errors")
    deltas = [None] * nL
    dlt_tex = lambda l: layer(r"\delta", l)
    out_path = ("local_gradients", nL)
    if p.loss == "cross_entropy" and last.name == "softmax":
        back.text("Softmax output with cross-entropy: $\\delta = -\\partial E/\\partial v = d - y \\sum_{k} d_{k}$; "
                  "with a one-hot (or probability) target, $\\sum_k d_k = 1$ and $\\delta = e$.", "note")
        expr = d - y_out if np.isclose(np.sum(p.d), 1.0) else d - back.sym(r"\sum_{k} d_{k}", np.sum(p.d)) * y_out
        deltas[-1] = back.step(out_path, dlt_tex(nL), expr, "Output layer")
    elif p.loss == "bce" and last.name == "sigmoid":
        back.text(f"Sigmoid output with binary cross-entropy: $\\partial E/\\partial y = "
                  f"-({loss_rec.neg_grad_tex})$ and $\\varphi'(v) = {last.prime_tex}$, so the $y(1-y)$ "
                  f"cancels: $\\delta = a (d - y) = a e$.", "note")
        deltas[-1] = back.step(out_path, dlt_tex(nL), back.sym("a", a) * (d - y_out) if p.show_slope else d - y_out,
                               "Output layer")
    else:  # δ = −∂E/∂y ⊙ φ'(v)   (softmax: −Jᵀ ∂E/∂y)
        if p.loss == "half_sse":
            g = e
            back.text(f"For $E = {loss_rec.rule('d_{j}', 'y_{j}')}$: $-\\partial E/\\partial y_j = "
                      f"{loss_rec.neg_grad_tex}$.", "note")
        else:
            g = back.step(None, r"-\frac{\partial E}{\partial y}", loss_rec.neg_grad(d, y_out),
                          f"$-\\partial E/\\partial y$ for the {loss_rec.title}")
        if last.name == "softmax":
            J = ops.prime(last, vs[-1], y_out)
            back.text("Softmax output: $\\partial y_k/\\partial v_j = y_k(\\delta_{kj} - y_j)$, the Jacobian $J$; "
                      "$\\delta = J^{\\top}(-\\partial E/\\partial y)$.", "note")
            deltas[-1] = back.step(out_path, dlt_tex(nL), J.T @ g, "Output layer")
        else:
            g_j = "e_{j}" if p.loss == "half_sse" else r"\left(-\frac{\partial E}{\partial y_{j}}\right)"
            deltas[-1] = back.step(out_path, dlt_tex(nL), output_delta(p, last, g, vs[-1], y_out),
                                   f"Output layer: $\\delta_{{j}} = {g_j}"
                                   f" \\varphi'(v_{{j}})$" + (f", $\\varphi'(v) = {_prime_tex(p, last)}$"
                                                              if not last.identity_map else ""))
    for l in range(nL - 1, 0, -1):
        dphi = _dphi(back, acts[l - 1], vs[l - 1], ys[l], l, p)
        deltas[l - 1] = back.step(("local_gradients", l), dlt_tex(l), ops.odot(dphi, hidden_sum(Ws[l], deltas[l])),
                                  f"Hidden layer {l}: $\\delta_{{j}} = \\varphi'(v_{{j}}) \\sum_{{k}} \\delta_{{k}} "
                                  f"w_{{kj}}$")

    # ---- update (from the output layer back, as the notes and Mazur go) ----------------
    eta = back.sym(r"\eta", p.eta)
    upd = sheet.section("Weight updates")
    upd.text("From the output layer back to the input, as the backward pass went; every update uses the "
             "weights before any of them changed.", "note")
    new_W, new_b = [None] * nL, [None] * nL
    for l in range(nL, 0, -1):
        L = p.layers[l - 1]
        dl, yin = deltas[l - 1], ys[l - 1]
        m, n = L.W.shape
        dv, yv = ops.value(dl), ops.value(yin)
        gW = upd.step(("grad_weights", l), r"\frac{\partial E}{\partial " + layer("W", l) + "}",
                      -ops.outer(dl, yin), f"Layer {l}: gradient of the weights, $-\\delta y^{{\\top}}$",
                      components=False)
        gb = upd.step(("grad_bias", l), r"\frac{\partial E}{\partial " + layer("b", l) + "}", -dl,
                      f"Layer {l}: gradient of the biases, $-\\delta$", components=False)
        if m * n <= 16:
            for j in range(m):
                for i in range(n):
                    upd.step(None, r"\Delta w_{" + f"{j + 1}{i + 1}" + "}^{(" + str(l) + ")}",
                             eta * upd.sym(r"\delta_{" + str(j + 1) + "}^{(" + str(l) + ")}", dv[j])
                             * upd.sym(r"y_{" + str(i + 1) + "}^{(" + str(l - 1) + ")}" if l > 1 else f"x_{{{i + 1}}}",
                                       yv[i]),
                             "" if (j or i) else f"Layer {l}: $\\Delta w_{{ji}} = \\eta \\delta_j y_i$")
        dW = eta * ops.outer(dl, yin)
        newW = upd.step(("weights", l), new("W", l), Ws[l - 1] + dW, f"Layer {l}: new weights")
        db = eta * dl
        if p.update_bias:
            newb = upd.step(("bias", l), new("b", l), bs[l - 1] + db, f"Layer {l}: new biases")
        else:
            newb = sheet.result(("bias", l), L.b)
        nW, nb, dWv, dbv = ops.value(newW), ops.value(newb), ops.value(dW), ops.value(db)
        gWv, gbv = ops.value(gW), ops.value(gb)
        if m * n <= WEIGHT_ROWS:
            upd.table(["j", "i", r"\delta_j", r"y_i", r"\partial E / \partial w_{ji} = -\delta_j y_i",
                       r"\Delta w_{ji}", r"w_{ji}", new(r"w_{ji}")],
                      [[f"{j + 1}", f"{i + 1}", dv[j], yv[i], gWv[j, i], dWv[j, i], L.W[j, i], nW[j, i]]
                       for j in range(m) for i in range(n)], title=f"Layer {l}: weights")
        else:
            upd.text(f"Layer {l} has {m * n:,} weights: a table of every one would not be read; the results "
                     f"hold them all (weights[{l}], grad_weights[{l}]).", "note")
        upd.table(["j", r"\delta_j", r"\partial E / \partial b_{j} = -\delta_j", r"\Delta b_{j} = \eta \delta_j",
                   r"b_{j}", new(r"b_{j}")],
                  [[f"{j + 1}", dv[j], gbv[j], dbv[j], L.b[j], nb[j]] for j in range(m)], title=f"Layer {l}: biases")
        new_W[l - 1] = nW
        new_b[l - 1] = nb
    if not p.update_bias:
        upd.text("The biases are not updated: they keep their given values.", "note")

    vs_after, ys_after = forward(sheet.silent, p, new_W, new_b, p.x, after=True)
    after = sheet.section("Check: loss after the update")
    after.table(["layer", new("y")], [[l, yv] for l, yv in enumerate(ys_after[1:], start=1)],
                title="Forward pass of the updated network (same input)")
    y_after = components(after, new("y"), ys_after[-1])
    loss_after = after.step(("loss_after",), new("E"),
                            loss_rec.formula(dj, y_after, nn.log_terms(acts[-1], vs_after[-1], y_after)),
                            "Loss after the update", scalar=True)
    change = ops.value(loss_after) - ops.value(loss)
    after.text(("The loss went down, as one step of gradient descent should for a small enough $\\eta$."
                if change < 0 else
                "The loss did not go down: the learning rate is too large for this step."),
               "result" if change < 0 else "warning")


def components(page, base: str, value, l: int | None = None):
    """A vector named by its components for a formula summed over them (Σ_j d_j ln y_j^(2),
    not Σ_j d ln y): ``base`` with the subscript j (and the layer l); a single output keeps
    its plain name."""
    value = np.asarray(value, dtype=float)
    if value.size == 1:
        return page.sym(base if l is None else layer(base, l), value)
    if base.endswith("}") and "^{" in base:  # y^{\text{new}}: y_{j}^{\text{new}}
        head, sup = base.split("^{", 1)
        return page.sym(f"{head}_{{j}}^{{{sup}", value)
    return page.sym(f"{base}_{{j}}" + (f"^{{({l})}}" if l is not None else ""), value)


def _prime_tex(p: Problem, act: nn.Activation) -> str:
    """φ′ as the working writes it: a y (1 − y) for a sigmoid whose slope the file states."""
    if act.name == "sigmoid" and p.show_slope and p.slope == 1:
        return "a " + act.prime_tex
    return act.prime_tex


def _prime(p: Problem, act: nn.Activation, v, y):
    """φ′(v) from the library's record, with the sigmoid's slope a written even where it is
    1 when the file states it (seed 003: δ = e · a y (1 − y) = … (1) …)."""
    d = ops.prime(act, v, y)
    if act.name == "sigmoid" and p.show_slope and p.slope == 1 and isinstance(d, E.Mul):
        # a y (1 − y) = (1 · y) (1 − y): the same number as y (1 − y), bit for bit
        return E.Mul(E.Mul(E.Const(1.0, "a"), d.a), d.b, elementwise=d.elementwise)
    return d


def output_delta(p: Problem, act: nn.Activation, g, v, y):
    """δ = g ⊙ φ′(v) at the output layer in one line, φ′ written out with every factor, as
    Haykin and seed 003 write it: δ_j = e_j a y_j (1 − y_j) = 0.4773 · (1 · 0.5227 · (1 − 0.5227))."""
    return ops.odot(g, _prime(p, act, v, y))


def hidden_sum(Wnext, dnext):
    """Σ_k δ_k w_kj = (W^(l+1)ᵀ δ^(l+1))_j, in brackets evaluated on their own when there are
    several terms: φ′ · (0.4 · (−0.1385) + 0.5 · 0.0381) = φ′ · (−0.0364) = δ."""
    s = Wnext.T @ dnext
    return ops.group(s) if np.size(ops.value(dnext)) > 1 else s


def _dphi(sec, act: nn.Activation, v, y, l: int, p: Problem | None = None):
    """φ'(v^(l)) of a layer as a step, written as the library states it (in terms of the
    layer's outputs where the classic identity exists); 1 for a linear layer."""
    if act.identity_map:
        return ops.prime(act, v, y)
    d = _prime(p, act, v, y) if p is not None else ops.prime(act, v, y)
    return sec.step(None, r"\varphi'(" + layer("v", l) + ")", d, f"Derivative of the activation, layer {l}")
