"""Differentiation as a tree of named rules (the model: SymPy Gamma's ``diffsteps``).

:func:`derive` looks at the outermost operation of an expression, picks the rule that
differentiates it (sum, constant multiple, power, product, quotient, chain, exp, log,
trigonometric, …), derives the parts the rule needs first, and combines their
derivatives by the rule's formula. The result is a tree of :class:`Node`; every node
knows its rule, the function it differentiates, its derivative and the LaTeX lines of
its application. The derivative is computed *by the rules*, not by SymPy's ``diff``
(except in the last-resort rule "sympy"), so the tests can hold it against ``diff``.

:func:`steps` flattens the tree into numbered steps (pre-order: a rule, then the
derivatives it asks for); :func:`clean` gives the final form.
"""
from __future__ import annotations

import re
import signal
import threading
from contextlib import contextmanager

import sympy as sp
from sympy.printing.latex import LatexPrinter


# -- the sigmoid as a SymPy function ------------------------------------------------------

class sigma(sp.Function):
    """The logistic sigmoid σ(u) = 1/(1 + e^{-u}); str() writes it ``sigma(u)``."""
    nargs = 1

    @classmethod
    def eval(cls, u):
        if u.is_zero:
            return sp.Rational(1, 2)
        return None

    def fdiff(self, argindex=1):
        s = sigma(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, u, **kwargs):
        return 1 / (1 + sp.exp(-u))

    def _eval_evalf(self, prec):
        from mpmath.libmp.libmpf import prec_to_dps
        return (1 / (1 + sp.exp(-self.args[0]))).evalf(prec_to_dps(prec))

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_positive(self):
        return self.args[0].is_real

    def _latex(self, printer, exp=None):
        arg = printer._print(self.args[0])
        head = r"\sigma" if exp is None else r"\sigma^{%s}" % exp
        return r"%s\left(%s\right)" % (head, arg)


def to_elementary(e):
    """σ(u) written out as 1/(1 + e^{-u}), so that plain SymPy reads the result."""
    return e.replace(sigma, lambda u: 1 / (1 + sp.exp(-u))) if e.has(sigma) else e


# -- LaTeX -------------------------------------------------------------------------------

class _Printer(LatexPrinter):
    """SymPy's LaTeX with the notation of the notes: H(x) for the step, cases that the
    terminal can show, sign(x)."""

    def _print_Heaviside(self, e, exp=None):
        s = r"H\left(%s\right)" % self._print(e.args[0])
        return s if exp is None else r"\left(%s\right)^{%s}" % (s, exp)

    def _print_DiracDelta(self, e, exp=None):
        s = r"\delta\left(%s\right)" % self._print(e.args[0])
        return s if exp is None else r"\left(%s\right)^{%s}" % (s, exp)

    def _print_sign(self, e, exp=None):
        s = r"\operatorname{sign}\left(%s\right)" % self._print(e.args[0])
        return s if exp is None else r"\left(%s\right)^{%s}" % (s, exp)

    def _print_Mul(self, expr):
        """Sums after the other factors: σ(x) (1 − σ(x)), 2 x (x + 1)."""
        if not isinstance(expr, sp.Mul):  # SymPy prints 1/x through here too
            return super()._print_Mul(expr)
        if expr.could_extract_minus_sign():
            neg = -expr
            if neg.is_Mul:
                return "- " + self._print_Mul(neg)
            return super()._print_Mul(expr)
        factors = expr.args
        adds = [f for f in factors if f.is_Add]
        if not adds or len(adds) == len(factors) or any(
                (f.is_Pow and f.exp.is_number and f.exp.is_negative) or (f.is_Rational and not f.is_Integer)
                for f in factors):
            return super()._print_Mul(expr)
        rest = sp.Mul(*[f for f in factors if not f.is_Add])
        return " ".join([self._print(rest)] + [r"\left(%s\right)" % self._print(a) for a in adds])

    def _print_erf(self, e, exp=None):
        s = r"\operatorname{erf}\left(%s\right)" % self._print(e.args[0])
        return s if exp is None else r"\operatorname{erf}^{%s}\left(%s\right)" % (exp, self._print(e.args[0]))

    def _print_Piecewise(self, e):
        rows = []
        for value, cond in e.args:
            where = r"\text{otherwise}" if cond == sp.true else r"\text{if }" + self._print(cond)
            rows.append(f"{self._print(value)}&{where}")
        return cases_tex(rows)


