"""The LSTM's loops on numbers (kinds/lstm.py cells_on_numbers, kinds/_gated.py
lstm_back_on_numbers) against the silent steps they stand in for: the same results, the
same result paths in the same order, the same working in every format, byte for byte, on
random problems of every shape the backward pass takes (output layer or not, last or every
step, upstream gradients, stacks, the frameworks' layouts); and the fallback to the silent
steps when a value is beyond float64."""
from __future__ import annotations

import random

import numpy as np
import pytest
import yaml

from nnsolve import sheet as sheet_module
from nnsolve.core import solve_text
from nnsolve.errors import InputError
from nnsolve.kinds import lstm
from nnsolve.render.registry import render


def _mat(r, a, b):
    return [[round(r.uniform(-1, 1), 3) for _ in range(b)] for _ in range(a)]


def _vec(r, a):
    return [round(r.uniform(-1, 1), 3) for _ in range(a)]


def random_lstm(seed: int) -> str:
    """An LSTM problem with a backward pass, long enough for the loops on numbers."""
    r = random.Random(seed)
    T, n, m = r.choice([9, 12, 25]), r.choice([1, 2, 3]), r.choice([1, 2, 5])
    d = {"kind": "lstm", "title": f"random LSTM {seed}", "inputs": _mat(r, T, n)}
    layout = r.choice(["notes", "notes", "pytorch", "keras"])

    def weights(n, m):
        if layout == "notes":
            w = {}
            for k in "fico":
                w[f"W_{k}"], w[f"U_{k}"], w[f"b_{k}"] = _mat(r, m, n), _mat(r, m, m), _vec(r, m)
            return w
        if layout == "pytorch":
            return {"weight_ih": _mat(r, 4 * m, n), "weight_hh": _mat(r, 4 * m, m), "bias_ih": _vec(r, 4 * m),
                    "bias_hh": _vec(r, 4 * m)}
        return {"kernel": _mat(r, n, 4 * m), "recurrent_kernel": _mat(r, m, 4 * m), "bias": _vec(r, 4 * m)}
    if layout != "notes":
        d["layout"] = layout
    top = m
    stack = r.random() < 0.3
    if stack:
        top = r.choice([1, 3])
        d["layers"] = [weights(n, m), weights(m, top)]
    else:
        d["weights"] = weights(n, m)
        d["initial"] = {"h": _vec(r, m), "c": _vec(r, m)}
    mode = r.choice(["target", "layer", "upstream"])
    if mode == "upstream" and not stack:
        d["upstream"] = {"h": _mat(r, T, top)} if r.random() < 0.5 else {"c": _vec(r, top)}
        if r.random() < 0.5:
            d["upstream"]["c"] = _vec(r, top)
        d["learning_rate"] = 0.1
        return yaml.safe_dump(d)
    every = r.random() < 0.5
    d["output"] = "every" if every else "last"
    if mode == "layer":
        act, loss = r.choice([("softmax", "cross_entropy"), ("sigmoid", "bce"), ("linear", "mse"),
                              ("tanh", "half_sse"), ("sigmoid", "mse")])
        k = 1 if loss == "bce" else max(r.choice([1, 2, 3]), 2 if act == "softmax" else 1)
        d["output_layer"] = {"V": _mat(r, k, top), "c": _vec(r, k), "activation": act}

        def target():
            if act == "softmax":
                return r.randrange(k)
            return [round(r.random(), 2) for _ in range(k)] if k > 1 else round(r.random(), 2)
    else:
        loss = r.choice(["half_sse", "mse"])

        def target():
            return _vec(r, top) if top > 1 else round(r.random(), 2)
    d["target"] = [target() for _ in range(T)] if every else target()
    d["loss"], d["learning_rate"] = loss, 0.1
    return yaml.safe_dump(d)


def _solve(text: str, quick: bool):
    if quick:
        return solve_text(text)
    saved = sheet_module.Sheet.quick
    sheet_module.Sheet.quick = property(lambda self: False)
    try:
        return solve_text(text)
    finally:
        sheet_module.Sheet.quick = saved


def _everything(w) -> tuple:
    outputs = tuple(render(w, fmt, full=True) for fmt in ("json", "markdown", "terminal"))
    return w.results, list(w.sheet.order), outputs


@pytest.mark.parametrize("seed", range(24))
def test_the_loops_on_numbers_give_what_the_silent_steps_give(seed):
    text = random_lstm(seed)
    quick, steps = _solve(text, True), _solve(text, False)
    assert _everything(quick) == _everything(steps)


def test_the_loops_on_numbers_are_used_for_a_long_sequence(monkeypatch):
    """(Else the test above compares the silent steps with themselves.)"""
    calls = []
    real = lstm.cells_on_numbers
    monkeypatch.setattr(lstm, "cells_on_numbers", lambda *a: calls.append(1) or real(*a))
    from nnsolve.kinds import _gated
    real_back = _gated.lstm_back_on_numbers
    monkeypatch.setattr(_gated, "lstm_back_on_numbers", lambda *a: calls.append(2) or real_back(*a))
    solve_text(random_lstm(0))
    assert calls == [1, 2]
    calls.clear()
    solve_text(random_lstm(0), given={"f[1]": 0.5})  # a given value: every step on the sheet
    assert calls == []
    solve_text(random_lstm(0), rounding=3)  # hand rounding likewise; only the exact solve beside it
    assert calls == [1, 2]


def test_a_value_beyond_float64_is_named_as_the_silent_steps_name_it():
    """At t = 12 the forget gate's pre-activation is W_f x + U_f h = ∞ − ∞ (x_12 = 10³⁰⁸, h_11 ≈ 0.76):
    the loop on numbers gives way to the silent steps, which stop at the first quantity beyond
    float64 and name it."""
    big = -1.7e308
    text = yaml.safe_dump({
        "kind": "lstm", "inputs": [[1]] * 11 + [[1e308]] + [[1]] * 3,
        "weights": {"W_f": [[10], [10]], "W_i": [[0.1], [0.1]], "W_c": [[0.1], [0.1]], "W_o": [[0.1], [0.1]],
                    "U_f": [[big, big], [big, big]], "U_i": [[0, 0], [0, 0]], "U_c": [[0, 0], [0, 0]],
                    "U_o": [[0, 0], [0, 0]], "b_i": [10, 10], "b_c": [10, 10], "b_o": [10, 10]}})
    messages = []
    for quick in (True, False):
        with pytest.raises(InputError) as err:
            _solve(text, quick)
        messages.append(str(err.value))
    assert messages[0] == messages[1]
    assert "f[12]" in messages[0]


def test_the_backward_loop_gives_way_on_a_value_beyond_float64():
    from nnsolve.kinds import _gated
    T, m, n = 10, 2, 1
    series = {k: np.full((T, m), 0.5) for k in ("f", "i", "g", "o")}
    H, C = np.full((T + 1, m), 0.5), np.full((T + 1, m), 0.5)
    weights = ({k: np.ones((m, n)) for k in "fico"}, {k: np.ones((m, m)) for k in "fico"}, None, None)
    up_h = np.zeros((T, m))
    ok = _gated.lstm_back_on_numbers(None, None, weights, np.ones((T, n)), H, C, series, {}, up_h, None)
    assert ok is not None
    up_h[3, 1] = np.inf
    assert _gated.lstm_back_on_numbers(None, None, weights, np.ones((T, n)), H, C, series, {}, up_h, None) is None
