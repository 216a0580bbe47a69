"""Named functions of neural networks, each with its classic derivation.

The names, aliases and one-line summaries are the library's (:mod:`nnsolve.nn`, read by
:mod:`.library`): every activation and loss record is a name here, plus the few
catalogue-only entries (sigmoid_a). :data:`ENTRIES` (name -> (aliases, summary)) is
plain Python, so ``--list`` needs no SymPy; :func:`build` makes an entry's :class:`Plan`
(SymPy is imported there): the hand-written plan below where there is one, otherwise the
generic plan of :mod:`.library` (the record's ``sympy`` text, rule by rule).

A plan is one or more *parts* — a function differentiated by the rule engine — each
followed by *algebra*: the classic rewriting of the result, ending "in terms of the
function itself" (σ(x)(1 − σ(x)), 1 − tanh²x). Every algebra step carries a SymPy
form (``check``) so the tests can confirm it equals the derivative.
"""
from __future__ import annotations


def entries() -> dict:
    """name -> (aliases, summary), read from the library at each call."""
    from .library import entries
    return entries()


def __getattr__(name):
    if name == "ENTRIES":  # the catalogue's names as they are now (a record added at run time included)
        return entries()
    raise AttributeError(name)


def lookup(name: str) -> str | None:
    """The catalogue name NAME stands for (case and -/_ ignored), or None. A name with a
    hand-written plan answers at once (nnsolve derive sigmoid need not load the library);
    any other name, or alias, is looked up in the library's records."""
    from .library import lookup, normalise
    key = normalise(name)
    if key in _BUILDERS:
        return key
    return lookup(key)


class Alg:
    """One line of algebra after the rules: ``= tex`` because of ``reason``. ``check``
    makes the line as a SymPy form (equal to the derivative; the tests hold it to that,
    the JSON gives it); it is a function, so that printing the steps doesn't build it."""

    def __init__(self, tex: str, reason: str, check=None, rule: str = "algebra"):
        self.tex, self.reason, self.check, self.rule = tex, reason, check, rule

    def form(self):
        return self.check() if callable(self.check) else self.check


class Part:
    """A function differentiated by the rules (TITLE, LHS: the derivative's name in
    LaTeX), then rewritten by ALGEBRA; FINAL is the final form to show (default: the
    engine's clean form), SIMPLIFY_REASON what turns the rules' result into it.
    ``derivation`` is set by Plan.run()."""

    def __init__(self, title, lhs, expr, var, intro=(), final=None, algebra=(), simplify_reason="simplified"):
        self.title, self.lhs, self.expr, self.var = title, lhs, expr, var
        self.intro, self.final, self.algebra = list(intro), final, list(algebra)
        self.simplify_reason = simplify_reason
        self.derivation = None


class Plan:
    """What `nnsolve derive` shows: the function (DEFINITION, INTRO), its PARTS, the
    ASSEMBLY lines that combine them, and the top-level result for the JSON contract:
    VAR, EXPRESSION, DERIVATIVE (default: the last part's final form) and IDENTITY
    (text SymPy reads, LaTeX, SymPy form). PARAMS: defaults for --at; EXTRA: more JSON
    keys; VECTOR: --at for vector entries (callable(values) -> VectorAt);
    SHOW_DERIVATIVE False: the Result shows only the identity."""

    def __init__(self, title, var, expression, lhs, fname, parts, name=None, definition=(), intro=(),
                 assembly=(), assembly_title="Putting the parts together", assembly_lhs="", derivative=None,
                 identity=None, notes=(), params=None, extra=None, vector=None, show_derivative=True):
        self.title, self.var, self.expression, self.lhs, self.fname = title, var, expression, lhs, fname
        self.parts, self.name = list(parts), name
        self.definition, self.intro = list(definition), list(intro)
        self.assembly, self.assembly_title, self.assembly_lhs = list(assembly), assembly_title, assembly_lhs
        self.derivative, self.identity, self.notes = derivative, identity, list(notes)
        self.params, self.extra = dict(params or {}), dict(extra or {})
        self.vector, self.show_derivative = vector, show_derivative
        self.after = None  # callable(plan), run once the derivative is known (notes on kinks…)

    def run(self, budget: float = 2.0):
        from .engine import derive
        for p in self.parts:
            p.derivation = derive(p.expr, p.var, final=p.final, simplify_budget=budget)
        if self.derivative is None:
            self.derivative = self.parts[-1].derivation.final
        if self.after is not None:
            self.after(self)
        return self


def build(name: str) -> Plan:
    """The plan of catalogue name NAME: hand-written, or the library's generic one."""
    if name in _BUILDERS:
        return _BUILDERS[name]()
    from . import library
    if library.record(name) is None:
        raise KeyError(name)
    return library.plan(name)