_PRINTER = _Printer({"mul_symbol": None})


def cases_tex(rows: list[str]) -> str:
    """value &condition rows as one \\begin{cases} (the terminal shows { a, if c; b, otherwise })."""
    return r"\begin{cases}" + r"\\".join(rows) + r"\end{cases}"


_TEX: dict = {}


def tex(e) -> str:
    """LaTeX of a SymPy expression, tidied: e^{-x}, not e^{- x}; (x), not (x )."""
    if isinstance(e, str):
        return e
    e = sp.sympify(e)
    cached = _TEX.get(e)
    if cached is not None:
        return cached
    s = _PRINTER.doprint(e)
    s = re.sub(r"(^|[{(&]|\\left\(|\\left\[)\s*- ", r"\1-", s)
    s = re.sub(r"\s+\\right", r"\\right", s)
    if len(_TEX) > 5000:
        _TEX.clear()
    _TEX[e] = s
    return s


def pow_tex(base, n) -> str:
    """base^{n} written as a power (SymPy would write a negative power as a fraction)."""
    b = tex(base)
    if not (isinstance(base, sp.Symbol) or (base.is_Integer and base >= 0)):
        b = r"\left(" + b + r"\right)"
    return f"{b}^{{{tex(n)}}}"


def expr_tex(e) -> str:
    """An expression as the rules see it: x^{-1} stays a power."""
    if e.is_Pow and e.exp.is_number and e.exp.is_negative and e.base != sp.E:
        return pow_tex(e.base, e.exp)
    return tex(e)


def factor_tex(e, lead: bool = False, as_function: bool = False) -> str:
    """e as a factor of a product: a sum (or, unless it leads, a negative) in parentheses.
    AS_FUNCTION: e is a function being differentiated (x^{-1} stays a power)."""
    s = (expr_tex(e) if as_function else tex(e)) if isinstance(e, sp.Basic) else e
    if isinstance(e, sp.Basic) and (e.is_Add or (not lead and e.could_extract_minus_sign())
                                    or isinstance(e, sp.Piecewise)):
        return r"\left(" + s + r"\right)"
    return s


def sum_tex(items: list[str]) -> str:
    out = ""
    for i, s in enumerate(items):
        if i == 0:
            out = s
        elif s.startswith("-"):
            out += " - " + s[1:]
        else:
            out += " + " + s
    return out


def d_tex(var, partial: bool = False) -> str:
    """d/dx, or ∂/∂x when the function has other variables too."""
    v = tex(var)
    if partial:
        return r"\frac{\partial}{\partial " + v + "}"
    return r"\frac{d}{d" + v + "}"


def D(e, var, partial: bool = False) -> str:
    """The derivative still to be taken: d/dx(e)."""
    return d_tex(var, partial) + r"\left(" + expr_tex(e) + r"\right)"


# -- the rules ---------------------------------------------------------------------------

