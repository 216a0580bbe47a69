"""``nnsolve export``: write the working of one or many problems to files of any registered
format (Markdown, JSON, HTML, LaTeX, plain text: nnsolve.render.registry).

Every file is solved and rendered in this one process (start-up is paid once), written
atomically (a temporary file in the same directory, then os.replace: a crash never leaves
half a file), never over an input, and over an existing file only with --force. One bad
problem is reported on one line and the others are still exported (exit status 2).
"""
from __future__ import annotations

import contextlib
import os
import sys

import click

from .errors import InputError

def _renderer(name: str):
    from .render.registry import get
    return get(name)


def _extensions() -> dict:
    """{extension: format name} of every registered format."""
    from .render.registry import all_renderers
    return {ext: r.name for r in all_renderers() for ext in r.extensions}


PROBLEM_SUFFIXES = (".yaml", ".yml")
PROGRESS_MIN_FILES = 6  # without a terminal, a progress bar only for more files than this


class ExportError(Exception):
    """One output that cannot be written (exists, is an input, …): reported, not fatal."""


def _is_dir_target(path: str) -> bool:
    return path.endswith(("/", os.sep)) or os.path.isdir(path)


def _expand(inputs) -> list[str]:
    """The problem files named: a directory stands for its *.yaml / *.yml files.
    A file named twice is exported once."""
    out, seen = [], set()
    for p in inputs:
        if os.path.isdir(p):
            try:
                names = sorted(n for n in os.listdir(p) if n.endswith(PROBLEM_SUFFIXES))
            except OSError as exc:
                raise InputError(f"cannot list the directory: {exc.strerror or exc}", file=p) from None
            if not names:
                raise InputError("this directory holds no problem files (*.yaml, *.yml)", file=p)
            files = [os.path.join(p, n) for n in names]
        else:
            files = [p]
        for f in files:
            key = os.path.realpath(f)
            if key not in seen:
                seen.add(key)
                out.append(f)
    return out


def _format_of(path: str, fmt: str | None) -> str:
    ext = os.path.splitext(path)[1].lower()
    exts = _extensions()
    from_ext = exts.get(ext)
    if from_ext is None:
        if fmt:
            return fmt
        raise click.UsageError(f"cannot tell the format of '{path}' from its extension; "
                               f"use {', '.join(list(exts)[:-1])} or {list(exts)[-1]} (or --format)")
    if fmt and fmt != from_ext:
        raise click.UsageError(f"'{path}' is a {_short(from_ext)} file name but --format {_short(fmt)} was given")
    return from_ext


def _short(name: str) -> str:
    """A format as the user names it (md for markdown)."""
    r = _renderer(name)
    return r.aliases[0] if r.aliases and len(r.aliases[0]) < len(r.name) else r.name


def _plan(files: list[str], output: str, fmt: str | None) -> list[tuple[str, str, str]]:
    """(input, output file, format) for every input."""
    if len(files) > 1 or _is_dir_target(output):
        if os.path.exists(output) and not os.path.isdir(output):
            raise click.UsageError(f"-o {output}: is a file; several inputs need -o DIR/ (an existing "
                                   "directory, or a path ending in / to create)")
        if len(files) > 1 and not _is_dir_target(output):
            raise click.UsageError(f"{len(files)} input files need -o DIR/ (an existing directory, or a "
                                   f"path ending in / to create), not the file name '{output}'")
        fmt = fmt or "markdown"
        suffix = _renderer(fmt).extensions[0]
        return [(f, os.path.join(output, os.path.splitext(os.path.basename(f))[0] + suffix), fmt)
                for f in files]
    return [(files[0], output, _format_of(output, fmt))]


def _render(working, fmt: str, full: bool) -> str:
    return _renderer(fmt).render(working, full=full)


