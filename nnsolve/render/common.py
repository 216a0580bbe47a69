"""What every renderer needs of a step: its lines, worked out once by the formula printer."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..numfmt import NumberFormat
from ..working import Section, Step
from .formula import FormulaPrinter

MAX_COMPONENT_LINES = 4  # a vector step shows one line per component up to this size
CELL_NUMBERS = 64  # a step's value or a table cell with more numbers is written as its shape


def shape_text(shape) -> str:
    return f"({'×'.join(map(str, shape))} values)"


def cell(c):
    """A table cell as every renderer writes it: an array of more than CELL_NUMBERS numbers
    by its shape (nobody reads a thousand numbers in a cell; the results hold them)."""
    if isinstance(c, np.ndarray) and c.dtype != object and c.size > CELL_NUMBERS:
        return shape_text(c.shape)
    if isinstance(c, list) and len(c) > CELL_NUMBERS:
        return shape_text(np.shape(c))
    return c


@dataclass
class StepLines:
    symbolic: str  # LaTeX of the right-hand side
    forms: list[str]  # LaTeX, with numbers put in, then evaluated further
    value: str  # the value, formatted
    components: list[tuple[str, list[str], str]]  # (index, forms, value) per component


def step_lines(step: Step, printer: FormulaPrinter) -> StepLines:
    e = step.expr
    comps = []
    size = e.size
    shape = np.shape(e.value)
    if step.components and 1 < size <= MAX_COMPONENT_LINES and len(shape) == 1:
        for j in range(size):
            comps.append((str(j + 1), printer.chain(e, j), printer.value(e, j)))
    if comps:
        # the whole-vector substitution is long and says nothing the component lines don't
        forms = []
    elif size > 16:
        forms = []  # too large to write out: the value (or a table) says it
    else:
        forms = printer.chain(e, substitute=step.substitute)
    return StepLines(printer.symbolic(e), forms, printer.value(e) if size <= CELL_NUMBERS else shape_text(shape), comps)


def visible_sections(sections: list[Section], full: bool, head: int = 3, most: int = 5):
    """Long problems (more than ``most`` per-step detail sections) show the first ``head``
    in full; yields (section, None) or (None, note about what was left out)."""
    detail = [s for s in sections if s.detail]
    if full or len(detail) <= most:
        for s in sections:
            yield s, None
        return
    shown = 0
    skipped = len(detail) - head
    noted = False
    for s in sections:
        if s.detail:
            shown += 1
            if shown > head:
                if not noted:
                    noted = True
                    yield None, (f"{skipped} more detailed sections are summarised in the tables below; "
                                 "run with --full to show every one")
                continue
        yield s, None


def fmt_for(style: str, precision: int) -> NumberFormat:
    return NumberFormat(precision=precision, style=style)


TABLE_HEAD, TABLE_TAIL = 20, 5  # a long table shows these many rows first and last


def table_rows(rows: list, full: bool, most: int = TABLE_HEAD + TABLE_TAIL + 1):
    """(head rows, tail rows, number left out between them) of a table: a table of more
    than ``most`` rows keeps its first and last rows unless ``full``."""
    if full or len(rows) <= most:
        return rows, [], 0
    return rows[:TABLE_HEAD], rows[-TABLE_TAIL:], len(rows) - TABLE_HEAD - TABLE_TAIL
