"""kind: graph — a computation graph, forward and backward (seed 003's a = relu(w·x + b)).

The expression is checked by the project's whitelist (:func:`nnsolve.derive.safe_parse.check`:
plain Python parsing, nothing is evaluated), and the checked text's syntax tree is walked
here to build the graph: one node per operation, in forward (topological) order, a
subexpression written twice being one node used twice. No SymPy is imported: every value
and every local derivative is a formula of :mod:`nnsolve.ops` on the recorder, with the
activations and losses taken from the records of :mod:`nnsolve.nn`.

The working: each node's forward value; then backwards, from ∂a/∂a = 1, each node's
∂a/∂node by the chain rule, the sum over the nodes it feeds of ∂a/∂(consumer) times the
local derivative of that edge (weight sharing: several terms); the variables last.

A loss takes two arguments, the target first, as the notes write L(y, ŷ) and the library's
records take (d, y): ``half_sse(d, a)``. The whitelist's extra functions take one argument,
so the check is run on a copy of the text in which the four loss names are spelled as the
whitelisted two-argument functions Max, max, Min, min (which a graph itself does not allow,
so the spelling is unambiguous); the tree is then read back with the loss names.
"""
from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass, field

import numpy as np

from .. import nn, ops
from ..errors import InputError
from ..expr import Const, Sym
from ..given import Field, title

SUMMARY = "a computation graph: each node's forward value, then backwards the local derivatives and ∂a/∂node"
HEADLINE = "a computation graph, forward and backward"

MAX_VALUES = 200
MAX_PATHS = 6  # the chain rule written as a sum over paths in symbols up to this many paths

UNARY = ("exp", "log", "sqrt", "abs")
ALIASES = {"sigma": "sigmoid", "ln": "log", "Abs": "abs"}
_PLACEHOLDER = {"half_sse": "Max", "mse": "max", "bce": "Min", "cross_entropy": "min"}
_BACK = {v: k for k, v in _PLACEHOLDER.items()}
OUTPUT_NAMES = ("a", "f", "y_out")
LOSS_OUTPUT_NAMES = ("L", "J", "E")
POOL = ("u", "v", "p", "q", "r", "s", "t", "g", "h", "m", "n", "k", "z", "c")


def activation_names() -> list[str]:
    """The activations a graph may call: every elementwise record of the library."""
    return nn.activation_names(elementwise_only=True)


def loss_names() -> list[str]:
    return nn.loss_names()


def function_names() -> list[str]:
    return activation_names() + loss_names() + list(UNARY)


def _allowed_text() -> str:
    return (f"numbers; variables (one letter with an optional index: x, w1, w_1; a Greek name: alpha; y_hat); "
            f"+ - * / and ** (or ^) with a whole-number exponent; parentheses; the activations "
            f"{', '.join(activation_names())} (sigma for sigmoid); the losses {', '.join(loss_names())} "
            f"(two arguments, the target first: half_sse(d, a)); exp, log (= ln), sqrt, abs; the constants e and pi")


GIVEN = (
    title("Computation graph"),
    Field("expression", "string", "the function a of the variables, e.g. relu(w*x + b)",
          example="relu(w*x + b)", what="an expression such as relu(w*x + b)",
          note="functions: the activations and losses of the library (a loss takes the target first: "
               "half_sse(d, a)), exp, log, sqrt, abs; ** takes a whole-number exponent"),
    Field("values", "any", "the value of every variable of the expression", example={"x": 3, "w": 2, "b": 1},
          flow=True, what="a mapping of each variable of the expression to its value, e.g. {x: 3, w: 2, b: 1}",
          schema={"type": "object", "minProperties": 1, "additionalProperties": {"type": "number"}}),
    Field("wrt", "list", "the variables to differentiate with respect to", of="string", default=None,
          default_text="every variable, in the order of values", example=["w", "b"],
          what="a list of variables of the expression, e.g. [w, b]",
          schema={"anyOf": [{"type": "string"}, {"type": "array", "minItems": 1, "items": {"type": "string"}}]}),
    Field("names", "list", "names of the operation nodes in forward order (instead of u, v, …, a)",
          of="string", default=None, default_text="u, v, p, q, …; a for the output, L for a loss",
          example=["u", "v", "a"], template="comment", what="a list of node names, one per operation node"),
)