RULES = {
    # id: (name, the rule in symbols)
    "constant": ("Constant rule", r"\frac{d}{dx} c = 0"),
    "variable": ("Identity rule", r"\frac{d}{dx} x = 1"),
    "sum": ("Sum rule", r"(f + g)' = f' + g'"),
    "constant_multiple": ("Constant multiple rule", r"(c\,f)' = c\,f'"),
    "power": ("Power rule", r"\frac{d}{dx} x^{n} = n\,x^{n-1}"),
    "product": ("Product rule", r"(f\,g)' = f'\,g + f\,g'"),
    "quotient": ("Quotient rule", r"\left(\frac{f}{g}\right)' = \frac{f'\,g - f\,g'}{g^{2}}"),
    "chain": ("Chain rule", r"\frac{d}{dx} f(g(x)) = f'(g(x)) \cdot g'(x)"),
    "exp": ("Exponential rule", r"\frac{d}{dx} e^{x} = e^{x}"),
    "exponential": ("Exponential rule (base a)", r"\frac{d}{dx} a^{x} = a^{x} \ln a"),
    "log": ("Logarithm rule", r"\frac{d}{dx} \log x = \frac{1}{x}"),
    "trig": ("Trigonometric rule", ""),
    "hyperbolic": ("Hyperbolic rule", ""),
    "sigmoid": ("Sigmoid rule", r"\frac{d}{dx} \sigma(x) = \sigma(x)\,(1 - \sigma(x))"),
    "erf": ("Error function rule", r"\frac{d}{dx} \operatorname{erf}(x) = \frac{2}{\sqrt{\pi}} e^{-x^{2}}"),
    "abs": ("Absolute value rule", r"\frac{d}{dx} |x| = \operatorname{sign}(x) \quad (x \neq 0)"),
    "step": ("Step function rule", r"\frac{d}{dx} H(x) = \delta(x) \quad (= 0 \text{ for } x \neq 0)"),
    "piecewise": ("Piecewise rule", r"\text{differentiate each piece on its own interval}"),
    "rewrite": ("Rewrite", ""),
    "reuse": ("Worked out before", ""),
    "sympy": ("Known derivative (SymPy)", r"\text{SymPy's table of derivatives}"),
}

# function class -> (rule id, rule in symbols, derivative of f at u)
_FUNCS = {
    sp.exp: ("exp", RULES["exp"][1], lambda u: sp.exp(u)),
    sp.log: ("log", RULES["log"][1], lambda u: 1 / u),
    sp.sin: ("trig", r"\frac{d}{dx} \sin x = \cos x", lambda u: sp.cos(u)),
    sp.cos: ("trig", r"\frac{d}{dx} \cos x = -\sin x", lambda u: -sp.sin(u)),
    sp.tan: ("trig", r"\frac{d}{dx} \tan x = 1 + \tan^{2} x", lambda u: 1 + sp.tan(u) ** 2),
    sp.sinh: ("hyperbolic", r"\frac{d}{dx} \sinh x = \cosh x", lambda u: sp.cosh(u)),
    sp.cosh: ("hyperbolic", r"\frac{d}{dx} \cosh x = \sinh x", lambda u: sp.sinh(u)),
    sp.tanh: ("hyperbolic", r"\frac{d}{dx} \tanh x = 1 - \tanh^{2} x", lambda u: 1 - sp.tanh(u) ** 2),
    sigma: ("sigmoid", RULES["sigmoid"][1], lambda u: sigma(u) * (1 - sigma(u))),
    sp.Abs: ("abs", RULES["abs"][1], lambda u: sp.sign(u)),
    sp.Heaviside: ("step", RULES["step"][1], lambda u: sp.DiracDelta(u)),
    sp.erf: ("erf", RULES["erf"][1], lambda u: 2 / sp.sqrt(sp.pi) * sp.exp(-u ** 2)),
}


class Node:
    """One rule applied: RULE differentiates EXPR by VAR, giving RESULT from the
    derivatives of its CHILDREN; LINES are the LaTeX forms between d/dx(expr) and the
    result; FORMULA is the rule in symbols; NOTE a text with $…$ math (with u = …)."""
    __slots__ = ("rule", "expr", "var", "result", "children", "lines", "formula", "note", "partial", "same")

    def __init__(self, rule, expr, var, result, children=(), lines=(), formula="", note=None, partial=False,
                 same=None):
        self.rule, self.expr, self.var, self.result = rule, expr, var, result
        self.children, self.lines = list(children), list(lines)
        self.formula, self.note, self.partial = formula, note, partial
        self.same = same  # rule "reuse": the node that derived the same thing before

    def forms(self) -> list[str]:
        """d/dx(expr), the forms between, the result: the LaTeX of each side of the chain."""
        forms = [D(self.expr, self.var, self.partial)]
        for f in self.lines + [tex(self.result)]:
            if f != forms[-1]:
                forms.append(f)
        return forms

    @property
    def name(self) -> str:
        return RULES[self.rule][0]

    def application(self) -> str:
        """d/dx(expr) = forms… = result, as one LaTeX line."""
        return " = ".join(self.forms())


