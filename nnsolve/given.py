"""The givens of a kind, declared once as data.

A kind module states what a problem file of that kind holds as ``GIVEN``, a tuple of
:class:`Field` records (rnn.py, which holds two kinds, has ``GIVENS = {kind: (...)}``).
From that one declaration come:

- the reader's list of known keys (the unknown-key check and its "did you mean"), and the
  reading of the simple fields (numbers, whole numbers, booleans, texts, choices) with
  their defaults and bounds: ``reader.field(key)`` (see :class:`nnsolve.schema.Reader`);
- :func:`template`, the commented problem file of ``nnsolve new KIND``;
- :func:`json_schema`, the draft-07 JSON Schema of ``nnsolve schema KIND`` (for editors).

Shapes that depend on other keys, tokens/vocab, targets with class indices and checks
across keys stay code in the kind's ``read()``; every key it reads is declared here.
This module imports no SymPy (``nnsolve schema`` stays quick).
"""
from __future__ import annotations

import json
import re
import textwrap
from dataclasses import dataclass, replace
from typing import Any

TYPES = ("number", "integer", "boolean", "string", "choice", "vector", "matrix", "list", "mapping", "any")
SIMPLE = ("number", "integer", "boolean", "string", "choice")  # read by Reader.field from the declaration


class _Required:
    def __repr__(self):
        return "REQUIRED"


REQUIRED = _Required()  # the default of a key the file must give
NO_EXAMPLE = type("NoExample", (), {"__repr__": lambda self: "NO_EXAMPLE"})()


@dataclass(frozen=True)
class Field:
    """One key of a problem file.

    key: the YAML key. type: one of ``TYPES``. meaning: one line, what the key is.
    shape: the size in symbols, as the spec writes it: ("m", "n") is an m × n matrix,
    ("m",) a vector of length m, ("T", "n") a list of T vectors of length n.
    default: the value when the key is absent; ``REQUIRED`` if the file must give it; None
    if absent means "not given" (the code decides, e.g. zeros of a size read elsewhere:
    say so in ``default_text``). notation: LaTeX (r"\\eta"). choices: the options of a
    ``choice`` (a sequence, or a function returning one). minimum / maximum / positive:
    bounds of a number or whole number. example: the value ``nnsolve new`` shows.
    fields: the keys of a mapping, or of each item of a list of mappings. of: the type of
    the items of a list ("vector", "mapping", "string|mapping", "token", …).
    """
    key: str
    type: str
    meaning: str
    shape: tuple = ()
    default: Any = REQUIRED
    notation: str | None = None
    choices: Any = ()
    minimum: float | None = None
    maximum: float | None = None
    positive: bool = False
    example: Any = NO_EXAMPLE
    fields: tuple = ()
    of: str | None = None
    # -- presentation ------------------------------------------------------------------
    default_text: str | None = None  # how to say the default when it is not a plain value
    note: str = ""                   # further lines for the template (and the schema's description)
    lead: str = ""                   # comment lines put before the key in the template
    template: str = "show"           # show | comment (shown commented out) | hide
    flow: bool = False               # a mapping / list of mappings written on one line each
    what: str | None = None          # the reader's "expected …" (default: from the type)
    instead: tuple = ()              # keys that may be given together instead of this one
    needs: tuple = ()                # ((key, value), …) this key is allowed only with
    schema: dict | None = None       # JSON Schema of values the types cannot say

    def __post_init__(self):
        if self.type not in TYPES:
            raise ValueError(f"Field {self.key}: unknown type {self.type!r}")
        if self.template not in ("show", "comment", "hide"):
            raise ValueError(f"Field {self.key}: template must be show, comment or hide")

    def but(self, **changes) -> "Field":
        return replace(self, **changes)

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def options(self) -> list[str]:
        c = self.choices() if callable(self.choices) else self.choices
        return list(c)


# -- the common keys of every kind --------------------------------------------------------

MAX_PRECISION = 15
MAX_ROUNDING = 12


def _kinds():
    from . import kinds
    return kinds.available()