# -- the graph ---------------------------------------------------------------------------------

@dataclass
class Node:
    op: str                 # add sub mul div neg pow exp log sqrt abs, an activation or a loss name
    args: tuple             # operands: ("var", name) | ("const", value, tex) | ("node", index)
    k: int | None = None    # pow: the exponent
    name: str = ""
    consumers: list = field(default_factory=list)  # indices of the nodes this one feeds, in forward order


@dataclass
class Problem:
    text: str
    nodes: list
    root: tuple                  # the operand that is the expression's value
    values: dict                 # variable -> float, in the order of the file
    wrt: list
    variables: list              # of the expression, in order of first appearance
    var_consumers: dict          # variable -> nodes it feeds


class _Refuse(Exception):
    pass


def _refuse(message: str):
    raise _Refuse(message)


def _is_const(o) -> bool:
    return o[0] == "const"


def _fold(op: str, vals: list, k=None) -> float:
    """The value of an operation on numbers only (a constant part of the expression)."""
    with np.errstate(all="ignore"):
        v = _numeric(op, [np.asarray(x, dtype=float) for x in vals], k)
    v = float(v)
    if not math.isfinite(v):
        _refuse("a constant part of the expression is not a finite number (a division by zero, or a "
                "logarithm or square root out of its domain)")
    return v


def _numeric(op: str, vals, k=None):
    forms = _forward_formula(Node(op, (), k), vals)
    return ops.value(forms)


class _Builder:
    def __init__(self):
        self.nodes: list[Node] = []
        self.index: dict = {}
        self.variables: list[str] = []

    def node(self, op: str, args: tuple, k=None) -> tuple:
        key = (op, args, k)
        if key in self.index:
            return ("node", self.index[key])
        self.nodes.append(Node(op, args, k))
        self.index[key] = len(self.nodes) - 1
        return ("node", len(self.nodes) - 1)

    def visit(self, n) -> tuple:
        if isinstance(n, ast.Expression):
            return self.visit(n.body)
        if isinstance(n, ast.Constant):
            return ("const", float(n.value), None)
        if isinstance(n, ast.Name):
            if n.id in ("e", "E"):
                return ("const", math.e, "e")
            if n.id == "pi":
                return ("const", math.pi, r"\pi")
            if n.id not in self.variables:
                self.variables.append(n.id)
            return ("var", n.id)
        if isinstance(n, ast.UnaryOp):
            o = self.visit(n.operand)
            if isinstance(n.op, ast.UAdd):
                return o
            if _is_const(o):
                return ("const", -o[1], None)
            return self.node("neg", (o,))
        if isinstance(n, ast.BinOp):
            op = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow"}[type(n.op)]
            a = self.visit(n.left)
            if op == "pow":
                b = self.visit(n.right)
                if not _is_const(b):
                    _refuse("an exponent must be a number (x**2), not contain a variable")
                if not float(b[1]).is_integer() or abs(b[1]) > 100:
                    _refuse(f"an exponent must be a whole number (at most 100 in size), not {b[1]:g}; "
                            "write sqrt(x) for x**0.5")
                k = int(b[1])
                if _is_const(a):
                    return ("const", _fold("pow", [a[1]], k), None)
                return self.node("pow", (a,), k)
            b = self.visit(n.right)
            if _is_const(a) and _is_const(b):
                return ("const", _fold(op, [a[1], b[1]]), None)
            return self.node(op, (a, b))
        if isinstance(n, ast.Call):
            name = n.func.id
            name = _BACK.get(name, ALIASES.get(name, name))
            args = [self.visit(a) for a in n.args]
            want = 2 if name in loss_names() else 1
            if len(args) != want:
                _refuse(f"{name} takes {want} argument{'s' if want > 1 else ''}, not {len(args)}"
                        + (" (the target first, then the prediction: half_sse(d, a))" if want == 2 else ""))
            if name not in function_names():
                _refuse(f"{name} is not a function of a computation graph")
            if all(_is_const(a) for a in args):
                return ("const", _fold(name, [a[1] for a in args]), None)
            return self.node(name, tuple(args))
        _refuse(f"{type(n).__name__} is not part of an expression")