# Rules not worth a back reference: d/dx(1) = 0 and d/dx(x) = 1 are said again where needed.
_RESTATED = {"constant", "variable"}


class Builder:
    """Builds the rule tree of d/d(var) of an expression. A derivative already worked
    out in the same tree (tanh's d/dx(e^{-x}), in the numerator and the denominator) is
    not derived again: the second time it is a node of rule "reuse" that points to the
    first (MEMO: (expression, variable, partial) -> node, shared by the whole tree)."""

    NAMES = "uvwtspqrkmn"

    def __init__(self, var, partial=False, taken=None, memo=None):
        self.var = var
        self.partial = partial
        self.taken = taken if taken is not None else set()
        self.memo = memo if memo is not None else {}

    def fresh(self):
        for n in self.NAMES:
            if n not in self.taken:
                self.taken.add(n)
                return sp.Dummy(n, real=True)
        i = len(self.taken)
        self.taken.add(f"u{i}")
        return sp.Dummy(f"u_{i}", real=True)

    def node(self, rule, e, result, children=(), lines=(), formula=None, note=None) -> Node:
        return Node(rule, e, self.var, result, list(children), list(lines),
                    RULES[rule][1] if formula is None else formula, note, self.partial)

    # -- dispatch
    def build(self, e) -> Node:
        key = (e, self.var, self.partial)
        before = self.memo.get(key)
        if before is not None:
            return Node("reuse", e, self.var, before.result, partial=self.partial, same=before)
        node = self._build(e)
        if node.rule not in _RESTATED:
            self.memo[key] = node
        return node

    def _build(self, e) -> Node:
        x = self.var
        if not e.has(x):
            return self.node("constant", e, sp.S.Zero)
        if e == x:
            return self.node("variable", e, sp.S.One)
        if e.is_Add:
            return self.sum(e)
        if e.is_Mul:
            return self.mul(e)
        if e.is_Pow:
            return self.pow(e)
        if isinstance(e, sp.Piecewise):
            return self.piecewise(e)
        if isinstance(e, (sp.Max, sp.Min)):
            return self.rewrite(e, _tidy_cases(e.rewrite(sp.Piecewise), x), f"${tex(e)}$ written as cases")
        for cls, spec in _FUNCS.items():
            if isinstance(e, cls) and e.args[0].has(x) and not any(a.has(x) for a in e.args[1:]):
                return self.function(e, spec)
        return self.node("sympy", e, sp.diff(e, x))

    # -- combinators
    def sum(self, e) -> Node:
        terms = e.as_ordered_terms()
        kids = [self.build(t) for t in terms]
        result = sp.Add(*[k.result for k in kids])
        lines = [sum_tex([D(t, self.var, self.partial) for t in terms]),
                 sum_tex([factor_tex(k.result, lead=True) if not k.result.is_Add else factor_tex(k.result)
                          for k in kids])]
        return self.node("sum", e, result, kids, lines)

    def mul(self, e) -> Node:
        x = self.var
        const = [f for f in e.as_ordered_factors() if not f.has(x)]
        dep = [f for f in e.as_ordered_factors() if f.has(x)]
        if const:
            c, f = sp.Mul(*const), sp.Mul(*dep)
            kid = self.build(f)
            result = c * kid.result
            if c == -1:
                lines = ["-" + D(f, x, self.partial), "-" + factor_tex(kid.result)]
            else:
                lines = [factor_tex(c, True) + r" \cdot " + D(f, x, self.partial),
                         factor_tex(c, True) + r" \cdot " + factor_tex(kid.result)]
            return self.node("constant_multiple", e, result, [kid], lines)
        num = [f for f in dep if not _is_reciprocal(f)]
        den = [1 / f for f in dep if _is_reciprocal(f)]
        if num and den:
            return self.quotient(e, sp.Mul(*num), sp.Mul(*den))
        return self.product(e, dep)

    def product(self, e, factors) -> Node:
        kids = [self.build(f) for f in factors]
        x, p = self.var, self.partial
        terms, forms, parts = [], [], []
        for i, k in enumerate(kids):
            others = factors[:i] + factors[i + 1:]
            terms.append(k.result * sp.Mul(*others))
            before = [factor_tex(o, j == 0, True) for j, o in enumerate(factors[:i])]
            after = [factor_tex(o, as_function=True) for o in factors[i + 1:]]
            forms.append(r" \cdot ".join(before + [D(factors[i], x, p)] + after))
            parts.append(r" \cdot ".join(before + [factor_tex(k.result, lead=(i == 0))] + after))
        return self.node("product", e, sp.Add(*terms), kids, [sum_tex(forms), sum_tex(parts)])

    def quotient(self, e, f, g) -> Node:
        kf, kg = self.build(f), self.build(g)
        x, p = self.var, self.partial
        result = (kf.result * g - f * kg.result) / g ** 2
        den = pow_tex(g, 2)
        ft, gt = factor_tex(f, True, True), factor_tex(g, as_function=True)
        lines = [r"\frac{%s \cdot %s - %s \cdot %s}{%s}" % (D(f, x, p), gt, ft, D(g, x, p), den),
                 r"\frac{%s \cdot %s - %s \cdot %s}{%s}" % (factor_tex(kf.result, True), gt, ft,
                                                          factor_tex(kg.result), den)]
        note = f"with $f = {expr_tex(f)}$ and $g = {expr_tex(g)}$"
        return self.node("quotient", e, result, [kf, kg], lines, note=note)

    def pow(self, e) -> Node:
        x = self.var
        b, n = e.base, e.exp
        if not n.has(x):
            if b == x:
                lines = [factor_tex(n, True) + r" \cdot " + (pow_tex(x, n - 1) if n - 1 != 1 else tex(x))]
                return self.node("power", e, n * x ** (n - 1), lines=lines)
            return self.chain(e, b, lambda t: t ** n)
        if not b.has(x):
            if n == x:
                lines = [pow_tex(b, x) + r" \cdot " + tex(sp.log(b))]
                return self.node("exponential", e, e * sp.log(b), lines=lines)
            return self.chain(e, n, lambda t: b ** t)
        # f(x)^g(x) = e^{g ln f}
        alt = sp.exp(n * sp.log(b), evaluate=False)
        kid = self.build(alt)
        result = kid.result.subs(alt, e)
        note = f"a variable power of a variable base: ${expr_tex(e)} = {tex(alt)}$"
        return self.node("rewrite", e, result, [kid], [D(alt, x, self.partial)],
                         formula=r"f^{g} = e^{g \log f}", note=note)

    def function(self, e, spec) -> Node:
        rule, formula, deriv = spec
        u = e.args[0]
        if u == self.var:
            return self.node(rule, e, deriv(u), formula=formula)
        rest = e.args[1:]
        return self.chain(e, u, lambda t: e.func(t, *rest))

    def chain(self, e, inner, outer_of) -> Node:
        x, p = self.var, self.partial
        t = self.fresh()
        outer = outer_of(t)
        k_outer = Builder(t, False, self.taken, self.memo).build(outer)
        k_inner = self.build(inner)
        f_prime = k_outer.result.subs(t, inner)
        result = f_prime * k_inner.result
        if k_outer.rule == "power":  # n u^{n-1} with u put in, as a power: -1 (1 + e^{-x})^{-2}
            n = outer.exp
            fp = factor_tex(n, True) + r" \cdot " + (pow_tex(inner, n - 1) if n - 1 != 1 else factor_tex(inner))
        else:
            fp = factor_tex(f_prime, True)
        lines = [fp + r" \cdot " + D(inner, x, p), fp + r" \cdot " + factor_tex(k_inner.result)]
        note = f"with ${tex(t)} = {expr_tex(inner)}$, so that ${expr_tex(e)} = {expr_tex(outer)}$"
        return self.node("chain", e, result, [k_outer, k_inner], lines, note=note)

    def piecewise(self, e) -> Node:
        kids, pieces, forms = [], [], []
        for value, cond in e.args:
            k = self.build(value)
            if value.has(self.var):
                kids.append(k)
            pieces.append((k.result, cond))
            forms.append((D(value, self.var, self.partial), cond))
        result = sp.Piecewise(*pieces)
        placeholder = cases_tex([f"{f}&" + (r"\text{otherwise}" if c == sp.true else r"\text{if }" + tex(c))
                                 for f, c in forms])
        note = "at a boundary between pieces the derivative exists only where the one-sided derivatives agree"
        return self.node("piecewise", e, result, kids, [placeholder], note=note)

    def rewrite(self, e, alt, why) -> Node:
        kid = self.build(alt)
        return self.node("rewrite", e, kid.result, [kid], [D(alt, self.var, self.partial)],
                         formula="", note=why)


