"""``nnsolve derive``: a derivative, rule by rule.

Importing this module costs only click (the CLI imports it on every start); SymPy is
imported inside the command, after the expression has passed the safety checks.
"""
from __future__ import annotations

import os

import click

from ..errors import InputError

FORMATS = ["terminal", "json", "markdown"]
TIME_LIMIT = 4.0  # seconds for the whole derivation and its rendering: one budget, however it nests
WHERE = "nnsolve derive"


@click.command(context_settings={"ignore_unknown_options": True})  # derive "-x^2" needs no --
@click.argument("target", required=False, metavar="NAME-OR-EXPRESSION")
@click.option("--wrt", metavar="VAR", help="The variable to differentiate by (default: x).")
@click.option("--at", "at", multiple=True, metavar="VAR=VALUE",
              help="Evaluate the function and its derivative there (repeatable: --at x=0.5 --at a=2; "
                   "a vector for softmax: --at z=1,2,3).")
@click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default="terminal", show_default=True,
              help="terminal: the steps; json: the derivative contract; markdown: for notes.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="Write to FILE (atomically) instead of the screen; an existing file only with --force.")
@click.option("--force", is_flag=True, help="Overwrite the --output file if it exists.")
@click.option("--precision", "-p", type=click.IntRange(0, 15), default=None,
              help="Decimals shown for --at values (default 4; JSON keeps full precision).")
@click.option("--list", "list_", is_flag=True, help="List the named functions of the catalogue.")
def derive(target, wrt, at, fmt, output, precision, list_, force):
    """Differentiate NAME-OR-EXPRESSION step by step, naming each rule.

    NAME is one of the catalogue (see --list): every activation and loss of the
    library (sigmoid, tanh, relu, leaky_relu, elu, softplus, silu, gelu, softmax, mse,
    bce, …) and sigmoid_a; anything else is read as an expression in x (or the variable
    given with --wrt), built from numbers, variables, + - * / ^ and exp, log, sqrt, sin,
    cos, tan, sinh, cosh, tanh, sigma, relu, softplus, erf, Abs, Max, Min, Heaviside,
    Piecewise((x, x > 0), (0, True)), pi, e.

    \b
    Examples:
      nnsolve derive sigmoid                   # ends in σ(x)(1 − σ(x))
      nnsolve derive tanh --at x=0.5           # the steps, then the values at 0.5
      nnsolve derive gelu                      # erf, by the chain rule
      nnsolve derive "1/(1+exp(-a*x))"         # any expression; the variable is x
      nnsolve derive "w*x + b" --wrt w
      nnsolve derive softmax --at z=1,2,3      # the Jacobian s_i(δ_ij − s_j)
      nnsolve derive bce                       # ∂L/∂z = ŷ − y
      nnsolve derive sigmoid --format json
      nnsolve derive sigmoid --format markdown -o sigmoid.md
      nnsolve derive "-x^2"                    # a leading minus is an expression, not an option
      nnsolve derive --list
    """
    _defer_numpy()
    from . import catalogue

    if target is not None and target.startswith("--"):
        raise click.NoSuchOption(target.split("=")[0])
    if output is not None:  # before any work: never over a problem file, an existing file only with --force
        from ..export import check_target
        check_target(output, force, error=lambda message: InputError(message, file=WHERE))
    if list_:
        _write(_listing(fmt), output)
        return
    if not target:
        raise click.UsageError("give a name from the catalogue (nnsolve derive --list) or an expression, "
                               "e.g. nnsolve derive sigmoid")
    name = catalogue.lookup(target)
    checked = None
    if name is None:
        from .safe_parse import check
        checked = check(target)  # refuses hostile or malformed text before SymPy is imported
    if wrt is not None:
        from .safe_parse import is_variable
        if not is_variable(wrt.strip()):
            raise InputError(f"--wrt {wrt!r}: not a variable name (one letter with an optional index, "
                             "or a Greek name)", file=WHERE)
    at_pairs = _split_at(at)

    from .engine import _OutOfTime, time_limit
    try:
        with time_limit(TIME_LIMIT):  # the derivation and its rendering: one budget
            plan = _plan(target, name, checked, wrt)
            plan.run()
            values = _evaluate(plan, at_pairs)
            text = _rendered(plan, values, fmt, precision, output)
    except _OutOfTime:
        raise InputError(f"the derivation would take more than {TIME_LIMIT:g} s (the expression grows too "
                         "large as it is differentiated); try a simpler or shorter expression",
                         file=WHERE) from None
    except RecursionError:
        raise InputError("the expression is nested too deeply to differentiate", file=WHERE) from None
    _write(text, output)


