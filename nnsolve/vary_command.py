"""The ``nnsolve vary`` command: exam variants with answer keys, and a Moodle quiz
(the drawing and the fairness rules are in :mod:`nnsolve.vary`)."""
from __future__ import annotations

import os
import shutil
import sys
import tempfile

import click

from .errors import InputError

PROGRESS_FROM = 20  # variants: fewer finish before a bar would be worth drawing


class _Progress:
    """A rich progress bar on stderr, only when stderr is a terminal and the run is long.
    It starts at the first variant drawn, after the worker processes are forked (its
    refresh thread is never forked with them)."""

    def __init__(self, total: int):
        self.bar = None
        self.started = False
        if total >= PROGRESS_FROM and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
            self.bar = Progress(TextColumn("drawing variants"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), console=Console(stderr=True), transient=True)
            self.task = self.bar.add_task("", total=total)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.started:
            self.bar.stop()

    def at(self, n: int) -> None:
        if self.bar:
            if not self.started:
                self.bar.start()
                self.started = True
            self.bar.update(self.task, completed=n)


def _write(target: str, text: str) -> None:
    """Write through a temporary file in the same directory and os.replace: a file is either
    the old one or complete."""
    parent = os.path.dirname(target) or "."
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(target) + ".", suffix=".tmp", dir=parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8"))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
        tmp = None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _create(path: str, data: bytes) -> None:
    """A new file in the staging directory (private and new: no temporary file needed)."""
    with open(path, "xb") as fh:
        fh.write(data)


def _check_targets(targets, problem: str, force: bool) -> None:
    real_problem = os.path.realpath(problem)
    for t in targets:
        if os.path.realpath(t) == real_problem:
            raise click.UsageError(f"{t}: is the problem file; refusing to overwrite it")
        if os.path.isdir(t):
            raise click.UsageError(f"{t}: is a directory")
        if os.path.lexists(t) and not force:
            raise click.UsageError(f"{t}: exists; use --force to overwrite it")


@click.command()
@click.argument("problem", type=click.Path(dir_okay=True, allow_dash=False))
@click.option("--count", "-n", type=click.IntRange(1, 10_000), default=10, show_default=True,
              help="How many variants (at most 10,000).")
@click.option("--seed", "-s", type=click.IntRange(0, 2**63 - 1), default=0, show_default=True,
              help="The seed of the draw: the same problem, count and seed give the same bytes.")
@click.option("--output", "-o", "out_dir", metavar="DIR", default=None,
              help="Write NAME-01.yaml …, NAME-01.key.md … and index.md into DIR (created if needed).")
@click.option("--moodle", "moodle", metavar="FILE", default=None,
              help="Write a Moodle XML quiz: one cloze question per variant, one NUMERICAL answer per "
                   "asked quantity.")