def parse(text: str):
    """Check TEXT with the whitelist and build its graph: (nodes, root operand, variables).
    Raises InputError (without a file) with the reason."""
    from ..derive import safe_parse
    allowed = set(function_names()) | set(ALIASES)
    for m in re.finditer(r"[A-Za-z_][A-Za-z0-9_]*", text if isinstance(text, str) else ""):
        word = m.group(0)
        if (word in safe_parse.FUNCTIONS or word in _BACK) and word not in allowed:
            raise InputError(f"{word} is not a function of a computation graph. Allowed: {_allowed_text()}.")
    spelled = re.sub(r"\b(" + "|".join(_PLACEHOLDER) + r")\b", lambda m: _PLACEHOLDER[m.group(1)], text)
    try:
        checked = safe_parse.check(spelled, tuple(activation_names()))
    except InputError as err:
        reason = err.message.split(". Allowed in an expression:")[0]
        for placeholder, name in _BACK.items():
            reason = re.sub(rf"\b{placeholder}\b", name, reason)
        reason = reason.replace("takes 2 to 10 arguments", "takes 2 arguments")
        raise InputError(f"{reason}. Allowed: {_allowed_text()}.") from None
    if not checked.variables:
        raise InputError("the expression has no variables: there is nothing to differentiate")
    tree = ast.parse(checked.text, mode="eval")  # parsing runs nothing; check validated every node
    b = _Builder()
    try:
        root = b.visit(tree)
    except _Refuse as err:
        raise InputError(f"{err}. Allowed: {_allowed_text()}.") from None
    except RecursionError:
        raise InputError("the expression is nested too deeply") from None
    return b.nodes, root, b.variables


# -- reading -------------------------------------------------------------------------------------

def _tex(name: str) -> str:
    """A variable or node name as LaTeX: w_1 and w1 -> w_{1}, alpha -> \\alpha, y_hat -> \\hat{y}."""
    m = re.fullmatch(r"([A-Za-z]+?)_?hat", name)
    if m and len(m.group(1)) == 1:
        return rf"\hat{{{m.group(1)}}}"
    from ..derive.safe_parse import GREEK
    m = re.fullmatch(r"([A-Za-z]+?)_?([0-9]+)", name) or re.fullmatch(r"([A-Za-z]+)_([A-Za-z][A-Za-z0-9]*)", name)
    base, sub = (m.group(1), m.group(2)) if m else (name, None)
    base = "\\" + base if base in GREEK else base if len(base) == 1 else rf"\mathrm{{{base}}}"
    return base if sub is None else f"{base}_{{{sub}}}"


def _kind_of(value) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, str):
        return f"the text '{value[:30]}'"
    if value is None:
        return "nothing (null)"
    return repr(value)


def _read_values(r, variables):
    from ..derive.safe_parse import is_variable
    what = r.fields["values"].what
    raw = r.raw("values", what=what)
    if not isinstance(raw, dict) or not raw:
        raise r.error(("values",), f"expected {what}, got {'an empty mapping' if isinstance(raw, dict) else _kind_of(raw)}")
    if len(raw) > MAX_VALUES:
        raise r.error(("values",), f"expected at most {MAX_VALUES} variables, got {len(raw)}")
    values = {}
    for key, v in raw.items():
        name = str(key)
        if isinstance(key, bool) or not is_variable(name):
            hint = " (e and E are Euler's number, pi is π)" if name in ("e", "E", "pi") else ""
            raise r.error(("values", key), f"'{name}' cannot be a variable of an expression{hint}: a variable is "
                                           "one letter with an optional index (x, w1, w_1), a Greek name "
                                           "(alpha, beta_1) or y_hat")
        if name not in variables:
            raise r.error(("values", key), f"the expression does not use '{name}' (its variables are "
                                           f"{', '.join(variables)})")
        values[name] = r._to_number(v, ("values", key), f"a number, the value of {name}")
    missing = [v for v in variables if v not in values]
    if missing:
        raise r.error(("values",), f"missing a value for {', '.join(missing)}: every variable of the expression "
                                   f"needs one (the expression uses {', '.join(variables)})")
    return values


