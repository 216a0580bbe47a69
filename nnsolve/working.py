"""The Working: the one core type. Solvers build it and never format; renderers read it
and never compute."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .expr import Expr, Sym


@dataclass
class Step:
    """lhs = expr: printed symbolic, with numbers put in, evaluated, valued.

    ``components``: print one substituted line per component (j = 1 … m) when the
    value is a short vector; a renderer may fall back to the vector form.

    ``substitute``: False leaves out the line with every number put in (for a
    matrix-vector product of a wide layer, which nobody reads); the evaluated forms
    (σ([…])) and the value stay."""
    label: str
    lhs: str  # LaTeX
    expr: Expr
    note: str | None = None
    components: bool = True
    substitute: bool = True
    id: str | None = None  # the result path of the quantity (check.md), where it has one

    @property
    def value(self):
        return self.expr.value


@dataclass
class Table:
    """Columns (LaTeX headers) and rows of cells: numbers, arrays, bools or text."""
    columns: list[str]
    rows: list[list[Any]]
    title: str | None = None
    note: str | None = None


@dataclass
class Text:
    """A paragraph; $…$ marks inline math (LaTeX)."""
    text: str
    kind: str = "text"  # text | note | result | warning


@dataclass
class Math:
    """A display formula stated without numbers (a rule, a definition)."""
    tex: str
    label: str | None = None


Block = Step | Table | Text | Math


class Section:
    """A titled list of blocks. With a ``builder``, the blocks are made only when a renderer
    first reads them: a long sequence's per-step working costs nothing unless it is shown."""

    def __init__(self, title: str, blocks=None, level: int = 2, detail: bool = False, builder=None):
        self.title = title
        self._blocks: list = list(blocks or [])
        self.level = level
        self.detail = detail  # part of the detailed working a long problem may summarise
        self._builder = builder

    @property
    def blocks(self) -> list:
        if self._builder is not None:
            build, self._builder = self._builder, None
            build(self)
        return self._blocks

    def step(self, label: str, lhs: str, expr: Expr, note: str | None = None,
             components: bool = True, substitute: bool = True) -> Sym:
        """Add a step and return its result as a named quantity for later steps."""
        self._blocks.append(Step(label, lhs, expr, note, components, substitute))
        return Sym(lhs, expr.value)

    def table(self, columns, rows, title=None, note=None) -> Table:
        t = Table(list(columns), [list(r) for r in rows], title, note)
        self._blocks.append(t)
        return t

    def text(self, text: str, kind: str = "text") -> None:
        self._blocks.append(Text(text, kind))

    def math(self, tex: str, label: str | None = None) -> None:
        self._blocks.append(Math(tex, label))


@dataclass
class Working:
    kind: str
    title: str | None
    sections: list[Section] = field(default_factory=list)
    results: dict = field(default_factory=dict)
    precision: int = 4
    source: str | None = None
    sheet: Any = None  # the recorder that made it (its result paths, in working order)

    def section(self, title: str, level: int = 2, detail: bool = False, builder=None) -> Section:
        s = Section(title, [], level, detail, builder)
        self.sections.append(s)
        return s

    # -- showing itself (Python API, Jupyter, rich) ---------------------------------------
    def to_markdown(self, full: bool = False) -> str:
        """The working as Markdown with $…$ math (as `nnsolve run --format markdown`)."""
        from .render.markdown import render
        return render(self, full=full)

    def to_dict(self, full: bool = False) -> dict:
        """The JSON object of `nnsolve run --format json`, as Python data."""
        import json
        return json.loads(self.to_json(full=full))

    def to_json(self, full: bool = False) -> str:
        """The JSON text of `nnsolve run --format json`: results and the step-by-step working."""
        from .render.json import render
        return render(self, full=full)

    def render(self, fmt: str = "markdown", full: bool = False) -> str:
        """The working in any registered format (terminal, markdown, json, html, latex, …;
        nnsolve.render.registry)."""
        from .render.registry import render
        return render(self, fmt, full=full)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __rich_console__(self, console, options):
        from .render.terminal import renderables
        yield from renderables(self, width=options.max_width)

    def __repr__(self) -> str:
        return f"<Working {self.kind}{' — ' + self.title if self.title else ''}: {len(self.sections)} sections>"