def check_target(target: str, force: bool, inputs_real=(), error=ExportError) -> None:
    """Whether nnsolve may write TARGET (export, derive -o): never over an input or any
    .yaml / .yml file (a problem file), over an existing file only with --force, and into a
    directory that is there. Raises ``error`` (one line) if not."""
    real = os.path.realpath(target)
    if real in inputs_real:
        raise error(f"{target}: is one of the input files; refusing to overwrite a problem file")
    if target.lower().endswith(PROBLEM_SUFFIXES) or real.lower().endswith(PROBLEM_SUFFIXES):
        raise error(f"{target}: refusing to write a .yaml file: nnsolve never writes over a problem file "
                    "(write .md or .json)")
    if os.path.isdir(target):
        raise error(f"{target}: is a directory")
    if os.path.lexists(target) and not force:
        raise error(f"{target}: exists; use --force to overwrite it")
    parent = os.path.dirname(target) or "."
    if not os.path.isdir(parent):
        if os.path.exists(parent):
            raise error(f"{target}: {parent} is a file, not a directory")
        raise error(f"{target}: the directory {parent} does not exist")


def _check_target(target: str, inputs_real: set, force: bool) -> None:
    check_target(target, force, inputs_real)


@contextlib.contextmanager
def interrupt_deferred():
    """Ctrl-C while a file is written takes effect once it is written (or its temporary
    file removed): an interrupted export never leaves a hidden temporary file behind."""
    import signal
    import threading
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    try:
        old = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
        if caught and old is not signal.SIG_IGN:
            raise KeyboardInterrupt


def write_atomic(target: str, text: str, force: bool) -> None:
    """Write text to target through a temporary file in the same directory and os.replace,
    so that target is either untouched or complete."""
    import tempfile

    parent = os.path.dirname(target) or "."
    data = text.encode("utf-8")
    with interrupt_deferred():
        _write_atomic(target, data, force, parent, tempfile)


def _write_atomic(target, data, force, parent, tempfile) -> None:
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(target) + ".", suffix=".tmp", dir=parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp makes the file private (0600); give it the mode a new file would have.
        try:
            mode = os.stat(target).st_mode & 0o7777
        except OSError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        if not force and os.path.lexists(target):  # appeared while we were writing
            raise ExportError(f"{target}: exists; use --force to overwrite it")
        os.replace(tmp, target)
        tmp = None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


class _Reporter:
    """Messages and the progress bar on stderr; the bar only on a terminal or for many files."""

    def __init__(self, total: int):
        self.progress = None
        self.task = None
        if total > 1 and (sys.stderr.isatty() or total >= PROGRESS_MIN_FILES):
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
            console = Console(stderr=True)
            self.progress = Progress(TextColumn("exporting"), BarColumn(), MofNCompleteColumn(),
                                     TimeElapsedColumn(), TextColumn("{task.description}"),
                                     console=console, transient=console.is_terminal)
            self.task = self.progress.add_task("", total=total)

    def __enter__(self):
        if self.progress:
            self.progress.start()
        return self

    def __exit__(self, *exc):
        if self.progress:
            self.progress.stop()

    def current(self, name: str) -> None:
        if self.progress:
            self.progress.update(self.task, description=name)

    def advance(self) -> None:
        if self.progress:
            self.progress.advance(self.task)

    def error(self, line: str) -> None:
        if self.progress and self.progress.console.is_terminal:
            from rich.text import Text
            self.progress.console.print(Text(line, style="red"), soft_wrap=True)
        else:
            click.echo(line, err=True)


def _format_type():
    from .render.registry import format_option
    return format_option()


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(allow_dash=False, readable=False))
@click.option("--output", "-o", required=True, metavar="PATH",
              help="Output file (format from its extension: .md, .json, .html, .tex, .txt), or a directory "
                   "(existing, or a path ending in / to create) for one file per problem.")
@click.option("--format", "-f", "fmt", type=_format_type(), default=None,
              help="Format of the files written into a directory (default markdown): markdown (md), "
                   "json, html, latex, terminal (plain text).")