def plan_for_expression(expr, var, text: str | None = None) -> Plan:
    """A plan for an expression typed by the user: one part; and the classic identity if
    the expression is one of the catalogue's functions (σ, tanh, softplus, SiLU)."""
    from .engine import D, expr_tex, tex
    partial = bool(expr.free_symbols - {var})
    v = tex(var)
    lhs = (r"\frac{\partial f}{\partial " + v + "}") if partial else f"f'({v})"
    from ..notation import to_unicode
    plan = Plan(title=f"d/d{to_unicode(v)} of {text or expr}", var=var, expression=expr, lhs=lhs,
                fname="f", parts=[Part("Rule by rule", lhs, expr, var)])
    plan.definition = [(None, "f = " + expr_tex(expr))]
    if partial:
        others = ", ".join(f"${tex(s)}$" for s in sorted(expr.free_symbols - {var}, key=str))
        plan.intro = [f"We want ${D(expr, var, True)}$: a partial derivative, so {others} "
                      "count as constants."]
    else:
        plan.intro = [f"We want ${D(expr, var)}$."]
    _recognise(plan)
    from .kinks import note_expression
    plan.after = note_expression  # where its cases meet: continuity, one-sided derivatives
    return plan


def _recognise(plan: Plan) -> None:
    """If the expression is σ, tanh, softplus or SiLU (swish) of the variable, end with the
    classic form in terms of the function itself."""
    import sympy as sp

    from .engine import tex, to_elementary
    x = plan.var
    mine = to_elementary(plan.expression)
    for name in ("sigmoid", "tanh", "softplus", "silu"):
        ref = build(name)
        t = ref.var
        forms = {to_elementary(ref.expression.subs(t, x))}
        if name == "tanh":
            forms.add(sp.tanh(x))
        if mine in forms or plan.expression in forms:
            form = ref.identity[2].subs(t, x)
            last = ref.parts[0].algebra[-1]
            plan.identity = (str(form), tex(form), form)
            plan.parts[0].algebra = [Alg(tex(form), "the classic form "
                                         f"(nnsolve derive {name} shows the algebra)",
                                         lambda: last.form().subs(t, x), "identity")]
            return


# -- the entries ---------------------------------------------------------------------------

def _sigmoid() -> Plan:
    import sympy as sp

    from .engine import sigma
    x = sp.Symbol("x", real=True)
    e = sp.exp(-x)
    f = 1 / (1 + e)
    d = e / (1 + e) ** 2
    s = sigma(x)
    alg = [
        Alg(r"\frac{1 + e^{-x} - 1}{\left(1 + e^{-x}\right)^{2}}", "add and take away 1 in the numerator",
            lambda: (1 + e - 1) / (1 + e) ** 2),
        Alg(r"\frac{1 + e^{-x}}{\left(1 + e^{-x}\right)^{2}} - \frac{1}{\left(1 + e^{-x}\right)^{2}}",
            "split the fraction", lambda: (1 + e) / (1 + e) ** 2 - 1 / (1 + e) ** 2),
        Alg(r"\frac{1}{1 + e^{-x}} - \frac{1}{\left(1 + e^{-x}\right)^{2}}", "cancel $1 + e^{-x}$",
            lambda: 1 / (1 + e) - 1 / (1 + e) ** 2),
        Alg(r"\frac{1}{1 + e^{-x}} \left(1 - \frac{1}{1 + e^{-x}}\right)", r"take out $\frac{1}{1 + e^{-x}}$",
            lambda: 1 / (1 + e) * (1 - 1 / (1 + e))),
        Alg(r"\sigma(x)\,\left(1 - \sigma(x)\right)", r"$\sigma(x) = \frac{1}{1 + e^{-x}}$",
            lambda: s * (1 - s), "identity"),
    ]
    return Plan(
        name="sigmoid", title="the sigmoid σ(x)", var=x, expression=f, lhs=r"\sigma'(x)", fname=r"\sigma(x)",
        definition=[(None, r"\sigma(x) = \frac{1}{1 + e^{-x}} = \left(1 + e^{-x}\right)^{-1}")],
        intro=["The logistic sigmoid squashes any real $x$ into $(0, 1)$. Write it as a power, "
               "$\\left(1 + e^{-x}\\right)^{-1}$, and differentiate with the chain rule."],
        parts=[Part("Rule by rule", r"\sigma'(x)", f, x, final=d, algebra=alg)],
        identity=("sigma(x)*(1 - sigma(x))", r"\sigma(x)\,\left(1 - \sigma(x)\right)", s * (1 - s)),
        notes=[("The derivative is largest at $x = 0$, where $\\sigma(0) = \\frac{1}{2}$ and "
                "$\\sigma'(0) = \\frac{1}{4}$; for large $|x|$ it vanishes (the vanishing gradient).", "note")],
    )


