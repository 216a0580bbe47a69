"""What every renderer needs of a step, kept here for the modules that import it: the
layout pass (nnsolve.render.layout) holds the code and the thresholds."""
from __future__ import annotations

from .layout import (LAYOUT, StepLines, cell, fmt_for, shape_text, step_lines,  # noqa: F401
                     table_rows, visible_sections)

MAX_COMPONENT_LINES = LAYOUT.component_lines  # a vector step shows one line per component up to this size
CELL_NUMBERS = LAYOUT.cell_numbers  # a step's value or a table cell with more numbers is written as its shape
TABLE_HEAD, TABLE_TAIL = LAYOUT.table_head, LAYOUT.table_tail  # a long table shows these many rows first and last