@click.option("--force", is_flag=True, help="Overwrite existing output files.")
@click.option("--precision", "-p", type=click.IntRange(0, 15), default=None,
              help="Decimals shown in the working (overrides each file's 'precision'; default 4).")
@click.option("--full", is_flag=True, help="Every time step of a long problem (Markdown).")
def export(files, output, fmt, force, precision, full):
    """Write the working of FILE(s) to Markdown, JSON, HTML or LaTeX files.

    One input: -o names the file and its extension the format. Several inputs (or a
    directory of problems): -o DIR/ and one file per problem, named after it
    (lstm_seed.yaml -> DIR/lstm_seed.md). An existing file is overwritten only with
    --force, and never an input or a .yaml file. A problem that fails is reported on one line and the
    others are still exported; the exit status is then 2.

    \b
    Examples:
      nnsolve export problems/lstm_seed.yaml -o lstm.md
      nnsolve export problems/*.yaml -o answer-key/
      nnsolve export problems/ -o answer-key/ --format json
      nnsolve export problems/mlp_seed.yaml -o mlp.json
      nnsolve export problems/lstm_seed.yaml -o lstm.html
      nnsolve export problems/lstm_seed.yaml -o lstm.tex
    """
    inputs = _expand(files)
    plan = _plan(inputs, output, fmt)
    inputs_real = {os.path.realpath(f) for f in inputs}
    out_dir = output if (len(plan) > 1 or _is_dir_target(output)) else None
    if out_dir and not os.path.isdir(out_dir):
        stem = out_dir.rstrip("/" + os.sep) or out_dir
        if os.path.exists(stem) and not os.path.isdir(stem):
            raise InputError(f"{stem} is a file, not a directory", file=out_dir)
        try:
            os.makedirs(out_dir, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create the directory: {exc.strerror or exc}", file=out_dir)

    failed = 0
    written: dict[str, str] = {}  # real output path -> input that wrote it
    debug = bool(os.environ.get("NNSOLVE_DEBUG"))
    try:
        failed = _export_all(plan, inputs_real, force, precision, full, written, debug)
    except KeyboardInterrupt:
        click.echo(f"error: interrupted; exported {len(written)} of {len(plan)} file{'s' if len(plan) > 1 else ''}"
                   + (f" to {out_dir}" if out_dir and written else ""), err=True)
        sys.exit(130)

    done = len(plan) - failed
    where = out_dir if out_dir and len(plan) > 1 else plan[0][1]
    if failed:
        click.echo(f"{failed} of {len(plan)} failed; exported {done} to {where}" if len(plan) > 1
                   else f"nothing written to {where}", err=True)
        sys.exit(2)
    click.echo(f"exported {done} files to {where}" if len(plan) > 1 else f"wrote {where}", err=True)


def _export_all(plan, inputs_real, force, precision, full, written, debug) -> int:
    """Export every planned file; returns how many failed."""
    from .core import solve_file
    failed = 0
    with _Reporter(len(plan)) as report:
        for src, target, kind in plan:
            report.current(os.path.basename(src))
            try:
                real = os.path.realpath(target)
                if real in written:
                    raise ExportError(f"{target}: would also be written from {written[real]} "
                                      "(two inputs with the same name)")
                _check_target(target, inputs_real, force)
                working = solve_file(src, precision, output=(_renderer(kind).work, full))
                write_atomic(target, _render(working, kind, full), force)
                written[real] = src
            except InputError as err:
                failed += 1
                report.error(f"error: {err}")
            except ExportError as err:
                failed += 1
                report.error(f"error: {err}")
            except OSError as err:
                failed += 1
                report.error(f"error: {target}: cannot write: {err.strerror or err}")
            except (KeyboardInterrupt, MemoryError, RecursionError):
                raise
            except Exception as exc:  # a bug of ours: name the file, carry on with the rest
                if debug:
                    raise
                failed += 1
                report.error(f"internal error in {src} ({type(exc).__name__}: {exc}); this is a bug in "
                             "nnsolve, please report it with the problem file")
            report.advance()
    return failed