def _sigmoid_a() -> Plan:
    import sympy as sp

    from .engine import sigma
    x, a = sp.symbols("x a", real=True)
    e = sp.exp(-a * x)
    f = 1 / (1 + e)
    d = a * e / (1 + e) ** 2
    s = sigma(a * x)
    alg = [
        Alg(r"a \cdot \frac{1}{1 + e^{-a x}} \cdot \frac{e^{-a x}}{1 + e^{-a x}}", "split the fraction",
            lambda: a / (1 + e) * e / (1 + e)),
        Alg(r"a \cdot \frac{1}{1 + e^{-a x}} \left(1 - \frac{1}{1 + e^{-a x}}\right)",
            r"$\frac{e^{-a x}}{1 + e^{-a x}} = 1 - \frac{1}{1 + e^{-a x}}$", lambda: a / (1 + e) * (1 - 1 / (1 + e))),
        Alg(r"a\,\sigma(a x)\,\left(1 - \sigma(a x)\right)", r"$\sigma(a x) = \frac{1}{1 + e^{-a x}}$",
            lambda: a * s * (1 - s), "identity"),
    ]
    return Plan(
        name="sigmoid_a", title="the sigmoid with slope a, σ(ax)", var=x, expression=f,
        lhs=r"\frac{\partial}{\partial x} \sigma(a x)", fname=r"\sigma(a x)",
        definition=[(None, r"\sigma(a x) = \frac{1}{1 + e^{-a x}}")],
        intro=["The slope $a$ is a constant; the variable is $x$."],
        parts=[Part("Rule by rule", r"\frac{\partial}{\partial x} \sigma(a x)", f, x, final=d, algebra=alg)],
        identity=("a*sigma(a*x)*(1 - sigma(a*x))", r"a\,\sigma(a x)\,\left(1 - \sigma(a x)\right)",
                  a * s * (1 - s)),
        params={a: 1.0},
        notes=[("The larger the slope $a$, the steeper the step: the derivative peaks at $x = 0$ with "
                "value $\\frac{a}{4}$. With $a = 1$ this is the plain sigmoid.", "note")],
    )


def _tanh() -> Plan:
    import sympy as sp
    x = sp.Symbol("x", real=True)
    p, m = sp.exp(x), sp.exp(-x)
    f = (p - m) / (p + m)
    raw = ((p + m) ** 2 - (p - m) ** 2) / (p + m) ** 2
    alg = [
        Alg(r"\frac{\left(e^{x} + e^{-x}\right)^{2}}{\left(e^{x} + e^{-x}\right)^{2}} - "
            r"\frac{\left(e^{x} - e^{-x}\right)^{2}}{\left(e^{x} + e^{-x}\right)^{2}}", "split the fraction",
            lambda: (p + m) ** 2 / (p + m) ** 2 - (p - m) ** 2 / (p + m) ** 2),
        Alg(r"1 - \left(\frac{e^{x} - e^{-x}}{e^{x} + e^{-x}}\right)^{2}", "the first fraction is 1",
            lambda: 1 - ((p - m) / (p + m)) ** 2),
        Alg(r"1 - \tanh^{2}(x)", r"$\tanh x = \frac{e^{x} - e^{-x}}{e^{x} + e^{-x}}$", lambda: 1 - sp.tanh(x) ** 2,
            "identity"),
    ]
    return Plan(
        name="tanh", title="the hyperbolic tangent tanh(x)", var=x, expression=f, lhs=r"\tanh'(x)",
        fname=r"\tanh(x)",
        definition=[(None, r"\tanh(x) = \frac{e^{x} - e^{-x}}{e^{x} + e^{-x}}")],
        intro=["Written with exponentials, $\\tanh$ is a quotient: differentiate with the quotient rule."],
        parts=[Part("Rule by rule", r"\tanh'(x)", f, x, final=4 / (p + m) ** 2, algebra=alg,
                    simplify_reason="in the numerator, $(a + b)^{2} - (a - b)^{2} = 4ab$ and $e^{x} e^{-x} = 1$")],
        identity=("1 - tanh(x)**2", r"1 - \tanh^{2}(x)", 1 - sp.tanh(x) ** 2),
        notes=[("$\\tanh'(0) = 1$, four times the sigmoid's peak slope; and "
                "$\\tanh(x) = 2\\sigma(2x) - 1$.", "note")],
        extra={"unsimplified": str(raw)},
    )


def _kink_note(left, right, convention, name) -> str:
    return (f"At $x = 0$ the left derivative is ${left}$ and the right derivative is ${right}$: "
            + ("they differ, so " + name + " has no derivative there. Any value between them is a "
               f"subgradient; PyTorch and TensorFlow use ${convention}$, and so does nnsolve."
               if left != right else "they agree."))


def _relu() -> Plan:
    import sympy as sp
    x = sp.Symbol("x", real=True)
    f = sp.Piecewise((x, x > 0), (0, True))
    return Plan(
        name="relu", title="the rectified linear unit ReLU(x)", var=x, expression=f,
        lhs=r"\mathrm{ReLU}'(x)", fname=r"\mathrm{ReLU}(x)",
        definition=[(None, r"\mathrm{ReLU}(x) = \max(0, x) = \begin{cases}x&\text{if }x > 0\\"
                           r"0&\text{otherwise}\end{cases}")],
        intro=["ReLU is defined piece by piece: differentiate each piece on its own interval."],
        parts=[Part("Rule by rule", r"\mathrm{ReLU}'(x)", f, x, algebra=[
            Alg(r"H(x) = \begin{cases}1&\text{if }x > 0\\0&\text{otherwise}\end{cases}",
                "the unit step, with $H(0) = 0$", lambda: sp.Heaviside(x, 0), "identity")])],
        identity=("Heaviside(x, 0)", r"H(x)", sp.Heaviside(x, 0)),
        notes=[(_kink_note(0, 1, 0, "ReLU"), "note"),
               ("For $x < 0$ the gradient is exactly 0: a unit whose input stays negative stops "
                "learning (a \"dead\" ReLU).", "note")],
        extra={"at_zero": {"left": 0.0, "right": 1.0, "differentiable": False, "convention": 0.0}},
    )


