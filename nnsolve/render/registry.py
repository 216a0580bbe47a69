"""The renderer registry: one name per output format.

A renderer is one module in nnsolve/render/ that calls :func:`register` at import time
with the function that turns a Working into text (``render(working, full=False) -> str``).
`nnsolve run --format`, `nnsolve export` (by --format or the file's extension) and the
Python API look a format up here; a new format is one new file, nothing else to edit.

Finding the formats costs no import: the names are read from the modules' source
(``register("NAME"``), so `--help` stays instant; a module is imported when its format is
first used.
"""
from __future__ import annotations

import importlib
import os
import re
from dataclasses import dataclass, field
from typing import Callable

_HELPERS = {"__init__", "common", "formula", "layout", "registry"}
_DIR = os.path.dirname(__file__)
_REGISTER = re.compile(r'^register\(\s*"([a-z0-9_-]+)"', re.M)


@dataclass(frozen=True)
class Renderer:
    name: str
    render: Callable  # (working, full=False) -> str
    extensions: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    work: str = "markdown"  # which format's work estimate it shares (nnsolve.work)
    summary: str = ""
    emit: Callable | None = None  # (working, full) -> None: write to standard output
    options: dict = field(default_factory=dict)


_REGISTRY: dict[str, Renderer] = {}
_MODULES: dict[str, str] | None = None


def register(name: str, render: Callable, *, extensions=(), aliases=(), work: str = "markdown",
             summary: str = "", emit: Callable | None = None) -> Renderer:
    r = Renderer(name, render, tuple(extensions), tuple(aliases), work, summary, emit)
    _REGISTRY[name] = r
    return r


def _modules() -> dict[str, str]:
    """{format name: module name} read from the render package's sources."""
    global _MODULES
    if _MODULES is None:
        found = {}
        for fn in sorted(os.listdir(_DIR)):
            stem, ext = os.path.splitext(fn)
            if ext != ".py" or stem in _HELPERS:
                continue
            try:
                with open(os.path.join(_DIR, fn), encoding="utf-8") as fh:
                    text = fh.read()
            except OSError:
                continue
            for name in _REGISTER.findall(text):
                found[name] = f"{__package__}.{stem}"
        _MODULES = found
    return _MODULES


ORDER = ("terminal", "markdown", "json", "html", "latex")


def names() -> list[str]:
    """The format names, the usual ones first."""
    found = list(_modules()) + [n for n in _REGISTRY if n not in _modules()]
    return [n for n in ORDER if n in found] + sorted(n for n in found if n not in ORDER)


def _load(name: str) -> Renderer | None:
    if name not in _REGISTRY and name in _modules():
        importlib.import_module(_modules()[name])
    return _REGISTRY.get(name)


def all_renderers() -> list[Renderer]:
    return [r for r in (_load(n) for n in names()) if r is not None]


def get(name: str) -> Renderer:
    """The renderer of NAME (or one of its aliases); KeyError if there is none."""
    r = _load(name)
    if r is not None:
        return r
    for r in all_renderers():
        if name in r.aliases:
            return r
    raise KeyError(name)


def by_extension(ext: str) -> Renderer | None:
    ext = ext.lower()
    for r in all_renderers():
        if ext in r.extensions:
            return r
    return None


def choices() -> list[str]:
    """Names and aliases, for a command-line option."""
    out = []
    for r in all_renderers():
        out += [r.name, *r.aliases]
    return out


def render(working, fmt: str, full: bool = False) -> str:
    return get(fmt).render(working, full=full)


def format_option():
    """A click type for --format: checked against the registry when used (no import before)."""
    import click

    class FormatType(click.ParamType):
        name = "format"

        def get_metavar(self, param, ctx=None):
            return "[" + "|".join(names()) + "]"

        def convert(self, value, param, ctx):
            try:
                return get(value).name
            except KeyError:
                self.fail(f"'{value}' is not a format; the formats are: {', '.join(names())}", param, ctx)

        def shell_complete(self, ctx, param, incomplete):
            from click.shell_completion import CompletionItem
            return [CompletionItem(n) for n in names() if n.startswith(incomplete)]

    return FormatType()