def _finite(v):
    """JSON has no NaN or infinity: a value that is not finite is written null."""
    if isinstance(v, float) and not v - v == 0:
        return None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_finite(x) for x in v]
    return v


def _rendered(plan, values, fmt: str, precision, output) -> str:
    """The text to write: JSON, Markdown, or the terminal's (with its colours when it is one)."""
    if fmt == "json":
        import json
        return json.dumps(_finite(_json(plan, values)), ensure_ascii=False, allow_nan=False) + "\n"
    working = _working(plan, values, precision)
    if fmt == "markdown":
        from ..render.markdown import render as render_md
        return render_md(working)
    from rich.console import Console

    from ..render.terminal import render as render_terminal
    console = Console() if output is None else Console(width=100, color_system=None, force_terminal=False)
    with console.capture() as captured:
        render_terminal(working, console)
    return captured.get()


# -- start-up time -----------------------------------------------------------------------------

def _defer_numpy() -> None:
    """Load NumPy only when something uses it.

    The shared renderers (and nnsolve.working, through nnsolve.expr) import NumPy at the
    top, but a derivation without --at prints only formulas and text and never touches
    it; NumPy's import is a large part of the start-up time above SymPy's. So, for this
    command's process, ``numpy`` in sys.modules is a stand-in module whose first
    attribute access imports the real NumPy (and puts it in sys.modules). Behaviour is
    unchanged: every use of ``np.…`` gets the real thing."""
    import sys
    import types

    if "numpy" in sys.modules:
        return

    class _Deferred(types.ModuleType):
        def __getattr__(self, attr):
            if sys.modules.get("numpy") is self:
                del sys.modules["numpy"]
                try:
                    import numpy  # noqa: F401  (the real one, now)
                except BaseException:
                    sys.modules.setdefault("numpy", self)
                    raise
            return getattr(sys.modules["numpy"], attr)

    stub = _Deferred("numpy", "NumPy, imported on first use")
    stub.__spec__ = None  # `import numpy` looks at __spec__: keep that from loading it
    sys.modules["numpy"] = stub


# -- input ---------------------------------------------------------------------------------

def _split_at(at) -> list[tuple[str, str]]:
    pairs = []
    for item in at:
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise InputError(f"--at {item!r}: write VAR=VALUE, e.g. --at x=0.5", file=WHERE)
        pairs.append((name, value))
    return pairs


def _plan(target, name, checked, wrt):
    import sympy as sp

    from . import catalogue
    from .safe_parse import to_sympy

    if name is not None:
        plan = catalogue.build(name)
        if wrt is None or wrt.strip() == str(plan.var):
            return plan
        symbols = {str(s): s for s in plan.expression.free_symbols}
        var = symbols.get(wrt.strip()) or sp.Symbol(wrt.strip(), real=True)
        return catalogue.plan_for_expression(plan.expression, var, target)
    expr, symbols = to_sympy(checked)
    if wrt is not None:
        key = wrt.strip()
        key = "yhat" if key in ("y_hat", "yhat") else key
        var = symbols.get(wrt.strip()) or next((s for s in expr.free_symbols if s.name == key), None) \
            or sp.Symbol(key, real=True)
    elif "x" in symbols:
        var = symbols["x"]
    else:
        free = sorted(expr.free_symbols, key=str)
        if len(free) == 1:
            var = free[0]
        elif not free:
            var = sp.Symbol("x", real=True)
        else:
            raise InputError(f"the expression has no x; say which variable to differentiate by, e.g. "
                             f"--wrt {free[0]} (its variables: {', '.join(map(str, free))})", file=WHERE)
    return catalogue.plan_for_expression(expr, var, " ".join(target.split()))