KIND = Field("kind", "choice", "the kind of problem", choices=_kinds)
TITLE = Field("title", "string", "a title for the working", default=None, example="My problem")
PRECISION = Field("precision", "integer", "decimals shown in the working", default=4, minimum=0,
                  maximum=MAX_PRECISION, example=4, template="comment",
                  default_text="4; with rounding, its decimals")
ROUNDING = Field("rounding", "integer", "hand rounding: each number written down is rounded to this many "
                 "decimals", default=None, minimum=0, maximum=MAX_ROUNDING,
                 example=3, template="comment",
                 what=f"the decimals of hand rounding, a whole number 0 … {MAX_ROUNDING}")
REMARKS = Field(
    "remarks", "list", "comments shown in the working: {at: STEP, text: …} or a text", default=None,
    of="string|mapping", template="hide", what="a list of remarks {at: STEP, text: ...}",
    note="'at' names a step by its left-hand side (i_1, h_2, v^(1), …: its first occurrence), by its "
         "result path (history[1].v), or one occurrence as {step: v, epoch: 1, sample: 1}; a remark "
         "without it goes in a closing section",
    fields=(Field("at", "any", "the step the remark belongs to: its left-hand side, its result path, or "
                  "{step: NAME, epoch: E, sample: S}", default=None,
                  what="the step the remark belongs to, e.g. i_1, history[1].v or {step: v, epoch: 1, sample: 1}",
                  schema={"anyOf": [{"type": "string"},
                                    {"type": "object", "required": ["step"],
                                     "properties": {"step": {"type": "string"}},
                                     "additionalProperties": {"type": "integer", "minimum": 1}}]}),
            Field("text", "string", "the remark", what="the remark")))
VARY = Field("vary", "any", "nnsolve vary: how each given number is redrawn ({range: [lo, hi], decimals: d} "
             "or fixed, by key path); the solver ignores it", default=None, template="hide",
             schema={"type": "object", "additionalProperties": {"anyOf": [
                 {"const": "fixed"},
                 {"type": "object", "additionalProperties": False, "minProperties": 1,
                  "properties": {"range": {"type": "array", "items": {"type": "number"}, "minItems": 2,
                                           "maxItems": 2},
                                 "decimals": {"type": "integer", "minimum": 0, "maximum": 6}}}]}})
ASK = Field("ask", "any", "nnsolve vary: the result paths the question asks for; the solver ignores it",
            default=None, template="hide",
            schema={"anyOf": [{"type": "array", "items": {"type": "string"}, "minItems": 1}, {"type": "string"}]})
COMMON_HEAD = (KIND, TITLE)
COMMON_TAIL = (PRECISION, ROUNDING, REMARKS, VARY, ASK)
COMMON = COMMON_HEAD + COMMON_TAIL
COMMON_KEYS = tuple(f.key for f in COMMON)


def title(example: str) -> Field:
    """The common ``title`` with a kind's example (put it in the kind's GIVEN)."""
    return TITLE.but(example=example)


# -- a kind's declaration ------------------------------------------------------------------

def _module(kind: str):
    from . import kinds
    if kind not in kinds.KINDS:
        raise KeyError(kind)
    return kinds.get(kind)


def kind_fields(kind: str) -> tuple[Field, ...]:
    """The fields the kind module declares (without the common keys it does not override)."""
    module = _module(kind)
    return tuple(getattr(module, "GIVENS", {}).get(kind) or getattr(module, "GIVEN", ()))


def fields(kind: str) -> tuple[Field, ...]:
    """Every key of a problem file of ``kind``, in the order of the template: kind, title,
    the kind's own keys, then precision, rounding, remarks."""
    own = kind_fields(kind)
    override = {f.key: f for f in own if f.key in COMMON_KEYS}
    return (tuple(override.get(f.key, f) for f in COMMON_HEAD)
            + tuple(f for f in own if f.key not in COMMON_KEYS)
            + tuple(override.get(f.key, f) for f in COMMON_TAIL))