def _tidy_cases(e, var):
    """Cases with their conditions in VAR alone simplified (x >= x/100 is x >= 0)."""
    if not isinstance(e, sp.Piecewise):
        return e
    pieces = []
    for value, cond in e.args:
        if cond not in (sp.true, sp.false) and cond.free_symbols <= {var}:
            try:
                cond = cond.simplify()
            except (TypeError, ValueError, NotImplementedError):
                pass
        pieces.append((value, cond))
    return sp.Piecewise(*pieces)


def one_sided(d, var, c):
    """(left, right): the pieces of D that hold just below and just above VAR = C (D
    itself where it has no cases there), so that their values at C are the one-sided
    derivatives at a kink."""
    d = sp.piecewise_fold(d) if d.has(sp.Piecewise) else d
    if not isinstance(d, sp.Piecewise):
        return d, d
    eps = sp.Rational(1, 10 ** 9)

    def piece(point):
        for value, cond in d.args:
            held = cond.subs(var, point)
            if held == sp.true:
                return value
            if held != sp.false:  # a condition on other symbols too: undecided
                return d
        return sp.nan
    return piece(c - eps), piece(c + eps)


def _is_reciprocal(f) -> bool:
    return f.is_Pow and f.exp.is_number and f.exp.is_negative and f.base != sp.E