def _read_names(r, variables, nodes, root):
    if not r.has("names"):
        return None
    items = r.items("names", what=r.fields["names"].what)
    if len(items) != len(nodes):
        p = Problem("", nodes, root, {}, [], variables, {})
        listed = "; ".join(f"{n.name} = {describe(p, n)}" for n in nodes) or "none: the expression is one variable"
        raise r.error(("names",), f"expected {len(nodes)} name{'s' if len(nodes) != 1 else ''}, one per operation "
                                  f"node in forward order (the nodes: {listed}), got {len(items)}")
    out = []
    for path, v in items:
        if not isinstance(v, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]{1,3})?", v):
            raise r.error(path, f"expected a node name: a letter, then letters or digits, with an optional "
                                f"index after _ (u, z1, a_2), got {_kind_of(v)}")
        if v in variables:
            raise r.error(path, f"'{v}' is a variable of the expression: a node needs a name of its own")
        if v in out:
            raise r.error(path, f"the name '{v}' is given twice")
        out.append(v)
    return out


def _default_names(nodes, variables):
    taken = set(variables)
    last = nodes[-1]
    out_names = LOSS_OUTPUT_NAMES if last.op in loss_names() else OUTPUT_NAMES
    out = next(nm for nm in out_names if nm not in taken)
    taken.add(out)
    pool = [nm for nm in POOL if nm not in taken]
    names = []
    extra = 0
    for _ in nodes[:-1]:
        if pool:
            names.append(pool.pop(0))
        else:
            extra += 1
            while f"n_{extra}" in taken:
                extra += 1
            names.append(f"n_{extra}")
    return names + [out]


def read(r, kind):
    text = r.field("expression")
    try:
        nodes, root, variables = parse(text)
    except InputError as err:
        raise r.error(("expression",), err.message) from None
    values = _read_values(r, variables)
    if r.has("wrt"):
        raw = r.raw("wrt")
        items = [(("wrt",), raw)] if isinstance(raw, str) else r.items("wrt", what=r.fields["wrt"].what)
        wrt = []
        for path, v in items:
            if not isinstance(v, str) or v not in variables:
                got = f"'{v}' is not one" if isinstance(v, str) else f"got {_kind_of(v)}"
                raise r.error(path, f"expected a variable of the expression ({', '.join(variables)}): {got}")
            if v in wrt:
                raise r.error(path, f"'{v}' is given twice")
            wrt.append(v)
    else:
        wrt = list(values)
    if nodes:
        for n, nm in zip(nodes, _default_names(nodes, variables)):
            n.name = nm
    names = _read_names(r, variables, nodes, root)
    for n, nm in zip(nodes, names or ()):
        n.name = nm
    var_consumers = {v: [] for v in variables}
    for i, n in enumerate(nodes):
        for o in dict.fromkeys(n.args):
            if o[0] == "node" and i not in nodes[o[1]].consumers:
                nodes[o[1]].consumers.append(i)
            elif o[0] == "var" and i not in var_consumers[o[1]]:
                var_consumers[o[1]].append(i)
    p = Problem(text, nodes, root, values, wrt, variables, var_consumers)
    _check_domain(r, p)
    return p


def _check_domain(r, p: Problem) -> None:
    """Every forward value and every local derivative must be a finite number at the given values."""
    with np.errstate(all="ignore"):
        vals = forward_values(p)
        for i, n in enumerate(p.nodes):
            v = vals[("node", i)]
            if not np.isfinite(v):
                raise r.error(("values",), f"with these values the node {n.name} = {describe(p, n)} is not a finite "
                                           f"number (it is {v}): {_domain_hint(n)}")
            for o, local in local_derivatives(p, i, {k: np.asarray(x) for k, x in vals.items()}).items():
                d = float(ops.value(local))
                if not np.isfinite(d):
                    raise r.error(("values",), f"with these values the local derivative ∂{n.name}/∂{_operand_name(p, o)} "
                                               f"of {n.name} = {describe(p, n)} is not a finite number ({d}): "
                                               f"{_domain_hint(n)}")


