"""The JSON renderer writes with orjson, in three parts (kind and title, results, sections):
the object must be the one the standard library writes of the same dict, hidden
characters escaped, NaN written as null."""
import json
from pathlib import Path

import pytest

from nnsolve.api import solve
from nnsolve.render import json as rj
from nnsolve.working import Working

PROBLEMS = sorted((Path(__file__).parent.parent / "problems").glob("*.yaml"))


@pytest.mark.parametrize("path", PROBLEMS[::7], ids=lambda p: p.stem)
def test_same_object_as_the_standard_library(path):
    w = solve(str(path))
    got = json.loads(rj.render(w))
    want = json.loads(json.dumps(rj.working_dict(w, False), ensure_ascii=False))
    assert got == want and list(got) == ["kind", "title", "results", "sections"]


def test_hidden_characters_escaped_and_nan_null():
    w = Working(kind="test", title="zero\u200bwidth")
    w.section("S").text("right\u202eto left")
    w.results = {"label": "a\u2028b", "x": float("nan"), "y": [1.5, float("inf")]}
    text = rj.render(w)
    assert "\u200b" not in text and "\\u200b" in text and "\\u202e" in text and "\\u2028" in text
    d = json.loads(text)
    assert d["title"] == "zero\u200bwidth" and d["results"] == {"label": "a\u2028b", "x": None, "y": [1.5, None]}