# -- the whole derivation ----------------------------------------------------------------

class Step:
    """A node of the tree in the list of steps: NUMBER counts them in order; LABEL is the
    nested number shown (1, 1.1, 1.2, 1.2.1: a step's derivatives are worked out in its
    sub-steps); USES the labels of the steps whose results it takes (its sub-steps); SAME
    the label of the earlier step a "reuse" step repeats."""
    __slots__ = ("number", "depth", "node", "label", "uses", "same")

    def __init__(self, number: int, depth: int, node: Node, label: str = "", uses=(), same=None):
        self.number, self.depth, self.node = number, depth, node
        self.label, self.uses, self.same = label or str(number), list(uses), same

    def as_dict(self) -> dict:
        n = self.node
        plain = {s: sp.Symbol(s.name) for s in (n.expr.free_symbols | n.result.free_symbols)
                 if isinstance(s, sp.Dummy)}
        d = {"number": self.number, "label": self.label, "depth": self.depth, "rule": n.rule, "name": n.name,
             "formula": n.formula, "latex": n.application(), "variable": n.var.name,
             "expression": str(to_elementary(n.expr).xreplace(plain)),
             "derivative": str(to_elementary(n.result).xreplace(plain))}
        if self.uses:
            d["uses"] = list(self.uses)
        if self.same is not None:
            d["same_as"] = self.same
        if n.note:
            d["note"] = n.note
        return d


class Derivation:
    """The rule tree of d expr/d var and the final (clean) form of the derivative."""

    def __init__(self, expr, var, root: Node, partial: bool, final):
        self.expr, self.var, self.root, self.partial, self.final = expr, var, root, partial, final

    @property
    def raw(self):
        return self.root.result

    def steps(self, start: int = 1, top: str | None = None) -> list[Step]:
        """The steps in order (a rule, then the derivatives it asks for): numbered from
        START, labelled TOP (default: START), TOP.1, TOP.2, TOP.2.1 …"""
        out: list[Step] = []
        labels: dict = {}  # id(node) -> label

        def walk(node, depth, label):
            kids = [f"{label}.{i + 1}" for i in range(len(node.children))]
            same = labels.get(id(node.same)) if node.same is not None else None
            out.append(Step(start + len(out), depth, node, label, kids, same))
            labels[id(node)] = label
            for k, kl in zip(node.children, kids):
                walk(k, depth + 1, kl)

        walk(self.root, 0, top or str(start))
        return out