def _domain_hint(n: Node) -> str:
    return {"log": "the logarithm needs a positive argument",
            "sqrt": "the square root needs a non-negative argument, and has no finite derivative at 0",
            "div": "a division by zero",
            "pow": "a negative power of zero",
            "exp": "the exponential overflows float64",
            "bce": "binary cross-entropy needs a prediction strictly between 0 and 1",
            "cross_entropy": "cross-entropy needs a positive prediction"}.get(n.op, "out of float64's range")


# -- the formulas: one place for the forward value and the local derivatives ------------------

def _const(value, tex, like):
    return ops.const(value, tex, like=like)


def _forward_formula(n: Node, args):
    """The node's value as a formula of its operands (Sym, Const or arrays)."""
    op = n.op
    if op == "add":
        return args[0] + args[1]
    if op == "sub":
        return args[0] - args[1]
    if op == "mul":
        return args[0] * args[1]
    if op == "div":
        return args[0] / args[1]
    if op == "neg":
        return -args[0]
    if op == "pow":
        return args[0] ** n.k
    if op == "exp":
        return ops.exp(args[0])
    if op == "log":
        return ops.log(args[0])
    if op == "sqrt":
        return ops.sqrt(args[0])
    if op == "abs":
        return ops.func(r"\operatorname{abs}", np.abs, args[0])
    if op in loss_names():
        return nn.loss(op).formula(args[0], args[1])
    act = nn.activation(op)
    if act.identity_map:
        return ops.func(act.tex, act.value, args[0])
    return ops.apply(act, args[0])


def _target_grad(op: str, d, y):
    """∂L/∂d of a loss L(d, y) with one output: the target's local derivative."""
    if op == "half_sse":
        return d - y
    if op == "mse":
        return _const(2.0, None, y) * (d - y)
    if op == "bce":
        return ops.log(1 - y) - ops.log(y)
    return -ops.log(y)  # cross_entropy: L = −d ln y


def _slot_derivative(n: Node, slot: int, args, out):
    """∂node/∂(operand in ``slot``), holding the other operands fixed; ``out`` is the node's value."""
    op = n.op
    one = lambda: _const(1.0, None, out)
    if op == "add":
        return one()
    if op == "sub":
        return one() if slot == 0 else _const(-1.0, None, out)
    if op == "mul":
        return args[1 - slot]
    if op == "div":
        return one() / args[1] if slot == 0 else -(args[0] / args[1] ** 2)
    if op == "neg":
        return _const(-1.0, None, out)
    if op == "pow":
        k = n.k
        if k == 0:
            return _const(0.0, None, out)
        if k == 1:
            return one()
        if k == 2:
            return _const(2.0, None, out) * args[0]
        return _const(float(k), None, out) * args[0] ** (k - 1)
    if op == "exp":
        return ops.exp(args[0])
    if op == "log":
        return one() / args[0]
    if op == "sqrt":
        return one() / (_const(2.0, None, out) * ops.sqrt(args[0]))
    if op == "abs":
        return ops.func(r"\operatorname{sgn}", np.sign, args[0])
    if op in loss_names():
        rec = nn.loss(op)
        return _target_grad(op, args[0], args[1]) if slot == 0 else rec.grad(args[0], args[1])
    return ops.prime(nn.activation(op), args[0], out)


def local_derivatives(p: Problem, i: int, quantities: dict) -> dict:
    """{operand: ∂node_i/∂operand} for each distinct variable or node operand of node i, an
    operand in several slots (x * x) getting the sum over its slots. ``quantities``: operand
    -> its quantity (Sym or array), the node's own included."""
    n = p.nodes[i]
    out = quantities[("node", i)]
    args = [_operand(o, quantities, out) for o in n.args]
    derivs: dict = {}
    for slot, o in enumerate(n.args):
        if _is_const(o):
            continue
        d = _slot_derivative(n, slot, args, out)
        derivs[o] = d if o not in derivs else derivs[o] + d
    return derivs