def _leaky_relu() -> Plan:
    import sympy as sp

    from ..nn import activation
    slope = activation("leaky_relu").params["negative_slope"]  # the library's default, as PyTorch's
    x, al = sp.Symbol("x", real=True), sp.Symbol("alpha", positive=True)
    f = sp.Piecewise((x, x > 0), (al * x, True))
    return Plan(
        name="leaky_relu", title="the leaky ReLU", var=x, expression=f,
        lhs=r"\mathrm{LeakyReLU}'(x)", fname=r"\mathrm{LeakyReLU}(x)",
        definition=[(None, r"\mathrm{LeakyReLU}(x) = \begin{cases}x&\text{if }x > 0\\"
                           r"\alpha x&\text{otherwise}\end{cases}")],
        intro=[f"The slope $\\alpha$ for negative inputs (PyTorch's negative_slope) is a small constant "
               f"({slope:g} unless given with --at alpha=…)."],
        parts=[Part("Rule by rule", r"\mathrm{LeakyReLU}'(x)", f, x)],
        params={al: slope},
        notes=[(_kink_note(r"\alpha", 1, r"\alpha", "the leaky ReLU"), "note"),
               ("Unlike ReLU, the gradient for $x < 0$ is $\\alpha$, not 0: no unit dies.", "note")],
        extra={"at_zero": {"left": "alpha", "right": 1.0, "differentiable": False, "convention": "alpha"}},
    )


def _elu() -> Plan:
    import sympy as sp
    x, al = sp.Symbol("x", real=True), sp.Symbol("alpha", positive=True)
    f = sp.Piecewise((x, x > 0), (al * (sp.exp(x) - 1), True))
    elu = sp.Function("elu")
    return Plan(
        name="elu", title="the exponential linear unit ELU", var=x, expression=f,
        lhs=r"\mathrm{ELU}'(x)", fname=r"\mathrm{ELU}(x)",
        definition=[(None, r"\mathrm{ELU}(x) = \begin{cases}x&\text{if }x > 0\\"
                           r"\alpha\left(e^{x} - 1\right)&\text{otherwise}\end{cases}")],
        intro=["$\\alpha$ is a constant (1 unless given with --at alpha=…)."],
        parts=[Part("Rule by rule", r"\mathrm{ELU}'(x)", f, x, algebra=[
            Alg(r"\begin{cases}1&\text{if }x > 0\\\alpha\left(e^{x} - 1\right) + \alpha&\text{otherwise}\end{cases}",
                "add and take away $\\alpha$", lambda: sp.Piecewise((1, x > 0), (al * (sp.exp(x) - 1) + al, True))),
            Alg(r"\begin{cases}1&\text{if }x > 0\\\mathrm{ELU}(x) + \alpha&\text{otherwise}\end{cases}",
                "for $x \\le 0$, $\\mathrm{ELU}(x) = \\alpha(e^{x} - 1)$",
                lambda: sp.Piecewise((1, x > 0), (f + al, True)), "identity")])],
        identity=("Piecewise((1, x > 0), (elu(x) + alpha, True))",
                  r"\begin{cases}1&\text{if }x > 0\\\mathrm{ELU}(x) + \alpha&\text{otherwise}\end{cases}",
                  sp.Piecewise((1, x > 0), (elu(x) + al, True))),
        params={al: 1.0},
        notes=[("At $x = 0$ the left derivative is $\\alpha$ and the right derivative is 1: ELU is "
                "differentiable there only for $\\alpha = 1$; otherwise nnsolve (like PyTorch) takes "
                "$\\alpha$, the value of the left piece. With $\\alpha = 1$ (the default, PyTorch's "
                "and the library's) both sides agree: $\\mathrm{ELU}'(0) = 1$.", "note")],
        extra={"at_zero": {"left": "alpha", "right": 1.0, "differentiable": "only if alpha = 1",
                           "convention": "alpha"}},
    )