def derive(expr, var, final=None, simplify_budget: float = 2.0) -> Derivation:
    """The rule tree of d expr / d var, and its clean final form (or FINAL, if given)."""
    expr = sp.sympify(expr)
    partial = bool(expr.free_symbols - {var})
    root = Builder(var, partial, {s.name for s in expr.free_symbols}, {}).build(expr)
    if final is None:
        final = clean(root.result, simplify_budget)
    return Derivation(expr, var, root, partial, final)


# -- the final form ----------------------------------------------------------------------

class _OutOfTime(BaseException):
    """The time budget ran out. A BaseException, so that no ``except Exception`` inside
    SymPy swallows it and goes on past the budget."""


_DEADLINES: list = []  # the deadlines (time.monotonic()) of the time limits in force, outermost first


def out_of_time() -> bool:
    """Whether the outermost time limit in force has run out (an inner limit that catches
    _OutOfTime to try something else must re-raise then)."""
    import time
    return bool(_DEADLINES) and time.monotonic() >= min(_DEADLINES)


@contextmanager
def time_limit(seconds: float):
    """Raise _OutOfTime after SECONDS (main thread on Unix only; elsewhere no limit). Limits
    nest: an inner limit never outlasts an outer one (it ends at the sooner deadline) and
    never extends it (the outer timer is re-armed for what is left of it), so there is
    one overall budget."""
    import time
    if seconds is None or threading.current_thread() is not threading.main_thread() \
            or not hasattr(signal, "setitimer"):
        yield
        return
    now = time.monotonic()
    deadline = now + seconds if not _DEADLINES else min(now + seconds, min(_DEADLINES))

    def handler(signum, frame):
        raise _OutOfTime()

    old = signal.signal(signal.SIGALRM, handler)
    _DEADLINES.append(deadline)
    signal.setitimer(signal.ITIMER_REAL, max(deadline - now, 1e-4))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        _DEADLINES.pop()
        signal.signal(signal.SIGALRM, old)
        if _DEADLINES:  # what is left of the outer limit (at once if it has passed)
            signal.setitimer(signal.ITIMER_REAL, max(min(_DEADLINES) - time.monotonic(), 1e-4))


def _size(e) -> tuple:
    """Operations, not counting negations (e^{-x} is as simple as e^{x}) except a minus
    in front of a product with a sum, -(…)…; then length."""
    ops = sp.count_ops(e, visual=True)
    ops = ops.subs(sp.Symbol("NEG"), 0) if isinstance(ops, sp.Basic) else ops
    ops = ops.subs({s: 1 for s in ops.free_symbols}) if isinstance(ops, sp.Basic) else ops
    text = str(e)
    return (int(ops) + (2 if text.startswith("-(") else 0), len(text))


def clean(e, budget: float = 2.0):
    """The simplest of a few equivalent forms (together, factor, cancel, simplify), by
    operation count, if clearly simpler than E; a form that brings in functions the
    result did not have (cosh for a sigmoid's derivative) is not taken. Each attempt is
    bounded in time."""
    funcs = {type(f) for f in e.atoms(sp.Function)}
    best, best_size = e, _size(e)
    for how in (sp.together, sp.factor, sp.cancel, sp.simplify):
        if isinstance(e, sp.Piecewise) and how is not sp.simplify:
            continue
        try:
            with time_limit(budget):
                cand = how(e)
        except _OutOfTime:
            if out_of_time():  # the overall budget, not just this attempt's
                raise
            continue
        except (sp.PolynomialError, NotImplementedError, TypeError, ValueError, RecursionError):
            continue
        if not isinstance(cand, sp.Expr) or {type(f) for f in cand.atoms(sp.Function)} - funcs:
            continue
        size = _size(cand)
        if size < best_size:
            best, best_size = cand, size
    raw_ops, raw_len = _size(e)
    # the rules' own result reads best unless another form is clearly simpler: two
    # operations fewer, or one fewer and a fifth shorter
    if best_size[0] <= raw_ops - 2 or (best_size[0] < raw_ops and best_size[1] <= 0.8 * raw_len):
        return best
    return e