def _operand(o, quantities, like):
    if _is_const(o):
        return _const(o[1], o[2], like)
    return quantities[o]


def _operand_name(p: Problem, o) -> str:
    return o[1] if o[0] == "var" else p.nodes[o[1]].name if o[0] == "node" else f"{o[1]:g}"


def describe(p: Problem, n: Node) -> str:
    """The node in plain text, in its operands' names: w*x, u + b, relu(v)."""
    a = [_operand_name(p, o) for o in n.args]
    if n.op in ("add", "sub", "mul", "div"):
        return f"{a[0]} {dict(add='+', sub='-', mul='*', div='/')[n.op]} {a[1]}"
    if n.op == "neg":
        return f"-{a[0]}"
    if n.op == "pow":
        return f"{a[0]}**{n.k}"
    return f"{n.op}({', '.join(a)})"


def forward_values(p: Problem) -> dict:
    """Every operand's value (plain floats), computed with the same formulas as the working."""
    vals = {("var", v): np.asarray(x, dtype=float) for v, x in p.values.items()}
    for i, n in enumerate(p.nodes):
        like = np.asarray(0.0)
        args = [_operand(o, vals, like) for o in n.args]
        vals[("node", i)] = np.asarray(ops.value(_forward_formula(n, args)), dtype=float)
    return vals


# -- the working -----------------------------------------------------------------------------------

_LABEL = {"add": "sum", "sub": "difference", "mul": "product", "div": "quotient", "neg": "negative",
          "pow": "power", "exp": "exponential", "log": "natural logarithm", "sqrt": "square root",
          "abs": "absolute value"}


def _label(n: Node) -> str:
    if n.op in _LABEL:
        return _LABEL[n.op]
    if n.op in loss_names():
        return f"loss: {nn.loss(n.op).title}"
    return f"activation: {n.op}"


def _partial(top: str, bottom: str) -> str:
    return rf"\frac{{\partial {top}}}{{\partial {bottom}}}"