def _softplus() -> Plan:
    import sympy as sp

    from .engine import sigma
    x = sp.Symbol("x", real=True)
    f = sp.log(1 + sp.exp(x))
    alg = [
        Alg(r"\frac{e^{x} \cdot e^{-x}}{\left(e^{x} + 1\right) e^{-x}} = \frac{1}{1 + e^{-x}}",
            "multiply numerator and denominator by $e^{-x}$", lambda: 1 / (1 + sp.exp(-x))),
        Alg(r"\sigma(x)", r"$\sigma(x) = \frac{1}{1 + e^{-x}}$", lambda: sigma(x), "identity"),
    ]
    return Plan(
        name="softplus", title="the softplus log(1 + eˣ)", var=x, expression=f,
        lhs=r"\mathrm{softplus}'(x)", fname=r"\mathrm{softplus}(x)",
        definition=[(None, r"\mathrm{softplus}(x) = \log\left(1 + e^{x}\right)")],
        intro=["Softplus is a smooth ReLU; $\\log$ is the natural logarithm."],
        parts=[Part("Rule by rule", r"\mathrm{softplus}'(x)", f, x, algebra=alg)],
        identity=("sigma(x)", r"\sigma(x)", sigma(x)),
        notes=[("The derivative of softplus is the sigmoid: a smooth version of ReLU's step.", "note")],
    )


def _silu() -> Plan:
    import sympy as sp

    from .engine import sigma
    x = sp.Symbol("x", real=True)
    s = sigma(x)
    f = x * s
    sw = sp.Function("silu")(x)
    alg = [
        Alg(r"\sigma(x) + x\,\sigma(x) - x\,\sigma(x)^{2}", "multiply out", lambda: s + x * s - x * s ** 2),
        Alg(r"x\,\sigma(x) + \sigma(x)\,\left(1 - x\,\sigma(x)\right)", r"regroup", lambda: x * s + s * (1 - x * s)),
        Alg(r"\mathrm{SiLU}(x) + \sigma(x)\,\left(1 - \mathrm{SiLU}(x)\right)",
            r"$\mathrm{SiLU}(x) = x\,\sigma(x)$", lambda: x * s + s * (1 - x * s), "identity"),
    ]
    return Plan(
        name="silu", title="SiLU (swish) x σ(x)", var=x, expression=f,
        lhs=r"\mathrm{SiLU}'(x)", fname=r"\mathrm{SiLU}(x)",
        definition=[(None, r"\mathrm{SiLU}(x) = \mathrm{swish}(x) = x\,\sigma(x) = \frac{x}{1 + e^{-x}}")],
        intro=["A product of $x$ and $\\sigma(x)$: the product rule, with "
               "$\\sigma'(x) = \\sigma(x)(1 - \\sigma(x))$ (see nnsolve derive sigmoid)."],
        parts=[Part("Rule by rule", r"\mathrm{SiLU}'(x)", f, x, algebra=alg)],
        identity=("silu(x) + sigma(x)*(1 - silu(x))",
                  r"\mathrm{SiLU}(x) + \sigma(x)\,\left(1 - \mathrm{SiLU}(x)\right)", sw + s * (1 - sw)),
        notes=[("Also written $\\sigma(x)\\left(1 + x\\left(1 - \\sigma(x)\\right)\\right)$, "
                "as the library's record does.", "note")],
    )


