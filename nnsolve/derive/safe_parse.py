"""Reading an expression typed by a user, safely.

SymPy's ``parse_expr`` builds Python code from the text and runs it with ``eval``; on its
own it would run whatever it is given. So the text is checked first, in plain Python
and without importing SymPy:

1. at most :data:`MAX_LENGTH` characters, only the characters of arithmetic;
2. split into tokens (numbers, names, operators, parentheses, commas); every name must be
   on the whitelist (variables, functions, constants); no ``__``, no ``.`` outside a
   number, no quotes, brackets, ``lambda`` or anything else;
3. the token string (with implicit products made explicit and ``^`` written ``**``) is
   parsed by Python's :mod:`ast` (parsing runs nothing) and every node must be an
   arithmetic operation, a call of a whitelisted function, a whitelisted name or a
   number; numbers at most :data:`MAX_NUMBER`; no power inside an exponent
   (``x**10**10**10``) and numeric exponents at most :data:`MAX_EXPONENT`. Comparisons,
   tuples and ``True`` are allowed only in their one place: ``Piecewise((value, cond), …)``,
   each argument a pair whose condition is one comparison (< <= > >=) or ``True``.

Only the checked, re-written text reaches ``parse_expr``, with a ``local_dict`` holding
exactly the whitelisted names and a ``global_dict`` without builtins.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from ..errors import InputError

MAX_LENGTH = 500
MAX_NUMBER = 1e6
MAX_EXPONENT = 100
MAX_DEPTH = 40  # parentheses nested at most this deep
MAX_ARGS = 10

# name -> number of arguments (min, max)
FUNCTIONS = {
    "exp": (1, 1), "log": (1, 2), "ln": (1, 1), "sqrt": (1, 1),
    "sin": (1, 1), "cos": (1, 1), "tan": (1, 1),
    "sinh": (1, 1), "cosh": (1, 1), "tanh": (1, 1),
    "sigma": (1, 1), "sigmoid": (1, 1), "relu": (1, 1), "softplus": (1, 1),
    "Abs": (1, 1), "abs": (1, 1), "Max": (2, MAX_ARGS), "max": (2, MAX_ARGS),
    "Min": (2, MAX_ARGS), "min": (2, MAX_ARGS), "Heaviside": (1, 2),
    "erf": (1, 1), "Piecewise": (1, MAX_ARGS),
}
CONSTANTS = {"pi", "E", "e"}
GREEK = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota",
         "kappa", "mu", "nu", "xi", "rho", "tau", "upsilon", "phi", "chi", "psi", "omega")
# x, w1, x_1, w_12, z_i, w_f, y_hat/yhat (ŷ), alpha, beta_1, …
_VARIABLE = re.compile(r"(?:[A-Za-z]|%s)(?:_?[0-9]{1,3}|_[A-Za-z][A-Za-z0-9]{0,2})?|[A-Za-z]_?hat"
                       % "|".join(GREEK))

ALLOWED = (
    "numbers like 2 or 0.5; variables: one letter with an optional index (x, w1, x_1, z_i), "
    "y_hat, or a Greek name (alpha, beta, theta, …); operators + - * / ^ ** and parentheses; "
    "functions exp, log (= ln), sqrt, sin, cos, tan, sinh, cosh, tanh, sigma (= sigmoid), "
    "relu, softplus, erf, Abs, Max, Min, Heaviside, Piecewise((value, x > 0), (value, True)); "
    "constants pi and e (= E)"
)

_TOKEN = re.compile(r"\s*(?:(?P<num>[0-9]+(?:\.[0-9]+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
                    r"|(?P<op>\*\*|<=|>=|[-+*/^(),<>]))")
_CHARS = re.compile(r"[A-Za-z0-9_+\-*/^().,<>=\s]*")
_COMPARE = {"<", "<=", ">", ">="}


def refuse(reason: str) -> InputError:
    return InputError(f"{reason}. Allowed in an expression: {ALLOWED}.", file="nnsolve derive")


def is_variable(name: str) -> bool:
    return (name not in FUNCTIONS and name not in CONSTANTS and "__" not in name
            and _VARIABLE.fullmatch(name) is not None)


@dataclass
class Checked:
    """An expression that passed every check: the text to hand to parse_expr and the
    names it uses."""
    text: str
    variables: list[str]
    functions: set


def check(text: str, functions=()) -> Checked:
    """Validate TEXT without running anything; raise InputError (exit 2) if it is not
    a plain arithmetic expression over whitelisted names. FUNCTIONS: more names of
    one-argument functions to allow (a library record's identity may name the
    function itself, e.g. ``elu(x) + 1``)."""
    extra = {f: (1, 1) for f in functions if re.fullmatch(r"[a-z][a-z0-9_]*", f) and "__" not in f}
    allowed_funcs = {**FUNCTIONS, **extra}
    if not isinstance(text, str):
        raise refuse("the expression must be text")
    if len(text) > MAX_LENGTH:
        raise refuse(f"the expression is {len(text)} characters long; at most {MAX_LENGTH} are allowed")
    if not text.strip():
        raise refuse("the expression is empty")
    if _CHARS.fullmatch(text) is None:
        bad = next(ch for ch in text if _CHARS.fullmatch(ch) is None)
        raise refuse(f"the character {bad!r} (at position {text.index(bad) + 1}) is not allowed")
    tokens: list[tuple[str, str]] = []
    pos, depth = 0, 0
    stripped = text.rstrip()
    while pos < len(stripped):
        m = _TOKEN.match(stripped, pos)
        if m is None or m.end() == pos:
            rest = stripped[pos:].lstrip()
            if rest.startswith("."):
                raise refuse("'.' is only allowed inside a number, like 0.5 (no attribute access)")
            raise refuse(f"cannot read the expression at {rest[:10]!r}")
        pos = m.end()
        if m.group("num") is not None:
            tok = m.group("num")
            nxt = stripped[pos:pos + 1]
            if nxt == ".":
                raise refuse("'.' is only allowed inside a number, like 0.5 (no attribute access)")
            sci = re.match(r"[eE][+-]?[0-9]+", stripped[pos:pos + 12])
            if sci:
                raise refuse(f"scientific notation ({tok}{sci.group(0)}) is not supported; "
                             "write the number out, e.g. 0.001")
            if len(tok.replace(".", "").lstrip("0")) > 15 or float(tok) > MAX_NUMBER:
                raise refuse(f"the number {tok[:20]} is too large (at most {MAX_NUMBER:g})")
            tokens.append(("num", tok))
        elif m.group("name") is not None:
            name = m.group("name")
            if "__" in name or name.startswith("_"):
                raise refuse(f"the name {name[:30]!r} is not allowed (no names with underscores at the start or '__')")
            if name in allowed_funcs:
                tokens.append(("func", name))
            elif name == "True":
                tokens.append(("bool", name))
            elif stripped[pos:pos + 1] == "(":  # f(x) reads as a call: not silently f·x
                raise refuse(f"unknown function {name[:30]!r} ({name}(…) reads as a call; for a product "
                             f"write {name}*(…))")
            elif name in CONSTANTS:
                tokens.append(("const", name))
            elif is_variable(name):
                tokens.append(("var", name))
            else:
                raise refuse(f"unknown name {name[:30]!r}")
            if stripped[pos:pos + 1] == ".":
                raise refuse("'.' is only allowed inside a number, like 0.5 (no attribute access)")
        else:
            op = m.group("op")
            if op == "(":
                depth += 1
                if depth > MAX_DEPTH:
                    raise refuse(f"parentheses are nested more than {MAX_DEPTH} deep")
            elif op == ")":
                depth -= 1
                if depth < 0:
                    raise refuse("a ')' has no matching '('")
            tokens.append(("op", "**" if op == "^" else op))
    if depth:
        raise refuse("a '(' is not closed")

    # implicit products (2x, 2(x+1), (x+1)(x-1), a x) made explicit; functions need '('
    out: list[str] = []
    for i, (kind, tok) in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if kind == "func" and (nxt is None or nxt[1] != "("):
            raise refuse(f"{tok} is a function: write {tok}(…)")
        out.append(tok)
        if nxt is not None and (kind in ("num", "var", "const") or tok == ")") \
                and (nxt[0] in ("var", "const", "func") or nxt[1] == "("):
            out.append("*")
    canonical = " ".join(out)

    try:
        tree = ast.parse(canonical, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise refuse(f"{text.strip()[:60]!r} is not a well-formed expression") from None
    _validate(tree, allowed_funcs)
    variables = sorted({tok for kind, tok in tokens if kind == "var"})
    functions = {tok for kind, tok in tokens if kind == "func"}
    return Checked(canonical, variables, functions)


_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
_CHAINS = (ast.Add, ast.Sub, ast.Mult, ast.Div)  # left-associative: a flat sum parses as a left spine
_CHAINS_OF = {ast.Add: (ast.Add, ast.Sub), ast.Sub: (ast.Add, ast.Sub),
              ast.Mult: (ast.Mult, ast.Div), ast.Div: (ast.Mult, ast.Div)}


def _validate(tree: ast.Expression, functions=None) -> None:
    functions = FUNCTIONS if functions is None else functions
    def has_pow(node) -> bool:
        return any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.Pow) for n in ast.walk(node))

    def numeric(node) -> bool:
        return not any(isinstance(n, ast.Name) for n in ast.walk(node))

    def visit(node, depth=0):
        if depth > 4 * MAX_DEPTH:
            raise refuse("the expression is nested too deeply")
        if isinstance(node, ast.Expression):
            return visit(node.body, depth + 1)
        if isinstance(node, ast.BinOp) and isinstance(node.op, _CHAINS):
            # a flat x + x + … + x is a chain, not nesting: its terms are one level down
            group = _CHAINS_OF[type(node.op)]
            terms, left = [], node
            while isinstance(left, ast.BinOp) and type(left.op) in group:
                terms.append(left.right)
                left = left.left
            terms.append(left)
            for t in terms:
                visit(t, depth + 1)
            return
        if isinstance(node, ast.BinOp) and isinstance(node.op, _BINOPS):
            if isinstance(node.op, ast.Pow):
                if has_pow(node.right):
                    raise refuse("a power inside an exponent (like x**10**10) is not allowed")
                if numeric(node.right):
                    e = _numeric_value(node.right)
                    if e is None or abs(e) > MAX_EXPONENT:
                        raise refuse(f"exponents are limited to at most {MAX_EXPONENT} in size")
                if numeric(node.left) and has_pow(node.left):
                    raise refuse("a power of a power of numbers is not allowed")
            visit(node.left, depth + 1)
            visit(node.right, depth + 1)
            return
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
            return visit(node.operand, depth + 1)
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in functions:
                raise refuse("only the listed functions can be called")
            if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
                raise refuse("functions take plain arguments only")
            lo, hi = functions[node.func.id]
            if not lo <= len(node.args) <= hi:
                want = str(lo) if lo == hi else f"{lo} to {hi}"
                raise refuse(f"{node.func.id} takes {want} argument{'s' if hi > 1 else ''}, "
                             f"not {len(node.args)}")
            if node.func.id == "Heaviside" and len(node.args) == 2 and not numeric(node.args[1]):
                raise refuse("Heaviside's second argument (its value at 0) must be a number")
            if node.func.id == "Piecewise":
                for a in node.args:
                    piece(a, depth + 1)
                return
            for a in node.args:
                visit(a, depth + 1)
            return
        if isinstance(node, ast.Name):
            if node.id in functions:
                raise refuse(f"{node.id} is a function: write {node.id}(…)")
            if node.id not in CONSTANTS and not is_variable(node.id):
                raise refuse(f"unknown name {node.id!r}")
            return
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            if abs(node.value) > MAX_NUMBER:
                raise refuse(f"numbers are limited to at most {MAX_NUMBER:g}")
            return
        if isinstance(node, (ast.Compare, ast.Tuple)) or (isinstance(node, ast.Constant) and node.value is True):
            raise refuse("comparisons, pairs and True belong only in Piecewise((value, x > 0), (value, True))")
        raise refuse(f"{type(node).__name__} is not part of an arithmetic expression")

    def piece(node, depth):
        """(value, condition): the condition one comparison of two expressions, or True."""
        if not (isinstance(node, ast.Tuple) and len(node.elts) == 2):
            raise refuse("each argument of Piecewise is a pair (value, condition)")
        value, cond = node.elts
        visit(value, depth + 1)
        if isinstance(cond, ast.Constant) and cond.value is True:
            return
        if not (isinstance(cond, ast.Compare) and len(cond.ops) == 1
                and isinstance(cond.ops[0], (ast.Lt, ast.LtE, ast.Gt, ast.GtE))):
            raise refuse("a condition of Piecewise is one comparison with < <= > >= (like x > 0) or True")
        visit(cond.left, depth + 1)
        visit(cond.comparators[0], depth + 1)

    visit(tree)


def _numeric_value(node) -> float | None:
    """The value of a small numeric AST (numbers, + - * /, unary minus); None if not."""
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
        v = _numeric_value(node.operand)
        return None if v is None else (-v if isinstance(node.op, ast.USub) else v)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
        a, b = _numeric_value(node.left), _numeric_value(node.right)
        if a is None or b is None:
            return None
        try:
            return {ast.Add: a + b, ast.Sub: a - b, ast.Mult: a * b}.get(type(node.op)) \
                if not isinstance(node.op, ast.Div) else a / b
        except (ZeroDivisionError, OverflowError):
            return None
    return None


def parse(text: str, extra_symbols: dict | None = None, extra_functions: dict | None = None):
    """Check TEXT and turn it into a SymPy expression. Returns (expr, {name: Symbol}).
    EXTRA_FUNCTIONS: {name: SymPy function of one argument} allowed besides the list."""
    checked = check(text, tuple(extra_functions or ()))
    return to_sympy(checked, extra_symbols, extra_functions)


def to_sympy(checked: Checked, extra_symbols: dict | None = None, extra_functions: dict | None = None):
    import sympy as sp
    from sympy.parsing.sympy_parser import auto_number, parse_expr, rationalize

    from .engine import sigma

    symbols = dict(extra_symbols or {})
    for name in checked.variables:
        if name not in symbols:
            symbols[name] = sp.Symbol(name.replace("_hat", "hat"), real=True)
    u = sp.Dummy("u", real=True)
    relu = sp.Lambda(u, sp.Max(0, u))
    softplus = sp.Lambda(u, sp.log(1 + sp.exp(u)))
    local_dict = {
        "exp": sp.exp, "log": sp.log, "ln": sp.log, "sqrt": sp.sqrt,
        "sin": sp.sin, "cos": sp.cos, "tan": sp.tan,
        "sinh": sp.sinh, "cosh": sp.cosh, "tanh": sp.tanh,
        "sigma": sigma, "sigmoid": sigma, "relu": relu, "softplus": softplus,
        "Abs": sp.Abs, "abs": sp.Abs, "Max": sp.Max, "max": sp.Max, "Min": sp.Min, "min": sp.Min,
        "Heaviside": sp.Heaviside, "erf": sp.erf, "Piecewise": sp.Piecewise, "pi": sp.pi, "E": sp.E, "e": sp.E,
    }
    local_dict.update(extra_functions or {})
    local_dict = {k: v for k, v in local_dict.items() if k in checked.functions or k in CONSTANTS}
    local_dict.update(symbols)
    # parse_expr evaluates with eval(): no builtins, only what auto_number writes
    global_dict = {"__builtins__": {}, "Integer": sp.Integer, "Float": sp.Float,
                   "Rational": sp.Rational}
    try:
        expr = parse_expr(checked.text, local_dict=local_dict, global_dict=global_dict,
                          transformations=(auto_number, rationalize))
    except (SyntaxError, TypeError, ValueError, NameError, ZeroDivisionError) as exc:
        raise refuse(f"SymPy cannot read the expression ({type(exc).__name__})") from None
    if not isinstance(expr, sp.Expr):
        raise refuse("the text is not a mathematical expression")
    if expr.has(sp.zoo, sp.nan, sp.oo, sp.S.NegativeInfinity):
        raise InputError(f"{''.join(checked.text.split())[:60]!r} is undefined: it divides by zero or takes the logarithm of 0 "
                         "(SymPy reads it as complex infinity); nothing to differentiate", file="nnsolve derive")
    used = {name: symbols[name] for name in checked.variables}
    return expr, used


def parse_number(text: str):
    """A value for --at: a number or a constant expression (0.5, -1, 1/3, pi/4, e)."""
    checked = check(text)
    if checked.variables:
        raise InputError(f"the value {text!r} must be a number, not contain {', '.join(checked.variables)}",
                         file="nnsolve derive")
    expr, _ = to_sympy(checked)
    return expr