@click.option("--tolerance", "-t", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Absolute tolerance of the quiz's answers (default: one unit of the last decimal shown).")
@click.option("--precision", "-p", type=click.IntRange(0, 15), default=None,
              help="Decimals of the keys, the index and the quiz (default: the file's precision, else 4).")
@click.option("--format", "-f", "fmt", type=click.Choice(["md", "json"]), default="md", show_default=True,
              help="Format of the answer keys.")
@click.option("--full", is_flag=True, help="Keys show every time step and table row of a long problem.")
@click.option("--force", is_flag=True, help="Overwrite existing output files.")
def vary(problem, count, seed, out_dir, moodle, tolerance, precision, fmt, full, force):
    """Draw COUNT exam variants of PROBLEM, with answer keys and a Moodle quiz.

    Each variant is PROBLEM with its given numbers redrawn (same sign, same decimals, at
    most 2, within [½|x|, 2|x|]; whole numbers, sizes, labels and tokens never change),
    and kept only when it makes a fair question (no σ/tanh argument beyond ±4, no
    step/sign unit with |v| < 0.05, a perceptron that still converges, no two alike).
    The file's optional `vary` block sets ranges per key path (or `fixed`), and `ask`
    the result paths the question asks for.

    \b
    Examples:
      nnsolve vary problems/lstm_seed.yaml --count 30 --seed 7 -o exam/
      nnsolve vary problems/lstm_seed.yaml --count 30 --seed 7 --moodle quiz.xml
      nnsolve vary problems/perceptron_seed.yaml -n 5 -o sheet/ --moodle sheet/quiz.xml
    """
    from . import vary as V

    if out_dir is None and moodle is None:
        raise click.UsageError("say where the variants go: -o DIR/ for the problem files and keys, "
                               "--moodle FILE for a quiz, or both")
    if os.path.isdir(problem):
        raise InputError("is a directory, not a problem file", file=problem)
    orig = V.prepare(problem, precision)
    prec = orig.precision if precision is None else precision
    tol = tolerance if tolerance is not None else 10.0 ** -prec
    width = max(2, len(str(count)))
    names = [f"{orig.name}-{i:0{width}d}" for i in range(1, count + 1)]
    targets = []
    if out_dir is not None:
        if os.path.exists(out_dir) and not os.path.isdir(out_dir):
            raise click.UsageError(f"-o {out_dir}: is a file; the variants need a directory")
        targets += [os.path.join(out_dir, f"{n}{ext}") for n in names for ext in (".yaml", f".key.{fmt}")]
        targets.append(os.path.join(out_dir, "index.md"))
    if moodle is not None:
        targets.append(moodle)
    _check_targets(targets, problem, force)

    created = out_dir is not None and not os.path.isdir(out_dir)
    staging = None
    if out_dir is not None:
        try:
            os.makedirs(out_dir, exist_ok=True)
            staging = tempfile.mkdtemp(prefix=".nnsolve-vary-", dir=out_dir)
        except OSError as exc:
            raise InputError(f"cannot create the directory: {exc.strerror or exc}", file=out_dir)

    def render(working):
        return working.to_json(full=full) if fmt == "json" else working.to_markdown(full=full)

    def accept(v, text):
        """Each kept variant's problem file and key, written as it is drawn (into a staging
        directory: nothing lands in DIR unless every variant could be drawn)."""
        key = (V.key_json if fmt == "json" else V.key_markdown)(orig, v, seed, text, prec)
        # straight into the staging directory (a private new directory, moved into DIR
        # only when every variant is drawn: no file needs a temporary of its own)
        for name, body in ((v.name + ".yaml", V.variant_yaml(orig, v, seed)), (f"{v.name}.key.{fmt}", key)):
            writes.append(writer.submit(_create, os.path.join(staging, name), body.encode("utf-8")))

    from concurrent.futures import ThreadPoolExecutor
    writer = ThreadPoolExecutor(max_workers=1)  # creating files waits on the disk: beside the drawing
    writes: list = []
    try:
        try:
            with _Progress(count) as bar:
                variants, rejected = V.draw_variants(
                    orig, count, seed, precision=prec, render=render if staging else None,
                    on_accept=accept if staging else None, progress=bar.at)
        finally:
            writer.shutdown(wait=True)
        for done in writes:
            done.result()  # an error writing a file is raised here
        if staging is not None:
            _write(os.path.join(staging, "index.md"), V.index_markdown(orig, variants, seed, prec, fmt))
            for name in sorted(os.listdir(staging)):
                os.replace(os.path.join(staging, name), os.path.join(out_dir, name))
    except BaseException:
        if created:
            shutil.rmtree(out_dir, ignore_errors=True)
        raise
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    if moodle is not None:
        parent = os.path.dirname(moodle) or "."
        if not os.path.isdir(parent):
            raise InputError(f"the directory {parent} does not exist", file=moodle)
        _write(moodle, V.moodle_xml(orig, variants, seed, prec, tol))

    drawn = count + sum(rejected.values())
    why = ", ".join(f"{n} {rule}" for rule, n in sorted(rejected.items(), key=lambda r: (-r[1], r[0])))
    where = " and ".join(x for x in (out_dir, moodle) if x)
    click.echo(f"{count} variant{'s' if count != 1 else ''} of {orig.basename} (seed {seed}) written to {where}; "
               f"{drawn} draws" + (f", {sum(rejected.values())} redrawn ({why})" if rejected else ""), err=True)