# -- numbers put in: a SymPy expression as an nnsolve.expr formula ------------------------

def to_formula(e, subs: dict):
    """E as a formula of nnsolve.expr over named quantities (the symbols, with their values
    from SUBS), so the shared printer shows it symbolic, with numbers put in, and valued.
    None when E uses something the formula printer does not have (cases, steps…)."""
    import numpy as np

    from .. import expr as E

    def funcs():
        return {sp.exp: E.exp, sp.log: lambda a: E.Func(r"\log", np.log, a), sp.tanh: E.tanh,
                sigma: E.sigma, sp.sin: lambda a: E.Func(r"\sin", np.sin, a),
                sp.cos: lambda a: E.Func(r"\cos", np.cos, a), sp.tan: lambda a: E.Func(r"\tan", np.tan, a),
                sp.sinh: lambda a: E.Func(r"\sinh", np.sinh, a), sp.cosh: lambda a: E.Func(r"\cosh", np.cosh, a),
                sp.Abs: lambda a: E.Func(r"\operatorname{abs}", np.abs, a),
                sp.erf: lambda a: E.Func(r"\operatorname{erf}", _erf_np, a)}

    table = funcs()

    def conv(e):
        if e.is_Symbol:
            if e not in subs:
                raise KeyError(e)
            return E.Sym(tex(e), float(subs[e]))
        if e.is_Number or e in (sp.pi, sp.E):
            if e.is_Rational and not e.is_Integer:
                return E.Div(E.Const(float(e.p)), E.Const(float(e.q)))
            return E.Const(float(e), tex(e) if e in (sp.pi, sp.E) else None)
        if e.is_Add:
            terms = []
            for t in e.as_ordered_terms():
                if t.could_extract_minus_sign():
                    terms.append((-1, conv(-t)))
                else:
                    terms.append((1, conv(t)))
            return E.Add(terms)
        if e.is_Mul:
            if e.could_extract_minus_sign():
                if (-e).is_Symbol and (-e) in subs:  # -x as one quantity: e^{-x} shows exp(−0.5)
                    return E.Sym("-" + tex(-e), -float(subs[-e]))
                return E.Neg(conv(-e))
            num, den = [], []
            factors = e.as_ordered_factors()
            factors = [f for f in factors if not f.is_Add] + [f for f in factors if f.is_Add]  # σ (1 − σ)
            for f in factors:
                if f.is_Pow and (f.exp.is_Integer or f.exp == sp.Rational(-1, 2)) and f.exp < 0:
                    den.append(f.base ** -f.exp)  # 1/√π too
                elif f.is_Rational and not f.is_Integer:
                    if f.p != 1:
                        num.append(sp.Integer(f.p))
                    den.append(sp.Integer(f.q))
                else:
                    num.append(f)
            top = _product([conv(f) for f in num]) if num else E.Const(1.0)
            return E.Div(top, _product([conv(f) for f in den])) if den else top
        if e.is_Pow:
            if e.exp.is_Integer and e.exp > 0:
                return E.Pow(conv(e.base), int(e.exp))
            if e.exp.is_Integer and e.exp < 0:
                inner = conv(e.base) if e.exp == -1 else E.Pow(conv(e.base), int(-e.exp))
                return E.Div(E.Const(1.0), inner)
            if e.exp == sp.Rational(1, 2):
                return E.Func(r"\operatorname{sqrt}", np.sqrt, conv(e.base))
            raise _NoFormula()
        for cls, make in table.items():
            if isinstance(e, cls) and len(e.args) == 1:
                return make(conv(e.args[0]))
        raise _NoFormula()

    def _product(items):
        out = items[0]
        for it in items[1:]:
            out = E.Mul(out, it)
        return out

    try:
        with np.errstate(all="ignore"):
            out = conv(e)
    except (_NoFormula, KeyError, TypeError):
        return None
    return out


class _NoFormula(Exception):
    pass


def _erf_np(v):
    import math

    import numpy as np
    return np.vectorize(math.erf, otypes=[float])(np.asarray(v, dtype=float))