def _softmax() -> Plan:
    import sympy as sp
    zi, zj = sp.symbols("z_i z_j", real=True)
    R = sp.Symbol("R", positive=True)
    si, sj = sp.symbols("s_i s_j", positive=True)
    fi = sp.exp(zi) / (sp.exp(zi) + R)
    fo = sp.exp(zi) / (sp.exp(zi) + sp.exp(zj) + R)
    Si = sp.exp(zi) + R
    So = sp.exp(zi) + sp.exp(zj) + R
    diag = Part(
        "Case $i = j$", r"\frac{\partial s_{i}}{\partial z_{i}}", fi, zi,
        intro=["Write the denominator as $e^{z_{i}} + R$, where $R = \\sum_{k \\neq i} e^{z_{k}}$ does not "
               "depend on $z_{i}$: a constant for this derivative."],
        final=R * sp.exp(zi) / Si ** 2,
        algebra=[
            Alg(r"\frac{e^{z_{i}}}{e^{z_{i}} + R} \cdot \frac{R}{e^{z_{i}} + R}", "split the fraction",
                lambda: sp.exp(zi) / Si * (R / Si)),
            Alg(r"\frac{e^{z_{i}}}{e^{z_{i}} + R} \left(1 - \frac{e^{z_{i}}}{e^{z_{i}} + R}\right)",
                r"$\frac{R}{e^{z_{i}} + R} = 1 - \frac{e^{z_{i}}}{e^{z_{i}} + R}$", lambda: fi * (1 - fi)),
            Alg(r"s_{i}\left(1 - s_{i}\right)", r"$s_{i} = \frac{e^{z_{i}}}{e^{z_{i}} + R}$", lambda: fi * (1 - fi),
                "identity"),
        ])
    off = Part(
        "Case $i \\neq j$", r"\frac{\partial s_{i}}{\partial z_{j}}", fo, zj,
        intro=["Now $z_{j}$ appears only in the denominator: write it as $e^{z_{i}} + e^{z_{j}} + R$, "
               "with $R = \\sum_{k \\neq i, j} e^{z_{k}}$ constant."],
        final=-sp.exp(zi) * sp.exp(zj) / So ** 2,
        algebra=[
            Alg(r"-\frac{e^{z_{i}}}{e^{z_{i}} + e^{z_{j}} + R} \cdot \frac{e^{z_{j}}}{e^{z_{i}} + e^{z_{j}} + R}",
                "split the fraction", lambda: -sp.exp(zi) / So * (sp.exp(zj) / So)),
            Alg(r"-s_{i}\,s_{j}", r"$s_{k} = \frac{e^{z_{k}}}{\sum_{l} e^{z_{l}}}$",
                lambda: -sp.exp(zi) / So * (sp.exp(zj) / So), "identity"),
        ])
    return Plan(
        name="softmax", title="softmax: the Jacobian ∂sᵢ/∂zⱼ", var=zi, expression=fi,
        lhs=r"\frac{\partial s_{i}}{\partial z_{j}}", fname=r"s_{i}",
        definition=[(None, r"s_{i} = \mathrm{softmax}(z)_{i} = \frac{e^{z_{i}}}{\sum_{k} e^{z_{k}}}")],
        intro=["Each output $s_{i}$ depends on every input $z_{j}$ through the sum in the denominator, "
               "so there are two cases: the derivative by its own input ($j = i$) and by another "
               "($j \\neq i$)."],
        parts=[diag, off],
        assembly_title="Both cases in one formula",
        assembly_lhs=r"\frac{\partial s_{i}}{\partial z_{j}}",
        assembly=[Alg(r"\begin{cases}s_{i}\left(1 - s_{i}\right)&\text{if }i = j\\"
                      r"-s_{i}\,s_{j}&\text{if }i \neq j\end{cases}", "the two cases", None),
                  Alg(r"s_{i}\left(\delta_{ij} - s_{j}\right)",
                      r"with the Kronecker delta $\delta_{ij}$ (1 if $i = j$, else 0)", None, "identity")],
        derivative=R * sp.exp(zi) / Si ** 2,
        identity=("s_i*(KroneckerDelta(i, j) - s_j)", r"s_{i}\left(\delta_{ij} - s_{j}\right)",
                  si * (sp.KroneckerDelta(sp.Symbol("i"), sp.Symbol("j")) - sj)),
        notes=[("As a matrix: $J = \\mathrm{diag}(s) - s\\,s^{\\top}$. Give --at z=1,2,3 to see it.", "note")],
        extra={"where": "R = sum of exp(z_k) over k != i (constant in z_i)",
               "jacobian": "s_i*(KroneckerDelta(i, j) - s_j)",
               "cases": [
                   {"case": "i = j", "variable": "z_i", "expression": str(fi),
                    "derivative": str(R * sp.exp(zi) / Si ** 2), "identity": "s_i*(1 - s_i)",
                    "where": "R = sum of exp(z_k) over k != i"},
                   {"case": "i != j", "variable": "z_j", "expression": str(fo),
                    "derivative": str(-sp.exp(zi) * sp.exp(zj) / So ** 2), "identity": "-s_i*s_j",
                    "where": "R = sum of exp(z_k) over k != i, j"}]},
        vector=_softmax_at,
        show_derivative=False,
    )


def _mse() -> Plan:
    import sympy as sp
    yh, y = sp.Symbol("yhat", real=True), sp.Symbol("y", real=True)
    n = sp.Symbol("n", positive=True)
    f = (yh - y) ** 2 / n
    return Plan(
        name="mse", title="the mean squared error", var=yh, expression=f,
        lhs=r"\frac{\partial L}{\partial \hat{y}_{i}}", fname="L",
        definition=[(None, r"L = \frac{1}{n} \sum_{i=1}^{n} \left(\hat{y}_{i} - y_{i}\right)^{2}")],
        intro=["Only the $i$-th term of the sum depends on $\\hat{y}_{i}$; the others are constants with "
               "derivative 0. Writing $\\hat{y}$, $y$ for $\\hat{y}_{i}$, $y_{i}$, differentiate "
               "$\\frac{1}{n}(\\hat{y} - y)^{2}$."],
        parts=[Part("Rule by rule", r"\frac{\partial L}{\partial \hat{y}_{i}}", f, yh,
                    final=2 * (yh - y) / n)],
        identity=("2*(yhat - y)/n", r"\frac{2}{n}\left(\hat{y}_{i} - y_{i}\right)", 2 * (yh - y) / n),
        params={n: 1.0},
        notes=[("With the convention $E = \\frac{1}{2} \\sum_{i} e_{i}^{2}$, $e_{i} = y_{i} - \\hat{y}_{i}$ "
                "(the notes' error energy) the 2 cancels: $\\frac{\\partial E}{\\partial \\hat{y}_{i}} = "
                "\\hat{y}_{i} - y_{i} = -e_{i}$.", "note")],
        extra={"where": "yhat is the prediction, y the target, n the number of terms in the mean"},
    )


