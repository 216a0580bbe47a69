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


def _registry():
    try:
        from ..render import registry
    except ImportError:
        return None
    return registry if hasattr(registry, "get") and hasattr(registry, "names") else None


def _format_type():
    """--format: a name of the renderer registry (html, latex… when they exist), checked
    in the command, after NumPy's import is deferred (importing a renderer imports it)."""
    reg = _registry()
    if reg is None:
        return click.Choice(FORMATS)

    class FormatName(click.ParamType):
        name = "format"

        def get_metavar(self, param, ctx=None):
            return "[" + "|".join(reg.names()) + "]"

        def convert(self, value, param, ctx):
            return value

    return FormatName()


@click.command(context_settings={"ignore_unknown_options": True})  # derive "-x^2" needs no --
@click.argument("target", required=False, metavar="NAME-OR-EXPRESSION")
@click.option("--wrt", metavar="VAR", help="The variable to differentiate by (default: x).")
@click.option("--at", "at", multiple=True, metavar="VAR=VALUE",
              help="Evaluate the function and its derivative there (repeatable: --at x=0.5 --at a=2; "
                   "a vector for softmax: --at z=1,2,3).")
@click.option("--format", "-f", "fmt", type=_format_type(), default="terminal", show_default=True,
              help="terminal: the steps; json: the working, its results the derivative contract; "
                   "markdown: for notes; and every other format of nnsolve run.")
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

    r = _renderer(fmt)  # a format of the registry, or exit 2 before any work
    fmt = getattr(r, "name", fmt)  # md -> markdown

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
            text = _rendered(plan, values, fmt, precision, output)  # None: written already
    except _OutOfTime:
        raise InputError(f"the derivation would take more than {TIME_LIMIT:g} s (the expression grows too "
                         "large as it is differentiated); try a simpler or shorter expression",
                         file=WHERE) from None
    except RecursionError:
        raise InputError("the expression is nested too deeply to differentiate", file=WHERE) from None
    if text is not None:
        _write(text, output)


def _rendered(plan, values, fmt: str, precision, output) -> str | None:
    """The derivation as a Working (printer.py), rendered by the format's renderer from
    the registry, as `nnsolve run` renders a problem: nothing here knows a format. The
    text to write to OUTPUT; to the screen, the renderer writes it itself (None)."""
    from .printer import working
    w = working(plan, values, precision, results=fmt not in ("terminal", "markdown"))  # not shown there
    if fmt == "json":
        # problem-format.md fixes the contract's keys (variable, expression, derivative,
        # steps, identity) at the top of the object: they stand there, and the Working's
        # kind, title, results (the same contract) and sections beside them
        import json
        shown = json.loads(render_working(w, fmt, to_file=True))
        return json.dumps({**shown.get("results", {}), **shown}, ensure_ascii=False, indent=2) + "\n"
    return render_working(w, fmt, to_file=output is not None)


def render_working(w, fmt: str, to_file: bool = True) -> str | None:
    """W in format FMT (every section in full: a derivation is short): its text, or, for
    the screen (not TO_FILE), written by the renderer itself (the terminal's colours)."""
    r = _renderer(fmt)
    if r is None:  # no registry (an older tree): the three formats by their modules
        return _render_direct(w, fmt, to_file)
    if not to_file and getattr(r, "emit", None) is not None:
        r.emit(w, full=True)
        return None
    return r.render(w, full=True)


def _renderer(fmt: str):
    reg = _registry()
    if reg is None:
        return None
    try:
        return reg.get(fmt)
    except KeyError:
        raise InputError(f"--format {fmt}: not a format (the formats: {', '.join(reg.names())})",
                         file=WHERE) from None


def _render_direct(w, fmt: str, to_file: bool) -> str:
    if fmt == "json":
        from ..render.json import render as render_json
        return render_json(w, full=True) + "\n"
    if fmt == "markdown":
        from ..render.markdown import render as render_md
        return render_md(w, full=True)
    from rich.console import Console

    from ..render.terminal import render as render_terminal
    console = Console() if not to_file else Console(width=100, color_system=None, force_terminal=False)
    with console.capture() as captured:
        render_terminal(w, console, full=True)
    return captured.get()


def _working(plan, values, precision):
    """The Working (nnsolve.api calls this); its results are the contract."""
    from .printer import working
    return working(plan, values, precision)


def _json(plan, values) -> dict:
    """The contract (the JSON's "results"), as nnsolve.api reads it."""
    from .printer import contract
    return contract(plan, values)


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
    if "at_zero" in plan.extra and subs.get(plan.var) == 0 and d.has(sp.Piecewise, sp.sign):
        from .engine import one_sided
        from .kinks import as_cases
        left, right = one_sided(as_cases(d), plan.var, 0)
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