def _evaluate(plan, pairs) -> dict | None:
    """--at: the values given (plus parameter defaults), the function and its derivative."""
    if not pairs:
        return None
    from .safe_parse import parse_number
    if plan.vector is not None:
        import numpy as np
        vals = {}
        for name, value in pairs:
            try:
                vals[name] = [float(parse_number(v).evalf()) for v in value.split(",")]
            except (TypeError, ValueError, OverflowError):
                raise InputError(f"--at {name}={value}: not a list of real numbers", file=WHERE) from None
            if not np.all(np.isfinite(vals[name])):
                raise InputError(f"--at {name}={value}: the values must be finite", file=WHERE)
        return {"vector": plan.vector(vals)}

    import sympy as sp

    from .engine import to_elementary
    known = {str(s): s for s in plan.expression.free_symbols | set(plan.params) | {plan.var}}
    known.update({"y_hat": known["yhat"]} if "yhat" in known else {})
    subs, given, shown = {}, {}, {}
    for name, value in pairs:
        if name not in known:
            raise InputError(f"--at {name}: the function has no variable {name!r} "
                             f"(its variables: {', '.join(sorted(k for k in known if k != 'y_hat'))})", file=WHERE)
        v = parse_number(value)
        if not v.is_real:
            v = sp.N(v)
            if not v.is_real:
                raise InputError(f"--at {name}={value}: not a real number", file=WHERE)
        try:
            finite = abs(float(v)) < float("inf")
        except (OverflowError, TypeError, ValueError):
            finite = False
        if not finite:
            raise InputError(f"--at {name}={value}: beyond the float64 range (±1.8 × 10³⁰⁸); give a value "
                             "a float64 can hold", file=WHERE)
        subs[known[name]] = v
        given[str(known[name])] = v
        shown[known[name]] = value
    defaults = {}
    for sym, default in plan.params.items():
        if sym not in subs:
            subs[sym] = sp.Float(default)
            defaults[str(sym)] = default
    missing = sorted(str(s) for s in plan.expression.free_symbols if s not in subs)
    if missing:
        raise InputError("--at: give a value for " + ", ".join(missing) + " too (e.g. --at "
                         + f"{missing[0]}=1)", file=WHERE)

    def num(e):
        v = sp.N(to_elementary(e).subs(subs), 30)
        try:
            c = complex(v)
        except (TypeError, ValueError):
            return None
        if c.imag != 0 or c.real != c.real or abs(c.real) == float("inf"):
            return None
        return c.real

    kink = None
    d = plan.derivative
    if "at_zero" in plan.extra and subs.get(plan.var) == 0 and d.has(sp.Piecewise):
        from .engine import one_sided
        left, right = one_sided(d, plan.var, 0)
        kink = (num(left.subs(plan.var, 0)), num(right.subs(plan.var, 0)))
    ident = None
    if plan.identity is not None and not plan.identity[2].atoms(sp.core.function.AppliedUndef) \
            and plan.identity[2].free_symbols <= set(subs):
        ident = num(plan.identity[2])
    value = num(plan.expression)
    # where the function is not a real number (log at −1), neither is its derivative there
    derivative = num(plan.derivative) if value is not None else None
    return {"subs": subs, "given": given, "defaults": defaults, "value": value,
            "derivative_value": derivative, "identity_value": ident if value is not None else None,
            "kink": kink, "shown": shown}


# -- JSON ------------------------------------------------------------------------------------

def _json(plan, values) -> dict:
    from .engine import tex, to_elementary
    steps = []
    n = 0
    for part in plan.parts:
        d = part.derivation
        for st in d.steps(start=n + 1):
            item = st.as_dict()
            if len(plan.parts) > 1:
                item["part"] = part.title
            steps.append(item)
        n = len(steps)
        lhs = part.lhs
        forms = [tex(d.raw)]
        if d.final != d.raw and tex(d.final) != forms[-1]:
            n += 1
            steps.append({"number": n, "rule": "simplify", "name": "Simplify",
                          "latex": f"{lhs} = {tex(d.raw)} = {tex(d.final)}", "reason": part.simplify_reason,
                          "derivative": str(to_elementary(d.final))})
        for a in part.algebra:
            n += 1
            steps.append(_alg_dict(n, a, lhs, part.title if len(plan.parts) > 1 else None))
    for a in plan.assembly:
        n += 1
        steps.append(_alg_dict(n, a, plan.assembly_lhs, plan.assembly_title))
    out = {
        "command": "derive",
        "name": plan.name,
        "title": plan.title,
        "variable": str(plan.var),
        "expression": str(to_elementary(plan.expression)),
        "derivative": str(to_elementary(plan.derivative)),
        "latex": {"function": ", ".join(t for _, t in plan.definition),
                  "derivative": f"{plan.lhs} = {tex(plan.derivative)}"},
        "steps": steps,
    }
    if plan.identity is not None:
        out["identity"] = plan.identity[0]
        out["latex"]["identity"] = f"{plan.lhs} = {plan.identity[1]}"
    if plan.params:
        out["parameters"] = {str(k): v for k, v in plan.params.items()}
    out.update(plan.extra)
    if values is not None:
        if "vector" in values:
            out.update(values["vector"].json)
        else:
            out["at"] = {k: float(v) for k, v in values["given"].items()}
            if values["defaults"]:
                out["defaults_used"] = values["defaults"]
            out["value"] = values["value"]
            out["derivative_value"] = values["derivative_value"]
            if values["identity_value"] is not None:
                out["identity_value"] = values["identity_value"]
            if values["kink"] is not None:
                out["one_sided_derivatives"] = {"left": values["kink"][0], "right": values["kink"][1]}
    return out