def _bce() -> Plan:
    import sympy as sp

    from .engine import sigma
    yh, y, z = sp.Symbol("yhat", real=True), sp.Symbol("y", real=True), sp.Symbol("z", real=True)
    L_yh = -y * sp.log(yh) - (1 - y) * sp.log(1 - yh)
    top = -y * sp.log(sigma(z)) - (1 - y) * sp.log(1 - sigma(z))
    dL = (yh - y) / (yh * (1 - yh))
    p1 = Part(r"First factor: $\frac{\partial L}{\partial \hat{y}}$", r"\frac{\partial L}{\partial \hat{y}}",
              L_yh, yh, final=dL, algebra=[
        Alg(r"\frac{-y\left(1 - \hat{y}\right) + \left(1 - y\right)\hat{y}}{\hat{y}\left(1 - \hat{y}\right)}",
            "common denominator", lambda: (-y * (1 - yh) + (1 - y) * yh) / (yh * (1 - yh))),
        Alg(r"\frac{\hat{y} - y}{\hat{y}\left(1 - \hat{y}\right)}", "multiply out: $-y + y\\hat{y} + \\hat{y} "
            "- y\\hat{y} = \\hat{y} - y$", lambda: dL),
    ])
    p2 = Part(r"Second factor: $\frac{\partial \hat{y}}{\partial z}$", r"\frac{\partial \hat{y}}{\partial z}",
              sigma(z), z,
              intro=["$\\hat{y} = \\sigma(z)$; the sigmoid rule is derived step by step in "
                     "nnsolve derive sigmoid."],
              algebra=[Alg(r"\hat{y}\left(1 - \hat{y}\right)", "$\\hat{y} = \\sigma(z)$",
                           lambda: sigma(z) * (1 - sigma(z)))])
    return Plan(
        name="bce", title="binary cross-entropy through a sigmoid output", var=z, expression=top,
        lhs=r"\frac{\partial L}{\partial z}", fname="L",
        definition=[(None, r"L = -y \log \hat{y} - \left(1 - y\right) \log\left(1 - \hat{y}\right)"),
                    (None, r"\hat{y} = \sigma(z)")],
        intro=["$y \\in \\{0, 1\\}$ is the target, $z$ the output neuron's net input. $L$ depends on $z$ "
               "through $\\hat{y}$, so by the chain rule "
               "$\\frac{\\partial L}{\\partial z} = \\frac{\\partial L}{\\partial \\hat{y}} \\cdot "
               "\\frac{\\partial \\hat{y}}{\\partial z}$: derive the two factors, then multiply."],
        parts=[p1, p2],
        assembly_title="Chain rule: multiply the factors",
        assembly_lhs=r"\frac{\partial L}{\partial z}",
        assembly=[Alg(r"\frac{\partial L}{\partial \hat{y}} \cdot \frac{\partial \hat{y}}{\partial z}", "chain rule",
                      None, "chain"),
                  Alg(r"\frac{\hat{y} - y}{\hat{y}\left(1 - \hat{y}\right)} \cdot \hat{y}\left(1 - \hat{y}\right)",
                      "the two factors", lambda: sigma(z) - y),
                  Alg(r"\hat{y} - y", "$\\hat{y}(1 - \\hat{y})$ cancels", lambda: sigma(z) - y, "identity")],
        derivative=sigma(z) - y,
        identity=("sigma(z) - y", r"\hat{y} - y", sigma(z) - y),
        notes=[("The sigmoid's slope $\\hat{y}(1 - \\hat{y})$ cancels: the gradient is just the error "
                "$\\hat{y} - y$, and does not vanish when the sigmoid saturates on a wrong answer.", "note")],
        extra={"where": "yhat = sigma(z), y is the target (0 or 1)"},
    )


def _cross_entropy() -> Plan:
    import sympy as sp
    zj, yj = sp.symbols("z_j y_j", real=True)
    R = sp.Symbol("R", positive=True)
    C = sp.Symbol("C", real=True)
    sk, yk = sp.symbols("s_k y_k", positive=True)
    S = sp.exp(zj) + R
    # -y_j log s_j - sum_{k != j} y_k log s_k, with sum_{k != j} y_k = 1 - y_j and
    # log s_k = z_k - log S: C = sum_{k != j} y_k z_k does not depend on z_j.
    top = -yj * sp.log(sp.exp(zj) / S) + (1 - yj) * sp.log(S) - C
    p1 = Part(r"First factor: $\frac{\partial L}{\partial s_{k}}$", r"\frac{\partial L}{\partial s_{k}}",
              -yk * sp.log(sk), sk,
              intro=["Only the $k$-th term of $L$ contains $s_{k}$."])
    return Plan(
        name="cross_entropy", title="cross-entropy through a softmax output", var=zj, expression=top,
        lhs=r"\frac{\partial L}{\partial z_{j}}", fname="L",
        definition=[(None, r"L = -\sum_{k} y_{k} \log s_{k}"),
                    (None, r"s_{k} = \frac{e^{z_{k}}}{\sum_{l} e^{z_{l}}}, \qquad \sum_{k} y_{k} = 1")],
        intro=["$y$ is the target (one-hot, or any probabilities summing to 1). Every $s_{k}$ depends on "
               "$z_{j}$, so the chain rule sums over $k$: "
               "$\\frac{\\partial L}{\\partial z_{j}} = \\sum_{k} \\frac{\\partial L}{\\partial s_{k}} "
               "\\frac{\\partial s_{k}}{\\partial z_{j}}$."],
        parts=[p1],
        assembly_title="Chain rule over every output",
        assembly_lhs=r"\frac{\partial L}{\partial z_{j}}",
        assembly=[
            Alg(r"\sum_{k} \frac{\partial L}{\partial s_{k}} \frac{\partial s_{k}}{\partial z_{j}}", "chain rule",
                None, "chain"),
            Alg(r"\sum_{k} \left(-\frac{y_{k}}{s_{k}}\right) s_{k}\left(\delta_{kj} - s_{j}\right)",
                "the softmax Jacobian $\\frac{\\partial s_{k}}{\\partial z_{j}} = s_{k}(\\delta_{kj} - s_{j})$ "
                "(nnsolve derive softmax)", None),
            Alg(r"-\sum_{k} y_{k}\,\delta_{kj} + s_{j} \sum_{k} y_{k}", "$s_{k}$ cancels; multiply out", None),
            Alg(r"-y_{j} + s_{j}", "$\\sum_{k} y_{k} \\delta_{kj} = y_{j}$ and $\\sum_{k} y_{k} = 1$", None),
            Alg(r"s_{j} - y_{j}", "", None, "identity")],
        derivative=sp.exp(zj) / S - yj,
        identity=("s_j - y_j", r"s_{j} - y_{j}", sp.Symbol("s_j") - sp.Symbol("y_j")),
        notes=[("The same pattern as binary cross-entropy with a sigmoid: the gradient at the net input is "
                "prediction minus target.", "note")],
        extra={"where": "R = sum of exp(z_k) over k != j; C = sum of y_k*z_k over k != j (constant); "
                        "the targets sum to 1, so the other targets sum to 1 - y_j"},
        vector=_cross_entropy_at,
        show_derivative=False,
    )


