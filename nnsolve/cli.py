"""The command line. Heavy modules are imported inside the commands, so that
``--help`` is instant and ``run`` never imports SymPy."""
from __future__ import annotations

import os
import sys

import click

from .errors import InputError

FORMATS = ["terminal", "json", "markdown", "html", "latex"]  # the built-in ones; see nnsolve.render.registry


def fail(err: InputError) -> None:
    click.echo(f"error: {err}", err=True)
    sys.exit(2)


def _stdout_gone() -> None:
    """Standard output failed (the reader closed the pipe, the disk is full): point it at
    /dev/null, so that Python's own flush at exit does not fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def _flush_stdout() -> None:
    """Write out what is buffered while the error handler can still report a failure."""
    try:
        sys.stdout.flush()
    except ValueError:  # closed
        pass


class NnsolveGroup(click.Group):
    def invoke(self, ctx):
        import errno
        try:
            rv = super().invoke(ctx)
            _flush_stdout()
            return rv
        except InputError as err:
            fail(err)
        except BrokenPipeError:  # `nnsolve new lstm | head -1`: the reader has what it wanted
            _stdout_gone()
            sys.exit(0)
        except KeyboardInterrupt:
            click.echo("error: interrupted", err=True)
            sys.exit(130)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort, SystemExit):
            raise
        except OSError as exc:  # writing the output failed (a full disk), or the system refused
            if exc.errno == errno.EPIPE:
                _stdout_gone()
                sys.exit(0)
            if exc.filename is None:
                _stdout_gone()
                click.echo(f"error: cannot write the output: {exc.strerror or exc}", err=True)
            else:
                click.echo(f"error: {exc.filename}: {exc.strerror or exc}", err=True)
            sys.exit(1)
        except RecursionError:
            click.echo("error: the input is nested too deeply to work with", err=True)
            sys.exit(2)
        except MemoryError:
            click.echo("error: the problem is too large for this machine's memory", err=True)
            sys.exit(2)
        except Exception as exc:  # a bug of ours: say so plainly, without a traceback
            if os.environ.get("NNSOLVE_DEBUG"):
                raise
            click.echo(f"internal error ({type(exc).__name__}: {exc}); this is a bug in nnsolve, "
                       "please report it with the problem file", err=True)
            sys.exit(1)


@click.group(cls=NnsolveGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="nnsolve")
def cli():
    """nnsolve: worked solutions of neural-network exercises, step by step.

    \b
    Examples:
      nnsolve run problems/perceptron_seed.yaml        # the working in the terminal
      nnsolve run problems/mlp_seed.yaml --format json # results and working as JSON
      nnsolve kinds                                    # the problem kinds
      nnsolve new lstm > my_problem.yaml               # a commented template to fill in
      nnsolve schema mlp > mlp.schema.json             # JSON Schema of a kind, for editors
      nnsolve derive sigmoid                           # a derivative, rule by rule
    """


def _format_type():
    from .render.registry import format_option
    return format_option()


@cli.command()
@click.argument("file", type=click.Path(dir_okay=True, allow_dash=True, readable=False))
@click.option("--format", "-f", "fmt", type=_format_type(), default="terminal", show_default=True,
              help="terminal: rich working; json: the result contract; markdown: for notes; html: one "
                   "self-contained page (MathML, prints on A4); latex: a document for an answer key.")
@click.option("--precision", "-p", type=click.IntRange(0, 15), default=None,
              help="Decimals shown in the working (overrides the file's 'precision'; default 4).")
@click.option("--rounding", "-r", type=click.IntRange(0, 12), default=None,
              help="Hand rounding: round every number written down to N decimals before it is used "
                   "(overrides the file's 'rounding').")
@click.option("--full", is_flag=True, help="Show every time step and table row of a long problem.")
@click.option("--plots", "plots_dir", metavar="DIR", default=None,
              help="Also write the problem's pictures as SVG files into DIR (needs matplotlib: "
                   "pip install 'nnsolve[plots]').")
def run(file, fmt, precision, rounding, full, plots_dir):
    """Solve the problem in FILE and show the complete working (FILE - reads standard input).

    \b
    Examples:
      nnsolve run problems/lstm_seed.yaml
      nnsolve run problems/mlp_seed.yaml --format json
      nnsolve run problems/perceptron_seed.yaml --precision 6
      nnsolve run problems/mlp_softmax.yaml --format markdown > mlp.md
      nnsolve run problems/lstm_seed.yaml --format html > lstm.html
      nnsolve run problems/lstm_seed.yaml --format latex > lstm.tex
      nnsolve run problems/lstm_seed.yaml --rounding 3   # as a hand calculation to 3 d.p.
      nnsolve run problems/mlp_published_222.yaml --plots pictures/
    """
    _few_collections()
    from .render.registry import get
    renderer = get(fmt)
    if plots_dir is None:
        from .core import solve_file
        working = solve_file(file, precision, rounding, output=(renderer.work, full))
    else:
        from . import plots
        from .core import Problem
        from .loader import load_file
        plots._matplotlib()  # says how to get it before any work
        problem = Problem(load_file(file))
        working = problem.solve(precision, rounding)
        written = plots.write(problem, working, plots_dir)
        click.echo(("wrote " + ", ".join(written)) if written else
                   f"no pictures for this problem (kinds with pictures: "
                   f"{', '.join(sorted(plots.PICTURES))})", err=True)
    emit(working, fmt, full)


_IN_MAIN = [False]  # set by main(): the command is the process


def _few_collections() -> None:
    """For a command that builds one working and writes it: what it makes lives to its end (the
    working's steps and sections, the results' lists), so the cyclic collector's passes over it,
    again and again as it grows, find nothing; they took a third of a long sequence's solve. So
    collect rarely (as mypy does). vary and check solve many problems, whose garbage is cyclic:
    they keep Python's defaults, as do the library's callers."""
    import gc
    if _IN_MAIN[0]:  # a process of its own (not a caller's, nor the tests')
        gc.set_threshold(100_000, 50, 100)


def emit(working, fmt: str, full: bool) -> None:
    """Write WORKING to standard output in the registered format FMT."""
    from .render.registry import get
    renderer = get(fmt)
    if renderer.emit is not None:
        renderer.emit(working, full=full)
    else:
        click.echo(renderer.render(working, full=full), nl=False)


@cli.command()
def kinds():
    """List the problem kinds, one line each.

    \b
    Example:
      nnsolve kinds
    """
    from . import kinds as registry
    for name in registry.available():
        module = registry.get(name)
        summary = getattr(module, "SUMMARIES", {}).get(name) or module.SUMMARY
        click.echo(f"{name:<12} {summary}")


def _complete_kinds(ctx, param, incomplete):
    """Shell completion of KIND (nnsolve new <TAB>)."""
    from . import kinds as registry
    return [k for k in registry.available() if k.startswith(incomplete.lower())]


@cli.command()
@click.argument("kind", shell_complete=_complete_kinds)
def new(kind):
    """Print a commented problem file of KIND to start from.

    \b
    Examples:
      nnsolve new mlp > my_problem.yaml
      nnsolve new perceptron
    """
    from .given import template
    kind = _check_kind(kind, "nnsolve new")
    click.echo(template(kind).rstrip("\n"))
    click.echo(REMARKS_TEMPLATE.rstrip("\n"))


@cli.command()
@click.argument("kind", shell_complete=_complete_kinds)
def schema(kind):
    """Print the JSON Schema (draft-07) of a problem file of KIND, for editors.

    Save it next to your problem files and make this the first line of a problem file:
    "# yaml-language-server: $schema=./mlp.schema.json"; VS Code's YAML extension
    (redhat.vscode-yaml) then completes the keys and checks the file as you type.

    \b
    Examples:
      nnsolve schema mlp > mlp.schema.json
      nnsolve schema lstm | python -m json.tool --compact
    """
    import json

    from .given import json_schema
    kind = _check_kind(kind, "nnsolve schema")
    click.echo(json.dumps(json_schema(kind), indent=2, ensure_ascii=False))


def _check_kind(kind: str, command: str) -> str:
    """KIND as the registry names it (any case, as `kind:` in a file); an unknown KIND is
    an input error, with a suggestion when one is close."""
    from . import kinds as registry
    names = registry.available()
    if kind.strip().lower() in names:
        return kind.strip().lower()
    if kind not in names:
        import difflib
        close = difflib.get_close_matches(kind, names, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise InputError(f"unknown kind '{kind}'; the kinds are: {', '.join(names)}.{hint}", file=command)


REMARKS_TEMPLATE = """\
# remarks:                 # optional, any kind: comments shown in the working, e.g. where
#   - at: h_1              # the notes went wrong; 'at' names a step by its left-hand side
#     text: "The notes round this to 0.54."
#   - "A remark without 'at' goes in a closing section."
"""


def _register_optional():
    """Commands that live in their own modules (each imports its heavy parts lazily)."""
    import importlib
    for modname, attr in (("nnsolve.derive.command", "derive"), ("nnsolve.export", "export"),
                          ("nnsolve.check_command", "check"), ("nnsolve.vary_command", "vary")):
        try:
            module = importlib.import_module(modname)
        except ModuleNotFoundError as exc:
            if exc.name and modname.startswith(exc.name):
                continue
            raise
        cli.add_command(getattr(module, attr))


_register_optional()


def main():
    # At exit, what is left is given back with the process: no last collection walks it first
    # (gc.freeze: the exit's own collection skips it; a long sequence's working is big).
    import gc
    _IN_MAIN[0] = True
    try:
        cli(prog_name="nnsolve")
    finally:
        gc.freeze()


if __name__ == "__main__":
    main()