def _alg_dict(n, a, lhs, part) -> dict:
    d = {"number": n, "rule": a.rule, "name": {"identity": "In terms of the function itself",
                                               "chain": "Chain rule"}.get(a.rule, "Algebra"),
         "latex": f"{lhs} = {a.tex}", "reason": a.reason}
    form = a.form()
    if form is not None:
        from .engine import to_elementary
        d["derivative"] = str(to_elementary(form))
    if part:
        d["part"] = part
    return d


# -- the working (terminal and markdown) ---------------------------------------------------------

def _working(plan, values, precision):
    from ..working import Working
    from .engine import tex

    w = Working("derive", plan.title, precision=4 if precision is None else precision)
    top = w.section("The function")
    for label, t in plan.definition:
        top.math(t, label)
    for t in plan.intro:
        top.text(t)

    many = len(plan.parts) > 1
    number = 0
    for part in plan.parts:
        d = part.derivation
        sec = w.section(part.title if many else "Rule by rule")
        for t in part.intro:
            sec.text(t)
        if not part.intro and not many:
            sec.text("Each step names the rule it uses; a rule that needs another derivative "
                     "asks for it, and the following steps work it out.", "note")
        for st in d.steps(start=number + 1):
            number = st.number
            node = st.node
            s = w.section(f"{st.number}. {node.name}" + (f": ${node.formula}$" if node.formula else ""), level=3)
            if node.note:
                s.text(node.note[0].upper() + node.note[1:] + ".", "note")
            s.math(node.application())
        res = w.section(f"Result: ${part.lhs}$" if many else "Putting the steps together", level=3 if many else 2)
        forms = [tex(d.raw)]
        res.math(f"{part.lhs} = {forms[0]}", None)
        if d.final != d.raw and tex(d.final) != forms[-1]:
            res.math(f"{part.lhs} = {tex(d.final)}", _label(part.simplify_reason))
            forms.append(tex(d.final))
        if part.algebra:
            res.text("In terms of the function itself:" if not many else "Rewritten:")
        for a in part.algebra:
            if a.tex not in forms:
                res.math(f"{part.lhs} = {a.tex}", _label(a.reason))
                forms.append(a.tex)
    if plan.assembly:
        sec = w.section(plan.assembly_title)
        for a in plan.assembly:
            sec.math(f"{plan.assembly_lhs} = {a.tex}", _label(a.reason))

    res = w.section("Result")
    if plan.show_derivative or plan.identity is None:
        res.text(f"${plan.lhs} = {tex(plan.derivative)}$", "result")
    if plan.identity is not None and plan.identity[1] != tex(plan.derivative):
        res.text(f"${plan.lhs} = {plan.identity[1]}$", "result")
    for text, kind in plan.notes:
        res.text(text, kind)
    if plan.name is None and plan.parts[0].derivation.root.rule == "sympy":
        res.text("SymPy's own table gave this derivative (no step-by-step rule for it).", "note")
    if values is not None:
        _at_section(w, plan, values)
    return w


