"""kind: param_count — the trainable parameters of a network, layer by layer (seed 004's
g(m² + nm + m)).

A recurrent layer with g gate blocks (rnn 1, gru 3, lstm 4), m hidden units and input size n
has, per stacked layer and direction, g (m² + n m + m) parameters in the notes' count (one bias
vector per gate, as Keras's SimpleRNN and LSTM have) or g (m² + n m + 2m) in PyTorch's (two bias
vectors per gate, b_ih and b_hh); g (m² + n m) without biases. Stacked layers after the first
take n = m (2m when bidirectional). A dense layer has outputs × inputs + outputs, a conv2d layer
C_out C_in k_h k_w + C_out.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import ops
from ..given import Field, title

SUMMARY = "trainable parameters of a network: recurrent g(m² + nm + m), dense and conv2d layers, per layer and in total"
HEADLINE = "trainable parameters of a network, layer by layer"

GATES = {"rnn": 1, "gru": 3, "lstm": 4}
GATE_WORDS = {"rnn": "An Elman RNN layer has one block (g = 1): W (m × n), U (m × m)",
              "gru": "A GRU layer has g = 3 blocks (update z, reset r, candidate h̃), each with W (m × n), "
                     "U (m × m)",
              "lstm": "An LSTM layer has g = 4 blocks (forget f, input i, candidate g, output o), each with "
                      "W (m × n), U (m × m)"}
TYPES = ("dense", "rnn", "gru", "lstm", "conv2d")
KEYS = {"rnn": ("input_size", "hidden_size", "num_layers", "bidirectional"),
        "dense": ("inputs", "outputs"),
        "conv2d": ("in_channels", "out_channels", "kernel_size")}
KEYS["gru"] = KEYS["lstm"] = KEYS["rnn"]
MAX_SIZE = 1_000_000
MAX_STACK = 1_000
MAX_LAYERS = 1_000
BIAS_NOTE = ("The notes count one bias vector per gate, as Keras's SimpleRNN and LSTM do; PyTorch's "
             "nn.RNN, nn.GRU and nn.LSTM keep two, b_ih and b_hh, so g m more per layer and direction "
             "(Keras's GRU with reset_after=True, its default, has two as well).")

_SIZE = dict(minimum=1, maximum=MAX_SIZE)
_KERNEL = {"anyOf": [{"type": "integer", "minimum": 1},
                     {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 2, "maxItems": 2}]}

GIVEN = (
    title("My network"),
    Field("convention", "choice", "notes: one bias vector per gate, g(m² + nm + m) | pytorch: two "
          "(b_ih and b_hh) per gate, g(m² + nm + 2m)", choices=("notes", "pytorch"), default="notes",
          example="notes"),
    Field("layers", "list", "the layers, each counted on its own; type: dense | rnn | gru | lstm | conv2d",
          flow=True, what="a list of layers {type: …, …}",
          note="rnn/gru/lstm: input_size (n), hidden_size (m), num_layers (default 1), bidirectional "
               "(default false); dense: inputs, outputs; conv2d: in_channels, out_channels, kernel_size "
               "(k or [k_h, k_w]); every type: bias (default true)",
          example=[{"type": "lstm", "input_size": 10, "hidden_size": 20, "num_layers": 2,
                    "bidirectional": False, "bias": True},
                   {"type": "dense", "inputs": 20, "outputs": 5, "bias": True},
                   {"type": "conv2d", "in_channels": 3, "out_channels": 16, "kernel_size": 3, "bias": True}],
          fields=(
              Field("type", "choice", "the kind of layer", choices=TYPES),
              Field("input_size", "integer", "rnn/gru/lstm: n, the length of each input x_t", notation="n",
                    default=None, **_SIZE),
              Field("hidden_size", "integer", "rnn/gru/lstm: m, the number of hidden units", notation="m",
                    default=None, **_SIZE),
              Field("num_layers", "integer", "rnn/gru/lstm: stacked layers", default=1, minimum=1,
                    maximum=MAX_STACK),
              Field("bidirectional", "boolean", "rnn/gru/lstm: a second direction with its own weights",
                    default=False),
              Field("inputs", "integer", "dense: inputs of the layer", default=None, **_SIZE),
              Field("outputs", "integer", "dense: outputs (neurons) of the layer", default=None, **_SIZE),
              Field("in_channels", "integer", "conv2d: C_in, the input channels", default=None, **_SIZE),
              Field("out_channels", "integer", "conv2d: C_out, the filters", default=None, **_SIZE),
              Field("kernel_size", "any", "conv2d: k, or [k_h, k_w]", default=None, schema=_KERNEL),
              Field("bias", "boolean", "whether the layer has biases", default=True),
          )),
)


@dataclass
class Layer:
    type: str
    bias: bool
    n: int = 0           # input size (recurrent), inputs (dense), C_in (conv2d)
    m: int = 0           # hidden size (recurrent), outputs (dense), C_out (conv2d)
    num_layers: int = 1
    directions: int = 1
    kernel: tuple = ()


@dataclass
class Problem:
    convention: str
    layers: list


def _words(types) -> str:
    types = list(types)
    return types[0] if len(types) == 1 else ", ".join(types[:-1]) + " and " + types[-1]


def _kernel(lr, path):
    value = lr.raw("kernel_size", what="the kernel size, a whole number or [k_h, k_w]")
    where = path + ("kernel_size",)
    ok = lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= MAX_SIZE
    if ok(value):
        return (value, value)
    if isinstance(value, float) and value.is_integer() and ok(int(value)):
        return (int(value), int(value))
    if isinstance(value, list) and len(value) == 2 and all(ok(v) or (isinstance(v, float) and v.is_integer()
                                                               and ok(int(v))) for v in value):
        return (int(value[0]), int(value[1]))
    raise lr.error(where, f"expected the kernel size: a whole number k ≥ 1 (a k × k kernel) or [k_h, k_w], "
                          f"got {value!r}")


def read(r, kind):
    convention = r.field("convention")
    items = r.items("layers", what=r.fields["layers"].what)
    if len(items) > MAX_LAYERS:
        raise r.error(("layers",), f"expected at most {MAX_LAYERS} layers, got {len(items)}")
    layers = []
    for path, item in items:
        lr = r.element(path, item)
        t = lr.field("type")
        lr.finish()  # an unknown key first (a typo of a key the type needs reads better so)
        own = KEYS[t]
        for key in ("input_size", "hidden_size", "num_layers", "bidirectional", "inputs", "outputs",
                    "in_channels", "out_channels", "kernel_size"):
            if key not in own and lr.has(key):
                users = [u for u in TYPES if key in KEYS[u]]
                raise lr.error(path + (key,), f"'{key}' is a key of {_words(users)} layers; a {t} layer takes "
                                              f"{', '.join(own)} (and bias)")
        bias = lr.field("bias")
        if t in GATES:
            n = _required(lr, "input_size", "n, the length of each input x_t")
            m = _required(lr, "hidden_size", "m, the number of hidden units")
            layers.append(Layer(t, bias, n, m, lr.field("num_layers"), 2 if lr.field("bidirectional") else 1))
        elif t == "dense":
            layers.append(Layer(t, bias, _required(lr, "inputs", "the number of inputs"),
                                _required(lr, "outputs", "the number of outputs")))
        else:
            n = _required(lr, "in_channels", "C_in, the number of input channels")
            m = _required(lr, "out_channels", "C_out, the number of filters")
            layers.append(Layer(t, bias, n, m, kernel=_kernel(lr, path)))
        lr.finish()
    return Problem(convention, layers)


def _required(lr, key, what):
    if not lr.has(key):
        raise lr.error(lr.path, f"missing key '{key}': expected {what}, a whole number ≥ 1")
    return lr.field(key, what=f"{what}, a whole number ≥ 1")


# -- the formulas, each stated once ------------------------------------------------------------

def recurrent(g, m, n, bias, two):
    """Parameters of one recurrent layer and direction: g (m² + n m [+ m | + 2m])."""
    core = m ** 2 + n * m
    if bias:
        core = core + (ops.const(2.0, "2", like=m) * m if two else m)
    return g * core


def dense(n_in, n_out, bias):
    return n_out * n_in + n_out if bias else n_out * n_in


def conv(c_in, c_out, kh, kw, bias):
    w = c_out * c_in * kh * kw
    return w + c_out if bias else w


def _count(v):
    """A count as a whole number (a given non-integral value stays as it is)."""
    x = float(np.asarray(ops.value(v)).reshape(-1)[0])
    return int(x) if x.is_integer() else x


BIG = 10 ** 7  # from here on the working's numbers are written 4.400 × 10⁷ (nnsolve.numfmt)


def _in_full(page, tex, count) -> None:
    """A count of 10⁷ or more, also written out in full (the formula's value reads 4.400 × 10⁷)."""
    if isinstance(count, int) and count >= BIG:
        page.text(f"${tex}$ = {count:,} in full.")


def _cell(count):
    """A count for a table: a whole number of 10⁷ or more as text with thousands separators."""
    return f"{count:,}" if isinstance(count, int) and count >= BIG else count


def _plural(k: int, one: str, many: str | None = None) -> str:
    return f"{k} {one if k == 1 else many or one + 's'}"


def _int(x) -> str:
    return f"{int(x):,}"


# -- the working -------------------------------------------------------------------------------

def solve(p: Problem, sheet) -> None:
    pytorch = p.convention == "pytorch"
    intro = sheet.section("Problem")
    rows = []
    for k, L in enumerate(p.layers, start=1):
        if L.type in GATES:
            sizes = (f"n = {L.n}, m = {L.m}" + (f", {L.num_layers} stacked" if L.num_layers > 1 else "")
                     + (", bidirectional" if L.directions == 2 else ""))
        elif L.type == "dense":
            sizes = f"{_plural(L.n, 'input')} → {_plural(L.m, 'output')}"
        else:
            sizes = f"{L.n} → {L.m} channels, kernel {L.kernel[0]} × {L.kernel[1]}"
        rows.append([k, L.type, sizes, "yes" if L.bias else "no"])
    intro.table(["layer", "type", "sizes", "bias"], rows)
    intro.text("Convention: " + ("PyTorch's, two bias vectors (b_ih and b_hh) per gate of a recurrent layer."
                                 if pytorch else "the notes', one bias vector per gate of a recurrent layer."))

    recurrent_types = [L for L in p.layers if L.type in GATES]

    def rules(page):
        g, m, n = page.sym("g", 4.0), page.sym("m", 1.0), page.sym("n", 1.0)
        if recurrent_types:
            page.step(None, "P", recurrent(g, m, n, True, False), "recurrent layer, the notes (per direction)")
            page.step(None, "P", recurrent(g, m, n, True, True), "recurrent layer, PyTorch (per direction)")
            page.step(None, "P", recurrent(g, m, n, False, False), "recurrent layer without biases")
        if any(L.type == "dense" for L in p.layers):
            page.step(None, "P", dense(page.sym(r"n_{\text{in}}", 1.0), page.sym(r"n_{\text{out}}", 1.0), True),
                      "dense layer (W is outputs × inputs, one bias per output)")
        if any(L.type == "conv2d" for L in p.layers):
            page.step(None, "P", conv(page.sym(r"C_{\text{in}}", 1.0), page.sym(r"C_{\text{out}}", 1.0),
                                      page.sym(r"k_{1}", 1.0), page.sym(r"k_{2}", 1.0), True),
                      "conv2d layer (one $k_1 \\times k_2$ kernel per input and output channel, one bias per filter)")
        if recurrent_types:
            page.text("g = 1 (rnn), 3 (gru), 4 (lstm): the blocks W (m × n), U (m × m) and bias of each gate; "
                      "m: the hidden units; n: the input length. A stacked layer after the first takes the "
                      "layer below's hidden state as its input: n = m, or 2m when bidirectional.", "note")
    sheet.rules("Counting rules", rules)

    counts, other = [], []
    for k, L in enumerate(p.layers, start=1):
        page = sheet.section(f"Layer {k}: {L.type}", level=3, detail=True)
        path = ("per_layer", k)
        if L.type in GATES:
            mine, theirs = _recurrent_layer(page, sheet, k, L, path, pytorch)
        elif L.type == "dense":
            page.text(f"W is {L.m} × {L.n} (outputs × inputs)" + (f", b has {_plural(L.m, 'entry', 'entries')}."
                                                                   if L.bias else "; no bias."))
            q = page.step(path, f"P_{{{k}}}", dense(page.sym(r"n_{\text{in}}", float(L.n)),
                                                  page.sym(r"n_{\text{out}}", float(L.m)), L.bias), scalar=True)
            mine = theirs = _count(q)
            sheet.result(path, mine, exact=True)
            _in_full(page, f"P_{{{k}}}", mine)
            page.text("nn.Linear and Keras's Dense count the same.", "note")
        else:
            kh, kw = L.kernel
            page.text(f"{L.m} filters, each {L.n} × {kh} × {kw}" + (", and one bias per filter." if L.bias else "; no bias."))
            q = page.step(path, f"P_{{{k}}}", conv(page.sym(r"C_{\text{in}}", float(L.n)),
                                                 page.sym(r"C_{\text{out}}", float(L.m)),
                                                 page.sym(r"k_{1}", float(kh)), page.sym(r"k_{2}", float(kw)), L.bias),
                          scalar=True)
            mine = theirs = _count(q)
            sheet.result(path, mine, exact=True)
            _in_full(page, f"P_{{{k}}}", mine)
        counts.append(mine)
        other.append(theirs)

    end = sheet.section("Total")
    expr = end.sym("P_{1}", float(counts[0]))
    for k, c in enumerate(counts[1:], start=2):
        expr = expr + end.sym(f"P_{{{k}}}", float(c))
    total = end.step(("total",), "P", expr, "All layers", scalar=True)
    sheet.result(("total",), _count(total), exact=True)
    t = _count(total)
    _in_full(end, "P", t)
    end.text(f"The network has {_int(t) if isinstance(t, int) else t} trainable parameters.", "result")
    if any(a != b for a, b in zip(counts, other)):
        name = "the notes'" if pytorch else "PyTorch's"
        end.table(["layer", "type", "notes", "PyTorch"],
                  [[k, L.type, _cell(b if pytorch else a), _cell(a if pytorch else b)]
                   for k, (L, a, b) in enumerate(zip(p.layers, counts, other), start=1)]
                  + [["total", "", _cell(sum(other) if pytorch else sum(counts)),
                      _cell(sum(counts) if pytorch else sum(other))]],
                  title="The two conventions side by side")
        end.text(f"With {name} count the network would have {_int(sum(other))} parameters.", "note")


def _recurrent_layer(page, sheet, k, L: Layer, path, pytorch: bool):
    """The count of one recurrent entry (all its stacked layers and directions) in the chosen
    convention, as steps; the other convention's beside it. Returns (chosen, other)."""
    g_ = GATES[L.type]
    page.text(GATE_WORDS[L.type] + (" and its bias." if L.bias else "; no biases."))
    g, m, n = page.sym("g", float(g_)), page.sym("m", float(L.m)), page.sym("n", float(L.n))
    D, stack = L.directions, L.num_layers
    single = D == 1 and stack == 1
    if D == 2:
        page.text("Bidirectional: D = 2 directions, a forward and a backward copy of every layer, each with "
                  "its own weights.")
    per = ", per direction" if D == 2 else ""
    first = page.step(path if single else None, f"P_{{{k}}}" if single else f"P_{{{k}}}^{{(1)}}",
                      recurrent(g, m, n, L.bias, pytorch),
                      f"First layer{per}" if not single else "", scalar=True)
    parts = [first]
    if stack > 1:
        n_up = page.sym("n'", float(D * L.m))
        upper_words = "Layer 2 takes" if stack == 2 else f"Layers 2 … {stack} take"
        page.text(f"{upper_words} the hidden state of the layer below as input: "
                  f"n' = {'2m' if D == 2 else 'm'} = {D * L.m}.")
        upper = page.step(None, f"P_{{{k}}}^{{(2)}}", recurrent(g, m, n_up, L.bias, pytorch),
                          (f"Layer 2{per}" if stack == 2 else f"Each of layers 2 … {stack}{per}"), scalar=True)
        parts.append(upper)
    if not single:
        Dsym = page.sym("D", float(D))
        inner = parts[0] if stack == 1 else parts[0] + page.sym(r"\left(L - 1\right)", float(stack - 1)) * parts[1]
        total = page.step(path, f"P_{{{k}}}", Dsym * inner if D > 1 else inner,
                          f"The whole entry: D = {D} direction{'s' if D > 1 else ''}, L = {stack} layer{'s' if stack > 1 else ''}",
                          scalar=True)
    else:
        total = first
    mine = _count(total)
    sheet.result(path, mine, exact=True)
    _in_full(page, f"P_{{{k}}}", mine)
    if not L.bias:
        page.text("Without biases the notes and PyTorch agree: g (m² + n m) per layer and direction.", "note")
        return mine, mine
    # the other convention, with the same formula, in one line
    name = "the notes (one bias per gate)" if pytorch else "PyTorch (b_ih and b_hh)"
    theirs = page.step(None, rf"P_{{{k}}}^{{\text{{{'notes' if pytorch else 'PyTorch'}}}}}",
                       entry(page, L, not pytorch), f"For comparison, {name}", scalar=True)
    _in_full(page, rf"P_{{{k}}}^{{\text{{{'notes' if pytorch else 'PyTorch'}}}}}", _count(theirs))
    page.text(BIAS_NOTE, "note")
    return mine, _count(theirs)


def entry(page, L: Layer, two: bool):
    """A whole recurrent entry in one formula: D (P(n) + (L − 1) P(n'))."""
    g, m, n = page.sym("g", float(GATES[L.type])), page.sym("m", float(L.m)), page.sym("n", float(L.n))
    out = recurrent(g, m, n, L.bias, two)
    if L.num_layers > 1:
        out = out + page.sym(r"\left(L - 1\right)", float(L.num_layers - 1)) * recurrent(g, m, page.sym("n'", float(L.directions * L.m)),
                                                                          L.bias, two)
    if L.directions > 1:
        out = page.sym("D", float(L.directions)) * out
    return out