def headline(kind: str) -> str:
    module = _module(kind)
    return (getattr(module, "HEADLINES", {}).get(kind) or getattr(module, "HEADLINE", None)
            or getattr(module, "SUMMARIES", {}).get(kind) or module.SUMMARY)


def key_paths(flds, prefix=()) -> set[tuple]:
    """The key paths the declaration allows, list items as "*": {("layers", "*", "bias"), …}."""
    out = set()
    for f in flds:
        p = prefix + (f.key,)
        out.add(p)
        if f.fields:
            out |= key_paths(f.fields, p + ("*",) if f.type == "list" else p)
    return out


# -- words ------------------------------------------------------------------------------------

def _unicode(tex: str) -> str:
    from .notation import to_unicode
    return to_unicode(tex)


def _num(x) -> str:
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return str(x)


def shape_text(f: Field) -> str:
    if not f.shape:
        return ""
    if f.type == "vector" or len(f.shape) == 1:
        return f"length {f.shape[0]}"
    return " × ".join(f.shape)


def default_text(f: Field) -> str | None:
    if f.default_text is not None:
        return f.default_text
    if f.required or f.default is None:
        return None
    return flow(f.default) if not isinstance(f.default, (int, float)) else _num(f.default)


def choices_text(f: Field) -> str | None:
    """The options of a choice as "a | b | c", unless its meaning already names them all."""
    if f.type != "choice" or f.key == "kind":
        return None
    opts = f.options()
    return None if all(o in f.meaning for o in opts) else " | ".join(opts)


def describe(f: Field, *, with_choices: bool = True) -> str:
    """The one-line meaning with its symbol, shape, options and default."""
    text = f.meaning
    if f.notation:
        sym = _unicode(f.notation)
        if not re.search(rf"(?<![\w_]){re.escape(sym)}(?![\w_])", text):
            text = f"{sym}: {text}"
    if f.type in ("vector", "matrix") and f.shape:
        text += "," + _whole(f" {shape_text(f)}")
    if with_choices and choices_text(f):
        text += ": " + choices_text(f)
    d = default_text(f)
    if d is not None:
        text += _whole(f" (default {d})")
    return text


def _whole(text: str) -> str:
    """Short phrases stay on one line when the template wraps a comment."""
    return text[0] + text[1:].replace(" ", _KEEP) if len(text) <= 24 else text


_KEEP = "\x00"  # a space the template's line wrapping keeps: "(default 4)" stays whole


# -- nnsolve new KIND -------------------------------------------------------------------------

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*( [A-Za-z0-9_.\-]+)*$")
_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}
COMMENT_COLUMN = 27
WIDTH = 110