def solve(p: Problem, sheet) -> None:
    from ..render.formula import symbolic
    names = {("var", v): _tex(v) for v in p.variables}
    for i, n in enumerate(p.nodes):
        names[("node", i)] = _tex(n.name)
    N = len(p.nodes)
    out_tex = names[p.root]
    m = lambda key: f"${names[key]}$"

    intro = sheet.section("Problem")
    intro.text(f"The expression {p.text.strip()!r} at the values below; the gradient with respect to "
               + ", ".join(m(("var", v)) for v in p.wrt) + ".")
    if len(p.values) <= 10:
        intro.table([names[("var", v)] for v in p.values], [list(p.values.values())])
    else:
        intro.table(["variable", "value"], [[m(("var", v)), x] for v, x in p.values.items()])

    if not N:  # a single variable: a = x
        v = p.root[1]
        page = sheet.section("Forward and backward")
        page.text(f"The expression is the variable {m(p.root)} itself: no operation, and "
                  f"${_partial(out_tex, out_tex)} = 1$.", "note")
        sheet.result(("value",), p.values[v], scalar=True)
        for w in p.wrt:
            sheet.result(("gradients", w), 1.0 if w == v else 0.0, scalar=True)
        sheet.result(("nodes",), [], exact=True)
        return

    vals = {("var", v): np.asarray(x, dtype=float) for v, x in p.values.items()}
    symbols = {k: Sym(names[k], vals[k]) for k in vals}
    node_tex = []  # each node's operation in its operands' symbols: w x, u + b, ReLU(v)
    for i, n in enumerate(p.nodes):
        symbols[("node", i)] = Sym(names[("node", i)], 0.0)
        node_tex.append(symbolic(_forward_formula(n, [_operand(o, symbols, symbols[("node", i)]) for o in n.args])))
    op_text = lambda i: f"${names[('node', i)]} = {node_tex[i]}$"

    def graph_rules(page):
        q = {k: page.sym(names[k], vals[k]) for k in vals}
        like = next(iter(q.values()))
        whole = {}
        for i, n in enumerate(p.nodes):  # the whole expression as one formula, for its statement
            whole[("node", i)] = _forward_formula(n, [_operand(o, whole if o[0] == "node" else q, like)
                                                      for o in n.args])
        page.step(None, out_tex, whole[("node", N - 1)], "The expression")
        for i, n in enumerate(p.nodes):
            page.math(f"{names[('node', i)]} = {node_tex[i]}", f"node {i + 1}, {_label(n)}")
        shared = [k for k in list(vals) + [("node", i) for i in range(N)] if len(_consumers(p, k)) > 1]
        if shared:
            page.text("Used more than once: " + "; ".join(
                f"{m(k)} feeds " + ", ".join(m(("node", c)) for c in _consumers(p, k)) for k in shared)
                + ". The derivative of such a quantity is the sum over the nodes it feeds (the multivariable "
                  "chain rule), as for a shared weight.", "note")
        if any(n.op in loss_names() for n in p.nodes):
            page.text("A loss is written with the target first, $L(d, y)$, as the notes write "
                      "$L(y, \\sigma(w x))$.", "note")
    sheet.rules("The graph", graph_rules)

    table = sheet.section("Nodes")
    table.table(["node", "operation", "inputs", "feeds"],
                [[m(("node", i)), f"${node_tex[i]}$",
                  ", ".join(m(o) for o in dict.fromkeys(n.args) if not _is_const(o)) or "—",
                  ", ".join(m(("node", c)) for c in n.consumers) or "(the output)"]
                 for i, n in enumerate(p.nodes)])

    # forward
    fwd = sheet.section("Forward pass")
    q = {k: fwd.sym(names[k], v) for k, v in vals.items()}
    like = next(iter(q.values()))
    for i, n in enumerate(p.nodes):
        sheet.result(("nodes", i + 1, "name"), n.name, exact=True)
        sheet.result(("nodes", i + 1, "op"), n.op, exact=True)
        sheet.result(("nodes", i + 1, "expression"), describe(p, n), exact=True)
        args = [_operand(o, q, like) for o in n.args]
        q[("node", i)] = fwd.step(("nodes", i + 1, "value"), names[("node", i)], _forward_formula(n, args),
                                  f"Node {m(('node', i))}: {_label(n)}", scalar=True)
    sheet.result(("value",), ops.value(q[("node", N - 1)]), scalar=True)

    # backward
    back = sheet.section("Backward pass")
    dot = _partial(out_tex, r"\cdot")
    back.text(f"From the output back to the inputs: each node's ${dot}$ is the sum, over the nodes it feeds, "
              f"of that node's ${dot}$ times the local derivative of the edge between them (the chain rule).",
              "note")
    grads: dict = {}
    locals_: dict = {}  # (consumer index, operand) -> quantity
    root_only = {k for k in list(vals) + [("node", i) for i in range(N - 1)] if _consumers(p, k) == [N - 1]}
    needed = {("var", v) for v in p.wrt}
    grads[("node", N - 1)] = back.sym(_partial(out_tex, out_tex),
                                      sheet.result(("nodes", N, "grad"), 1.0, scalar=True))
    back.math(f"{_partial(out_tex, out_tex)} = 1", "start at the output")
    for i in range(N - 1, -1, -1):
        n = p.nodes[i]
        key = ("node", i)
        if i != N - 1:
            grads[key] = _total(back, p, key, names, out_tex, grads, locals_, root_only,
                                ("nodes", i + 1, "grad"), f"Node {m(key)}", op_text(N - 1))
        first = True
        for o, formula in local_derivatives(p, i, q).items():
            if isinstance(formula, Const):  # a constant (the 1 of a sum): say where it comes from
                formula = back.sym(rf"\frac{{\partial}}{{\partial {names[o]}}}\left({node_tex[i]}\right)",
                                   ops.value(formula))
            if o[0] == "var" and o not in needed:
                continue
            if i == N - 1 and o in root_only:
                locals_[(i, o)] = formula  # written as the total of o itself
                continue
            tex = _partial(names[key], names[o])
            if i == N - 1:
                tex += r"\Big|_{\text{local}}"
            label = f"Local derivatives of {op_text(i)}" if first else ""
            first = False
            locals_[(i, o)] = back.step(None, tex, formula, label, scalar=True)

    gpage = sheet.section("Gradients")
    for v in p.wrt:
        key = ("var", v)
        paths = _paths(p, key)
        if 1 < len(paths) <= MAX_PATHS or (len(paths) == 1 and len(paths[0]) > 2):
            chains = [r" \cdot ".join(_partial(out_tex if b == ("out",) else names[b], names[a])
                                      for a, b in reversed(path)) for path in paths]
            gpage.math(f"{_partial(out_tex, names[key])} = " + " + ".join(chains),
                       "the chain rule along " + ("the path" if len(paths) == 1 else f"the {len(paths)} paths")
                       + f" from ${names[key]}$ to ${out_tex}$")
        grads[key] = _total(gpage, p, key, names, out_tex, grads, locals_, root_only, ("gradients", v),
                            f"Gradient with respect to {m(key)}", op_text(N - 1))
    summary = sheet.section("Summary")
    summary.table(["node", "operation", "value", _partial(out_tex, r"\text{node}")],
                  [[m(("node", i)), f"${node_tex[i]}$", ops.value(q[("node", i)]), ops.value(grads[("node", i)])]
                   for i, n in enumerate(p.nodes)])
    summary.table(["variable", "value", _partial(out_tex, r"\text{variable}")],
                  [[m(("var", v)), p.values[v], ops.value(grads[("var", v)])] for v in p.wrt])
    kinks = [i for i, n in enumerate(p.nodes)
             if n.op in ("relu", "abs", "leaky_relu", "elu") and float(ops.value(q[n.args[0]])) == 0.0]
    if kinks:
        summary.text(f"At a kink ({', '.join(op_text(i) for i in kinks)}, taken at 0) the derivative is "
                     "PyTorch's: ReLU′(0) = 0, |·|′(0) = 0, LeakyReLU′(0) = its negative slope, ELU′(0) = 1.",
                     "note")
    summary.text("PyTorch's autograd walks the same graph backwards: with each variable a tensor made with "
                 f"requires_grad=True, torch.autograd.grad({p.nodes[-1].name}, [{', '.join(p.wrt)}]) gives "
                 "these gradients.", "note")