def _at_section(w, plan, values) -> None:
    from .engine import tex
    if "vector" in values:
        v = values["vector"]
        sec = w.section("At " + ", ".join(f"${k} = {_fmt_list(x)}$" for k, x in v.json["at"].items()))
        for label, name, formula in v.rows:
            sec.step(label, name, formula)
        if v.table:
            title, cols, rows = v.table
            sec.table(cols, rows, title)
        return
    where = ", ".join(f"${tex(k)} = {_value_tex(v)}$" for k, v in values["shown"].items()) \
        or "the parameters' defaults"
    sec = w.section(f"At {where}")
    if values["defaults"]:
        sec.text("Default " + ", ".join(f"${tex(k_sym)} = {v:g}$" for k_sym, v in
                                        ((s, d) for s, d in plan.params.items() if str(s) in values["defaults"]))
                 + " (give another with --at).", "note")
    kink = values.get("kink")
    shown = False
    if kink is None:
        try:
            shown = _at_steps(sec, plan, values)
        except Exception:  # a form the formula printer cannot show: the table below says it
            shown = False
    if not shown:
        cols = [tex(plan.var), plan.fname, plan.lhs]
        row = [float(values["subs"][plan.var]) if plan.var in values["subs"] else "",
               _cell(values["value"]), _cell(values["derivative_value"])]
        if kink is not None:
            cols += ["left derivative", "right derivative"]
            row += [_cell(kink[0]), _cell(kink[1])]
        sec.table(cols, [row])
    if values["value"] is None:
        sec.text("The function is not a real number there (nor, then, its derivative): the point is "
                 "outside its domain.", "warning")
    elif values["derivative_value"] is None:
        sec.text("The derivative is not a real number there (or does not exist).", "warning")
    if kink is not None and kink[0] != kink[1]:
        sec.text(f"The left and right derivatives at ${tex(plan.var)} = 0$ differ: the derivative does not "
                 "exist there. The value shown is the convention of PyTorch and TensorFlow (the left "
                 "piece's), which nnsolve follows.", "warning")


def _at_steps(sec, plan, values) -> bool:
    """Steps with the numbers put in (symbolic, substituted, value) through nnsolve.expr."""
    from .engine import to_formula
    f = to_formula(plan.expression, values["subs"])
    d = to_formula(plan.derivative, values["subs"])
    if f is None or d is None or values["value"] is None or values["derivative_value"] is None:
        return False
    sec.step("The function", plan.fname, f)
    sec.step("Its derivative", plan.lhs, d)
    if plan.identity is not None and values["identity_value"] is not None:
        i = to_formula(plan.identity[2], values["subs"])
        if i is not None:
            sec.step("By the identity", plan.lhs, i)
    return True


def _label(reason: str | None) -> str | None:
    """A formula's label is plain text in the renderers: its $…$ math as Unicode."""
    if not reason:
        return None
    import re

    from ..notation import to_unicode
    return re.sub(r"\$([^$]+)\$", lambda m: to_unicode(m.group(1)), reason)


def _cell(v):
    return "—" if v is None else v


def _value_tex(text: str) -> str:
    """A value of --at as the user wrote it (0.5, pi/4), in LaTeX; a power (2^10) as SymPy
    writes its value, exponent in braces."""
    import re
    if "^" in text or "**" in text:
        import sympy as sp

        from .safe_parse import parse_number
        return sp.latex(parse_number(text))
    return re.sub(r"\bpi\b", r"{\\pi}", " ".join(text.split()))


def _fmt_list(x) -> str:
    return "(" + ", ".join(f"{float(t):g}" for t in x) + ")"


# -- output -----------------------------------------------------------------------------------

def _listing(fmt: str) -> str:
    from .catalogue import entries
    ENTRIES = entries()  # every record of the library (nnsolve.nn), and the catalogue's own
    if fmt == "json":
        import json
        return json.dumps([{"name": n, "aliases": list(a), "summary": s} for n, (a, s) in ENTRIES.items()],
                          ensure_ascii=False) + "\n"
    if fmt == "markdown":
        lines = ["| name | also | derivative |", "|---|---|---|"]
        lines += [f"| `{n}` | {', '.join(a)} | {s} |" for n, (a, s) in ENTRIES.items()]
        return "\n".join(lines) + "\n"
    width = max(len(n) for n in ENTRIES) + 2
    lines = [f"{n:<{width}}{s}" + (f"  (also: {', '.join(a)})" if a else "") for n, (a, s) in ENTRIES.items()]
    lines.append("")
    lines.append("Anything else is read as an expression: nnsolve derive \"x^2 sin(x)\" [--wrt x].")
    return "\n".join(lines) + "\n"


def _write(text: str, output: str | None) -> None:
    if output is None:
        click.echo(text, nl=False)
        return
    write_atomic(output, text)


def write_atomic(path: str, text: str, force: bool = True) -> None:
    """Write TEXT to PATH atomically, as export does (a temporary file in the same directory,
    then os.replace; Ctrl-C waits until it is done), so a reader never sees half a file."""
    from ..export import ExportError
    from ..export import write_atomic as write
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise InputError(f"cannot write {path}: the directory {directory} does not exist", file=WHERE)
    try:
        write(path, text, force)
    except ExportError as exc:
        raise InputError(str(exc), file=WHERE) from None
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}", file=WHERE) from None
