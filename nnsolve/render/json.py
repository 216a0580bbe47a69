"""The JSON renderer: the result contract (full float64 values) plus the working."""
from __future__ import annotations

import json
import math
import re

import numpy as np

from ..notation import to_unicode
from ..numfmt import to_json
from ..working import Math, Step, Table, Text, Working
from .common import cell, fmt_for, step_lines, table_rows, visible_sections
from .formula import FormulaPrinter


def _clean(v):
    """JSON has no NaN or infinity: write them as null."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, list):
        return [_clean(x) for x in v]
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    return v


def _cell(c):
    if isinstance(c, float) or type(c) is int:
        return c
    c = cell(c)
    if isinstance(c, str):
        return to_unicode(c)
    return to_json(c)


JSON_MOST = 50  # more per-step sections or table rows than this are summarised unless full


def working_dict(w: Working, full: bool = True, convert: bool = True) -> dict:
    """The JSON object. Without ``full``, a long problem (more than JSON_MOST time steps
    or epochs) keeps the first few steps in full and the tables that summarise the rest."""
    printer = FormulaPrinter(fmt_for("unicode", w.precision))
    sections = []
    for s, skipped in visible_sections(w.sections, full, most=JSON_MOST):
        if skipped:
            sections.append({"title": "…", "blocks": [{"type": "note", "text": skipped}]})
            continue
        blocks = []
        for b in s.blocks:
            if isinstance(b, Step):
                lines = step_lines(b, printer)
                d = {"type": "step", "label": b.label, "lhs": to_unicode(b.lhs),
                     **({"id": b.id} if b.id is not None else {}),
                     "symbolic": to_unicode(lines.symbolic),
                     "substituted": to_unicode(lines.forms[0]) if lines.forms else
                     ("; ".join(f"[{i}] " + to_unicode(f[0]) for i, f, _ in lines.components if f) or to_unicode(lines.symbolic)),
                     "value": to_json(b.value)}
                if len(lines.forms) > 1:
                    d["evaluated"] = [to_unicode(f) for f in lines.forms[1:]]
                if lines.components:
                    d["components"] = [{"index": int(i), "substituted": [to_unicode(f) for f in forms],
                                        "value": float(np.asarray(b.value).reshape(-1)[int(i) - 1])}
                                       for i, forms, _ in lines.components]
                if b.note:
                    d["note"] = to_unicode(b.note)
            elif isinstance(b, Table):
                head, tail, omitted = table_rows(b.rows, full, most=JSON_MOST)
                d = {"type": "table", "columns": [to_unicode(c) for c in b.columns],
                     "rows": [[_cell(c) for c in row] for row in head]}
                if omitted:  # every value is in results; --full writes every row here too
                    d["rows_omitted"] = omitted
                    d["rows_after_omitted"] = [[_cell(c) for c in row] for row in tail]
                if b.title:
                    d["title"] = b.title
            elif isinstance(b, Text):
                d = {"type": b.kind, "text": b.text}
            elif isinstance(b, Math):
                d = {"type": "formula", "formula": to_unicode(b.tex), "label": b.label}
            else:
                continue
            blocks.append(d)
        sections.append({"title": s.title, "blocks": blocks})
    return {"kind": w.kind, "title": w.title, "results": to_json(w.results) if convert else w.results,
            "sections": sections}


# Characters a terminal may act on, or that hide or reorder text (C1 controls, zero-width
# and bidirectional marks): JSON writes them as \\u escapes (the same text, readable).
_HIDDEN = re.compile("[\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")


try:  # the same JSON ten times faster for long sequences (floats written in C); optional
    import orjson as _orjson
except ImportError:  # pragma: no cover - the standard library writes the same values
    _orjson = None


_ORJSON_OPTIONS = (_orjson.OPT_SERIALIZE_NUMPY | _orjson.OPT_NON_STR_KEYS) if _orjson is not None else 0


def _dumps(data) -> str:
    """Full float64 values (each number reads back as the same double), UTF-8 text as is;
    NaN and infinity as null (JSON has neither)."""
    if _orjson is not None:
        try:
            return _orjson.dumps(data, option=_ORJSON_OPTIONS).decode("utf-8")  # NaN, ±inf: null
        except TypeError:  # a value orjson does not take
            pass
    data = to_json(data)
    try:
        return json.dumps(data, ensure_ascii=False, allow_nan=False)
    except ValueError:  # a NaN or infinity somewhere (an overflowing problem): write null
        return json.dumps(_clean(data), ensure_ascii=False)


def render(w: Working, full: bool = False) -> str:
    # orjson takes numpy values itself: the results need no conversion first
    data = working_dict(w, full, convert=_orjson is None)
    results = data.pop("results")
    head, rest = _dumps({"kind": data["kind"], "title": data["title"]}), _dumps({"sections": data["sections"]})
    numbers = _dumps(results)  # long sequences: megabytes, mostly numbers
    # the same object as one dumps of {kind, title, results, sections}; hidden characters
    # escaped, looked for in the results only when they hold any text beyond ASCII or a DEL
    if not numbers.isascii() or "\x7f" in numbers:
        numbers = _escape_hidden(numbers)
    return _escape_hidden(head[:-1]) + ',"results":' + numbers + "," + _escape_hidden(rest[1:])


def _escape_hidden(text: str) -> str:
    return _HIDDEN.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def _text(w: Working, full: bool = False) -> str:
    return render(w, full=full) + "\n"


from .registry import register  # noqa: E402

register("json", _text, extensions=(".json",), work="json",
         summary="the result contract (full float64 values) and the working")