def _consumers(p: Problem, key) -> list:
    return p.var_consumers.get(key[1], []) if key[0] == "var" else p.nodes[key[1]].consumers


def _total(page, p, key, names, out_tex, grads, locals_, root_only, path, label, out_text):
    """∂out/∂key = Σ over the nodes c it feeds of ∂out/∂c · ∂c/∂key."""
    N = len(p.nodes)
    terms = []
    for c in _consumers(p, key):
        local = locals_[(c, key)]
        terms.append(local if c == N - 1 else grads[("node", c)] * local)  # ∂out/∂out = 1
    formula = terms[0]
    for t in terms[1:]:
        formula = formula + t
    if key in root_only:
        label = f"{label}: it feeds only {out_text}, so this is the local derivative"
    return page.step(path, _partial(out_tex, names[key]), formula, label, scalar=True)


def _paths(p: Problem, key, limit: int = MAX_PATHS + 1) -> list:
    """The paths from an operand to the output, each a list of edges (operand, consumer) with
    the output's consumer written ("out",)."""
    N = len(p.nodes)
    out = []

    def walk(k, acc):
        if len(out) >= limit:
            return
        for c in _consumers(p, k):
            edge = (k, ("node", c) if c != N - 1 else ("out",))
            if c == N - 1:
                out.append(acc + [edge])
            else:
                walk(("node", c), acc + [edge])
    walk(key, [])
    return out