# -- --at for the vector entries -------------------------------------------------------------

class VectorAt:
    """--at for a vector entry: ROWS (label, LaTeX name, nnsolve.expr formula) to show
    as steps, TABLE (title, columns, rows) or None, and the JSON keys."""

    def __init__(self, rows, table, json):
        self.rows, self.table, self.json = rows, table, json


def _vec(values: dict, name: str, n: int | None = None, required: bool = True):
    import numpy as np

    from ..errors import InputError
    if name not in values:
        if not required:
            return None
        raise InputError(f"give the vector with --at {name}=v1,v2,… (e.g. --at {name}=1,2,3)",
                         file="nnsolve derive")
    v = np.asarray(values[name], dtype=float).reshape(-1)
    if n is not None and v.size != n:
        raise InputError(f"--at {name}: {v.size} values given, {n} expected (one per class)", file="nnsolve derive")
    return v


def _softmax_np(z):
    import numpy as np
    e = np.exp(z - np.max(z))
    return e / e.sum()


def _softmax_at(values: dict) -> VectorAt:
    import numpy as np

    from .. import expr as E
    z = _vec(values, "z")
    zs = E.Sym("z", z)
    s = E.softmax(zs)
    J = np.diag(s.value) - np.outer(s.value, s.value)
    n = len(z)
    rows = [[f"$s_{{{i + 1}}}$"] + list(J[i]) for i in range(n)]
    cols = [r"\partial s_{i} / \partial z_{j}"] + [f"z_{{{j + 1}}}" for j in range(n)]
    return VectorAt(rows=[("Softmax", "s", s)],
                    table=("The Jacobian $J_{ij} = s_{i}(\\delta_{ij} - s_{j})$", cols, rows),
                    json={"at": {"z": z.tolist()}, "value": s.value.tolist(), "derivative_value": J.tolist()})


def _cross_entropy_at(values: dict) -> VectorAt:
    import numpy as np

    from .. import expr as E
    from ..errors import InputError
    z = _vec(values, "z")
    y = _vec(values, "y", len(z))
    if abs(y.sum() - 1) > 1e-9:
        raise InputError(f"--at y: the targets must sum to 1 (they sum to {y.sum():g})", file="nnsolve derive")
    s = E.softmax(E.Sym("z", z))
    ss = E.Sym("s", s.value)
    ys = E.Sym("y", y)
    loss = -E.Sum(E.odot(ys, E.log(ss)), "k")
    grad = ss - ys
    return VectorAt(rows=[("Softmax", "s", s), ("Loss", "L", loss), ("Gradient", r"\frac{\partial L}{\partial z}", grad)],
                    table=None,
                    json={"at": {"z": z.tolist(), "y": y.tolist()}, "value": float(loss.value),
                          "derivative_value": grad.value.tolist(), "softmax": s.value.tolist()})


_BUILDERS = {
    "sigmoid": _sigmoid, "sigmoid_a": _sigmoid_a, "tanh": _tanh, "relu": _relu, "leaky_relu": _leaky_relu,
    "elu": _elu, "softplus": _softplus, "silu": _silu, "softmax": _softmax, "mse": _mse, "bce": _bce,
    "cross_entropy": _cross_entropy,
}


if __name__ == "__main__":  # python -m nnsolve.derive.catalogue --readme-table: the README's table
    from .library import main
    raise SystemExit(main())