def flow(value) -> str:
    """A value in YAML flow style: [1, 2], {h: [0]}, sigmoid."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        if _PLAIN.match(value) and value.lower() not in _RESERVED:
            return value
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {flow(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no YAML for {value!r}")


def _comment_lines(f: Field) -> list[str]:
    """The comment of a key in the template: its description, then its note, one
    paragraph per line of the note."""
    if f.key == "kind":
        return []
    notes = [ln for ln in f.note.splitlines() if ln.strip()]
    first = describe(f)
    if choices_text(f) and len(first) > 60:  # a long list of options gets a line of its own
        return [describe(f, with_choices=False), choices_text(f)] + notes
    return [first] + notes


def _column(code: str) -> int:
    """Comments start at column 27, or two spaces after a longer line."""
    return COMMENT_COLUMN if len(code) < COMMENT_COLUMN else len(code) + 2


class _Lines:
    """Template lines, each (code, comment paragraphs); comments aligned per group."""

    def __init__(self):
        self.rows: list[tuple[str, list[str], int]] = []  # (code, comments, group)
        self.group = 0

    def add(self, code: str, comments=(), group=0):
        """group 0: the top level (each comment at column 27 or after its line); lines of
        another group align their comments."""
        self.rows.append((code, list(comments), group))

    def new_group(self) -> int:
        self.group += 1
        return self.group

    def text(self) -> str:
        cols = {}
        for code, comments, g in self.rows:
            if comments and g:
                cols[g] = max(cols.get(g, COMMENT_COLUMN), _column(code))
        out = []
        for code, comments, g in self.rows:
            if not comments:
                out.append(code.rstrip())
                continue
            col = cols.get(g, COMMENT_COLUMN) if g else _column(code)
            width = max(40, WIDTH - col - 2)
            first = True
            for para in comments:
                for piece in textwrap.wrap(para, width, subsequent_indent="  ",
                                           break_on_hyphens=False) or [""]:
                    piece = piece.replace(_KEEP, " ")
                    prefix = "# "
                    if first:
                        out.append(code.ljust(col) + prefix + piece)
                        first = False
                    else:
                        out.append(" " * col + prefix + piece)
        return "\n".join(out) + "\n"


def _example(f: Field, kind: str):
    if f.key == "kind":
        return kind
    if f.example is NO_EXAMPLE:
        if f.type == "mapping" and f.fields and not f.flow:
            return None
        raise ValueError(f"kind {kind}: the field '{f.key}' shown in the template has no example")
    return f.example


def _template_field(lines: _Lines, f: Field, kind: str, indent: str, group=0) -> None:
    if f.template == "hide":
        return
    hash_ = "# " if f.template == "comment" else ""
    for ln in f.lead.splitlines():
        lines.add(f"{indent}# {ln}", group=group)
    value = _example(f, kind)
    if f.type == "mapping" and f.fields and not f.flow and (value is None or isinstance(value, dict)):
        lines.add(f"{indent}{hash_}{f.key}:", _comment_lines(f), group=group)
        sub = lines.new_group()
        values = value or {}
        for nf in f.fields:
            if nf.key in values:
                nf = nf.but(example=values[nf.key], template="show" if nf.template == "hide" else nf.template)
            if f.template == "comment":
                nf = nf.but(template="comment") if nf.template != "hide" else nf
            _template_field(lines, nf, kind, indent + "  ", sub)
        return
    if f.type == "list" and f.fields and not f.flow and isinstance(value, list):
        lines.add(f"{indent}{hash_}{f.key}:", _comment_lines(f), group=group)
        for i, item in enumerate(value):
            sub = lines.new_group()
            first = True
            for nf in f.fields:
                if nf.key not in item and (i > 0 or nf.template != "comment"):
                    continue
                shown = nf.key in item
                code_value = flow(item[nf.key]) if shown else flow(nf.example)
                lead = f"{indent}  " + ("- " if first else "  ")
                code = f"{lead}{'' if shown else '# '}{nf.key}: {code_value}"
                lines.add(code, _comment_lines(nf) if i == 0 else (), group=sub)
                first = False
        return
    if f.type == "list" and f.flow and isinstance(value, list) and value and isinstance(value[0], dict):
        lines.add(f"{indent}{hash_}{f.key}:", _comment_lines(f), group=group)
        for item in value:
            lines.add(f"{indent}{hash_}  - {flow(item)}", group=group)
        return
    lines.add(f"{indent}{hash_}{f.key}: {flow(value)}", _comment_lines(f), group=group)


def template(kind: str) -> str:
    """The commented problem file of ``nnsolve new KIND``: every key with its example and
    its meaning; optional keys shown with a value, or commented out."""
    lines = _Lines()
    lines.add(f"# nnsolve problem: {headline(kind)}")
    for f in fields(kind):
        _template_field(lines, f, kind, "")
    return lines.text()


# -- nnsolve schema KIND --------------------------------------------------------------------

DRAFT_07 = "http://json-schema.org/draft-07/schema#"
_NUMBER = {"type": "number"}
_VECTOR = {"anyOf": [{"type": "array", "items": _NUMBER, "minItems": 1}, _NUMBER]}
_MATRIX = {"anyOf": [
    {"type": "array", "minItems": 1, "items": {"anyOf": [
        {"type": "array", "items": _NUMBER, "minItems": 1}, _NUMBER]}},
    _NUMBER]}
_TOKEN = {"type": ["string", "number", "boolean"]}


def _copy(d):
    return json.loads(json.dumps(d))


def _item_schema(f: Field, of: str) -> dict:
    alternatives = []
    for t in of.split("|"):
        if t == "mapping":
            alternatives.append(_object(f.fields))
        elif t == "vector":
            alternatives.append(_copy(_VECTOR))
        elif t == "matrix":
            alternatives.append(_copy(_MATRIX))
        elif t == "token":
            alternatives.append(dict(_TOKEN))
        elif t in ("string", "number", "integer", "boolean"):
            alternatives.append({"type": t})
        else:
            alternatives.append({})
    return alternatives[0] if len(alternatives) == 1 else {"anyOf": alternatives}


def _bounds(f: Field, s: dict) -> None:
    if f.minimum is not None:
        s["minimum"] = f.minimum
    if f.maximum is not None:
        s["maximum"] = f.maximum
    if f.positive:
        s["exclusiveMinimum"] = 0


def field_schema(f: Field, kind: str | None = None) -> dict:
    t = f.type
    if f.schema is not None:
        s = _copy(f.schema)
    elif f.key == "kind" and kind is not None:
        s = {"const": kind}
    elif t in ("number", "integer"):
        s = {"type": t}
        _bounds(f, s)
    elif t == "boolean":
        s = {"type": "boolean"}
    elif t == "string":
        s = {"type": "string"}
    elif t == "choice":
        s = {"type": "string", "enum": f.options()}
    elif t == "vector":
        s = _copy(_VECTOR)
    elif t == "matrix":
        s = _copy(_MATRIX)
    elif t == "list":
        s = {"type": "array", "minItems": 1, "items": _item_schema(f, f.of or ("mapping" if f.fields else "any"))}
    elif t == "mapping":
        s = _object(f.fields)
    else:
        s = {}
    s["description"] = " ".join([describe(f, with_choices=t != "choice").replace(_KEEP, " ")]
                                + [ln.strip() for ln in f.note.splitlines() if ln.strip()])
    if not f.required and f.default is not None and isinstance(f.default, (int, float, str, bool)):
        d = f.default
        s["default"] = int(d) if isinstance(d, float) and d.is_integer() else d
    if f.example is not NO_EXAMPLE and f.example is not None and f.key != "kind":
        s["examples"] = [f.example]
    return s


def _requires(needs) -> dict:
    return {"properties": {k: {"enum": list(v)} if isinstance(v, (list, tuple)) else {"const": v} for k, v in needs},
            "required": [k for k, _ in needs]}


def _object(flds, kind: str | None = None) -> dict:
    props, required, alternatives, dependencies = {}, [], [], {}
    keys = {f.key for f in flds}
    for f in flds:
        props[f.key] = field_schema(f, kind)
        if f.required and f.instead:
            alternatives.append({"oneOf": [{"required": [f.key]}, {"required": list(f.instead)}]})
        elif f.required:
            required.append(f.key)
        if f.needs and all(k in keys for k, _ in f.needs):
            dependencies[f.key] = _requires(f.needs)
        if f.type == "mapping":  # a key of the mapping that needs a key of this level
            for nf in f.fields:
                if nf.needs and all(k in keys for k, _ in nf.needs):
                    alternatives.append({"if": {"properties": {f.key: {"required": [nf.key]}},
                                                "required": [f.key]},
                                         "then": _requires(nf.needs)})
    s = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        s["required"] = required
    if dependencies:
        s["dependencies"] = dependencies
    if len(alternatives) == 1:
        s.update(alternatives[0])
    elif alternatives:
        s["allOf"] = alternatives
    return s


def json_schema(kind: str) -> dict:
    """A draft-07 JSON Schema of a problem file of ``kind`` (for editors: VS Code's YAML
    extension completes and checks a file whose first line is
    ``# yaml-language-server: $schema=./KIND.schema.json``)."""
    module = _module(kind)
    summary = getattr(module, "SUMMARIES", {}).get(kind) or module.SUMMARY
    body = _object(fields(kind), kind)
    return {"$schema": DRAFT_07, "title": f"nnsolve problem, kind: {kind}", "description": summary, **body}
