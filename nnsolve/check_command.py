"""The `nnsolve check` command: a marked script per answers file, and a class summary."""
from __future__ import annotations

import json
import sys

import click

from .errors import InputError

MARK = {"correct": "✓", "rounding": "≈", "follow_through": "FT", "wrong": "✗"}
WORDS = {"correct": "correct", "rounding": "right up to rounding", "follow_through": "follow-through",
         "wrong": "wrong"}


def _num(v) -> str:
    import numpy as np
    a = np.asarray(v, dtype=float)
    if a.ndim == 0 or a.size == 1:
        a = a.reshape(-1)[0]
        return f"{float(a):.6g}".replace("-", "−")
    return "[" + ", ".join(f"{x:.6g}".replace("-", "−") for x in a.ravel()) + "]"


def report_lines(report) -> list[tuple[str, str]]:
    """(style, text) lines of a marked script, shared by the terminal and Markdown."""
    tol = report.tolerance
    out = [("title", f"{report.answers} — marked against {report.problem}")]
    for item in report.items:
        dec = int(tol.amount) if tol.form == "decimals" else item.decimals
        given = f"{item.given:.{dec}f}".replace("-", "−") if isinstance(item.given, float) else _num(item.given)
        line = f"{MARK[item.status]:>2}  {item.path} = {given}"
        if item.status != "correct":
            line += f"   (right: {_num(item.expected)}"
            ftv = item.follow_through_value
            if ftv is not None and item.status != "rounding" and _num(ftv) != _num(item.expected):
                line += f"; from your earlier answers: {_num(ftv)}"
            line += ")"
        out.append((item.status, line))
        if item.status == "follow_through":
            out.append(("note", "error carried forward: right from your own earlier answers"))
        elif item.explanation:
            out.append(("note", item.explanation.split(": ", 1)[-1]))
    first = next((i for i in report.items if i.status == "wrong"), None)
    if first is not None and first.working:
        wk = first.working
        out.append(("head", f"First wrong step, {first.path}: the right working"))
        if wk.get("symbolic"):
            out.append(("math", f"  {wk['lhs']} = {wk['symbolic']}"))
            for f in wk["substituted"]:
                out.append(("math", f"  {' ' * len(wk['lhs'])} = {f}"))
            out.append(("math", f"  {' ' * len(wk['lhs'])} = {wk['value']}"))
        else:
            out.append(("math", f"  {first.path} = {wk['value']}" + (f"  ({wk['note']})" if wk.get("note") else "")))
    s = report.summary
    out.append(("summary", f"{s['correct']} correct, {s['rounding']} right up to rounding, "
                           f"{s['follow_through']} follow-through, {s['wrong']} wrong, of {s['total']} "
                           f"(tolerance: {report.tolerance.text()})"))
    return out


STYLE = {"title": "bold", "correct": "green", "rounding": "cyan", "follow_through": "yellow", "wrong": "bold red",
         "note": "dim", "head": "bold", "math": "", "summary": "bold"}


def renderables(reports, summary: bool) -> list:
    """The marked scripts (and the class summary) as rich renderables."""
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text
    out = []
    for r in reports:
        for style, text in report_lines(r):
            if style == "note":  # wrapped lines keep their indent under the answer
                out.append(Padding(Text(text, style=STYLE[style]), (0, 0, 0, 6)))
            else:
                out.append(Text(text, style=STYLE[style]))
        out.append(Text(""))
    if summary:
        t = Table(title="Summary")
        for c in ("answers", "correct", "≈ rounding", "FT", "wrong", "first wrong"):
            t.add_column(c)
        for r in reports:
            s = r.summary
            t.add_row(r.answers, str(s["correct"]), str(s["rounding"]), str(s["follow_through"]), str(s["wrong"]),
                      r.first_wrong or "—")
        out.append(t)
    return out


def render_terminal(reports, summary: bool) -> None:
    from rich.console import Console
    console = Console(highlight=False)
    for r in renderables(reports, summary):
        console.print(r)


def render_markdown(reports, summary: bool) -> str:
    out = []
    for r in reports:
        for style, text in report_lines(r):
            if style == "title":
                out.append(f"## {text}\n")
            elif style == "head":
                out.append(f"\n**{text}**\n")
            elif style == "math":
                out.append(f"    {text.strip()}")
            elif style == "summary":
                out.append(f"\n*{text}*\n")
            elif style == "note":
                out.append(f"  {text.strip()}  ")
            else:
                out.append(f"- {text.strip()}  ")
        out.append("")
    if summary:
        out.append("| answers | correct | ≈ rounding | FT | wrong | first wrong |")
        out.append("|---|---|---|---|---|---|")
        for r in reports:
            s = r.summary
            out.append(f"| {r.answers} | {s['correct']} | {s['rounding']} | {s['follow_through']} | {s['wrong']} "
                       f"| {r.first_wrong or '—'} |")
    return "\n".join(out) + "\n"


@click.command()
@click.argument("problem", type=click.Path(dir_okay=True))
@click.argument("answers", nargs=-1, required=True, type=click.Path(dir_okay=True))
@click.option("--format", "-f", "fmt", type=click.Choice(["terminal", "json", "markdown"]), default="terminal",
              show_default=True, help="terminal: a marked script; json: the contract; markdown: for feedback.")
@click.option("--summary", is_flag=True, help="Also one table of all the answer files (a class's scripts).")
def check(problem, answers, fmt, summary):
    """Mark a student's working: each answer correct, right up to rounding, follow-through
    (right from their own earlier answers) or wrong, with the likely slip named.

    ANSWERS files hold result paths and the student's values:

    \b
      answers:
        i[1]: 1.0
        h[1]: 0.551
      tolerance: {decimals: 3}     # optional

    \b
    Examples:
      nnsolve check problems/lstm_seed.yaml problems/answers/lstm_seed.notes.yaml
      nnsolve check problems/mlp_seed.yaml scripts/*.yaml --summary
      nnsolve check problems/lstm_seed.yaml answers.yaml --format json

    Exit status: 0 when nothing is wrong, 1 when something is, 2 for bad input.
    """
    from .check import Solver, check_with
    from .loader import load_file
    solver = Solver(load_file(problem))
    reports = [check_with(solver, a, problem) for a in answers]
    if fmt == "json":
        data = [r.to_dict() for r in reports]
        if len(data) == 1 and not summary:
            click.echo(json.dumps(data[0], ensure_ascii=False))
        else:
            out = {"reports": data}
            if summary:
                out["summary"] = {k: sum(r.summary[k] for r in reports)
                                  for k in ("correct", "rounding", "follow_through", "wrong", "total")}
            click.echo(json.dumps(out, ensure_ascii=False))
    elif fmt == "markdown":
        click.echo(render_markdown(reports, summary), nl=False)
    else:
        render_terminal(reports, summary)
    sys.exit(1 if any(r.exit_code for r in reports) else 0)


__all__ = ["check", "InputError"]
