"""nnsolve against PyTorch, without torch: the values torch computed (float64, autograd) are
stored as JSON fixtures in tests/reference/ by tests/reference/make_reference.py.

Every stored case is run through nnsolve (its problem dict dumped as YAML, the results read
from the JSON contract the CLI prints) and every stored result compared to 1e-9. The
activations fixture is checked against the library records, ``nnsolve.nn.activation``.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from nnsolve import nn
from nnsolve.core import solve_text
from nnsolve.render.json import render as render_json

REFERENCE = Path(__file__).resolve().parent / "reference"
RTOL, ATOL = 1e-9, 1e-12


def _load(name):
    return json.loads((REFERENCE / name).read_text(encoding="utf-8"))


def _problem_cases():
    for path in sorted(REFERENCE.glob("*.json")):
        if path.name == "activations.json":
            continue
        for case in _load(path.name)["cases"]:
            yield pytest.param(case, id=f"{path.stem}:{case['id']}")


def test_fixtures_are_there():
    names = {p.name for p in REFERENCE.glob("*.json")}
    assert {"activations.json", "mlp.json", "bptt.json", "mlp_autograd.json", "rnn_autograd.json",
            "lstm.json", "gru.json"} <= names, names


def assert_close(got, want, path):
    """got (as the JSON contract carries it) equals want: same nesting and shapes, numbers to
    RTOL/ATOL. Per-layer lists (ragged) are compared item by item."""
    if isinstance(want, bool) or want is None or isinstance(want, str):
        assert got == want, path
        return
    if isinstance(want, (int, float)):
        assert isinstance(got, (int, float)) and not isinstance(got, bool), f"{path}: {got!r} is not a number"
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=path)
        return
    assert isinstance(got, list), f"{path}: expected a list, got {got!r}"
    try:
        w = np.asarray(want, dtype=float)
    except ValueError:  # ragged: a list over layers of different shapes
        w = None
    if w is None:
        assert len(got) == len(want), f"{path}: {len(got)} entries, expected {len(want)}"
        for i, (g, x) in enumerate(zip(got, want)):
            assert_close(g, x, f"{path}[{i}]")
        return
    g = np.asarray(got, dtype=float)
    assert g.shape == w.shape, f"{path}: shape {g.shape}, expected {w.shape}"
    np.testing.assert_allclose(g, w, rtol=RTOL, atol=ATOL, err_msg=path)


@pytest.mark.parametrize("case", list(_problem_cases()))
def test_matches_torch(case):
    working = solve_text(yaml.safe_dump(case["problem"], sort_keys=False))
    results = json.loads(render_json(working))["results"]
    missing = sorted(set(case["expected"]) - set(results))
    assert not missing, f"results lack {missing}"
    for name, want in case["expected"].items():
        assert_close(results[name], want, name)


ACTIVATIONS = _load("activations.json")["cases"]


@pytest.mark.parametrize("case", ACTIVATIONS, ids=[c["id"] for c in ACTIVATIONS])
def test_activation_record_matches_torch(case):
    a = nn.activation(case["activation"], **case["params"])
    v = np.asarray(case["points"], dtype=float)
    for what, got in (("value", a.value(v)), ("derivative", a.derivative(v))):
        got = np.asarray(got, dtype=float)
        assert got.shape == v.shape, what
        np.testing.assert_allclose(got, case["expected"][what], rtol=RTOL, atol=ATOL,
                                   err_msg=f"{case['id']} {what} at {case['points']}")


def test_activation_fixture_covers_the_kinks_and_the_softplus_threshold():
    """The points include 0 exactly, both sides of it, and |v| beyond softplus's threshold 20."""
    names = {(c["activation"], tuple(sorted(c["params"].items()))) for c in ACTIVATIONS}
    for n in ("sigmoid", "tanh", "relu", "elu", "softplus", "silu", "gelu"):
        assert (n, ()) in names, n
    assert ("leaky_relu", (("negative_slope", 0.2),)) in names
    for c in ACTIVATIONS:
        pts = c["points"]
        assert 0.0 in pts and -1e-3 in pts and 1e-3 in pts and 25.0 in pts and -25.0 in pts
        assert all(math.isfinite(x) for x in c["expected"]["value"] + c["expected"]["derivative"])
