"""How much work a problem is, estimated before it is solved, per output format.

A kind states the size of its working as a :class:`Work` (its ``work(problem)``): the
quantities the recorder computes, the numbers numpy computes and the arithmetic beyond
them, the numbers of ``results``, the per-step worked sections, the sections always shown
and the tables. :func:`cost` turns that into the work of one output format, knowing what
each renderer writes (``nnsolve.render.common``: a long problem shows its first worked
sections and the head and tail of long tables, unless --full; Markdown keeps every table
row; JSON writes every result). The unit is one number written (about a microsecond on
the development machine): computing a step through the recorder costs ~20 of them, a step
of the shown working ~100, a number numpy computes 1/100.

:func:`check` refuses a problem beyond :data:`BUDGET` at once, naming the estimate, where
the size comes from and how to shrink the problem (or the cheaper output that fits). A
problem within it is solved and written within seconds, in a few hundred MB.
"""
from __future__ import annotations

from dataclasses import dataclass, field

BUDGET = 6_000_000

# Weights measured on the development machine (2 cores): solving, then rendering each format
# (a table cell in rich is the dearest). BUDGET is about 6 s there, idle; 20-30 s when the
# machine is shared and busy.
STEP = 20            # a quantity computed through the recorder (sheet.step / sheet.result)
SHOWN_STEP = 250     # a step of the shown working: printed in symbols, with numbers put in, valued
NUMBER = 0.01        # a number numpy computes (and keeps)
FLOPS = 0.001        # a multiply-add of a matrix product, a singular value decomposition…
RESULT = 0.3         # a number of results (kept, and converted to plain lists, in every format)
JSON_RESULT = 1.5    # … written into JSON (results, and the shown steps' values again)
CELL = {"terminal": 50.0, "markdown": 5.0, "json": 3.0}  # a number of a table cell
SHOWN = {"terminal": 4.0, "markdown": 1.2, "json": 1.0}  # weight of the shown working per format
ROUNDED = 5          # a number rounded by hand rounding (decimal arithmetic, once per value)

# What the renderers write (nnsolve.render.common, .json): more per-step sections than
# SHOWN_SECTIONS, only the first HEAD_SECTIONS; a table of more rows than SHOWN_ROWS, its head
# and tail (Markdown: every row); a cell of more than CELL_NUMBERS numbers, its shape.
SHOWN_SECTIONS = {"terminal": 10, "markdown": 10, "json": 50}  # as render.layout.LAYOUT.detail_most
HEAD_SECTIONS = 3
SHOWN_ROWS = {"terminal": 26, "json": 50}
HEAD_ROWS = 25
CELL_NUMBERS = 64

FORMAT_NAMES = {"terminal": "the terminal", "markdown": "Markdown", "json": "JSON"}


@dataclass
class Work:
    """The size of a problem's working (see the module's docstring for the units)."""
    what: str                   # the size in words: "200,000 presentations (2,000 samples × 100 epochs)"
    key: tuple                  # the key of the file the size comes from (the message points there)
    shrink: str                 # how to make it smaller: "fewer samples or epochs"
    steps: int = 0              # quantities computed through the recorder
    numbers: int = 0            # numbers numpy computes
    flops: float = 0            # arithmetic beyond that
    results: int = 0            # numbers of results
    detail: tuple = (0, 0)      # per-step worked sections: (how many, work of one when shown)
    shown: float = 0            # work of the sections always shown
    tables: list = field(default_factory=list)  # (rows, numbers per row) of each table


def cell(numbers: int) -> int:
    """Numbers a table cell of an array of NUMBERS numbers writes."""
    return numbers if numbers <= CELL_NUMBERS else 3


def step(size: int, substituted: int = 0) -> float:
    """Work of one shown step whose value has SIZE numbers and whose formula puts in
    SUBSTITUTED numbers (written when the value is small, as the renderers do)."""
    shown = size if size <= CELL_NUMBERS else 3
    if size <= 16:
        shown += substituted + 2 * size
    return SHOWN_STEP + shown


def cost(w: Work, fmt: str = "json", full: bool = False, rounding: bool = False) -> int:
    """The work of solving W's problem and writing it in FMT (terminal, markdown, json;
    None: solving only, as nnsolve check does)."""
    total = w.steps * STEP + w.numbers * NUMBER + w.flops * FLOPS + w.results * RESULT
    if rounding:  # solved twice (hand-rounded and exact), every value rounded in decimal
        total = 2 * total + w.results * ROUNDED
    if fmt is None:
        return int(total)
    count, each = w.detail
    if count:
        shown = count if full or count <= SHOWN_SECTIONS[fmt] else HEAD_SECTIONS
        total += shown * (each + STEP) * SHOWN[fmt]
    total += w.shown * SHOWN[fmt]
    for rows, per_row in w.tables:
        if not full and fmt in SHOWN_ROWS and rows > SHOWN_ROWS[fmt]:
            rows = HEAD_ROWS
        total += rows * (per_row * CELL[fmt] + 1)
    if fmt == "json":
        total += w.results * JSON_RESULT
    return int(total)


def _n(x: float) -> str:
    return f"{int(x):,}"


def check(w: Work, error, fmt: str | None = None, full: bool = False, rounding: bool = False) -> int:
    """Refuse (``error(path, message)`` raised) a problem whose work in FMT is beyond the
    budget, at once: the message names the estimate, what it comes from, the budget and how
    to shrink the problem, or the cheaper output that would do. Returns the estimate."""
    total = cost(w, fmt, full, rounding)
    if total <= BUDGET:
        return total
    where = f" in {FORMAT_NAMES[fmt]}" + (" with --full" if full else "") if fmt else ""
    ways = [w.shrink]
    if fmt is not None:
        if full and cost(w, fmt, False, rounding) <= BUDGET:
            ways.append(f"drop --full (the first steps worked in full and the tables of all of them: "
                        f"about {_n(cost(w, fmt, False, rounding))})")
        elif fmt != "json" and cost(w, "json", False, rounding) <= BUDGET:
            ways.append(f"use --format json (the results and a summary of the working: about "
                        f"{_n(cost(w, 'json', False, rounding))})")
    if rounding and cost(w, fmt, full, False) <= BUDGET:
        ways.append("drop the hand rounding")
    raise error(w.key, f"too large a problem to work out: about {_n(total)} numbers to compute and write"
                       f"{where} for {w.what}, more than the {_n(BUDGET)} nnsolve works through within "
                       f"seconds; {', or '.join(ways)}")
