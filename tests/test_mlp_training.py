"""mlp training over several samples and epochs (classical.md): PyTorch fixtures
(tests/reference/mlp_training.json, made by tests/reference/make_mlp_training.py), runs
worked by hand here, the problem files, and located errors for the new keys."""
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from nnsolve.core import solve_text
from nnsolve.render.json import render as render_json

HERE = Path(__file__).resolve().parent
CASES = json.loads((HERE / "reference" / "mlp_training.json").read_text(encoding="utf-8"))["cases"]


def results(problem, **extra):
    text = yaml.safe_dump({**problem, **extra}, sort_keys=False)
    return json.loads(render_json(solve_text(text)))["results"]


def close(got, want):
    if isinstance(want, list) and want and isinstance(want[0], list) and \
            len({np.shape(w) for w in want}) > 1:  # ragged: per layer
        assert len(got) == len(want)
        for g, w in zip(got, want):
            close(g, w)
        return
    np.testing.assert_allclose(np.asarray(got, dtype=float), np.asarray(want, dtype=float), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_history_matches_torch(case):
    r = results(case["problem"])
    assert set(r) == {"history", "epoch_loss", "final_weights", "final_bias"}
    assert len(r["history"]) == len(case["expected_history"])
    for got, want in zip(r["history"], case["expected_history"]):
        assert (got["epoch"], got["batch"]) == (want["epoch"], want["batch"])
        close(got["loss"], want["loss"])
        for l, (gw, ww) in enumerate(zip(got["weights"], want["weights"])):
            close(gw, ww)
        for gb, wb in zip(got["bias"], want["bias"]):
            close(gb, wb)


LINEAR = {"kind": "mlp", "layers": [{"weights": [[0.5]], "bias": [0], "activation": "linear"}],
          "loss": "half_sse", "learning_rate": 0.1, "samples": [{"x": [1], "d": [2]}, {"x": [2], "d": [1]}]}


def test_online_by_hand():
    """Sample 1: y = 0.5, e = 1.5, E = 1.125, w = 0.5 + 0.1·1.5·1 = 0.65, b = 0.15.
    Sample 2: y = 0.65·2 + 0.15 = 1.45, e = −0.45, E = 0.10125, w = 0.65 − 0.09 = 0.56,
    b = 0.15 − 0.045 = 0.105. Epoch loss (1.125 + 0.10125)/2."""
    r = results(LINEAR)
    assert [h["loss"] for h in r["history"]] == pytest.approx([1.125, 0.10125])
    assert [(h["epoch"], h["batch"]) for h in r["history"]] == [(1, 1), (1, 2)]
    assert r["final_weights"] == [[[pytest.approx(0.56)]]] and r["final_bias"] == [[pytest.approx(0.105)]]
    assert r["epoch_loss"] == [pytest.approx(0.613125)]


def test_batch_with_momentum_by_hand():
    """Epoch 1 (w = 0.5, b = 0): E₁ = 1.125 (e = 1.5), E₂ = 0 (y = 1 = d); ∂E/∂w = −1.5,
    ∂E/∂b = −1.5; ΔW(1) = 0.1·(−1.5): w = 0.65, b = 0.15. Epoch 2: e₁ = 1.2 (E₁ = 0.72),
    e₂ = −0.45 (E₂ = 0.10125); ∂E/∂w = −1.2 + 0.9 = −0.3, ∂E/∂b = −1.2 + 0.45 = −0.75;
    Δw = 0.5·(−0.15) + 0.1·(−0.3) = −0.105: w = 0.755; Δb = 0.5·(−0.15) − 0.075: b = 0.3."""
    r = results(LINEAR, mode="batch", epochs=2, momentum=0.5)
    assert [h["loss"] for h in r["history"]] == pytest.approx([1.125, 0.82125])
    assert r["history"][0]["weights"] == [[[pytest.approx(0.65)]]]
    assert r["final_weights"] == [[[pytest.approx(0.755)]]] and r["final_bias"] == [[pytest.approx(0.3)]]
    assert r["epoch_loss"] == pytest.approx([0.5625, 0.410625])


def test_mean_reduction_and_short_last_batch_by_hand():
    """Three samples in batches of 2: [1, 2] then [3] alone; mean over the batch's own size.
    Batch 1 at w = 0.5, b = 0: ∂E/∂w = (−1.5 + 0)/2, ∂E/∂b = −0.75: w = 0.575, b = 0.075,
    loss (1.125 + 0)/2. Batch 2 (x = 0, d = 1): y = 0.075, e = 0.925, E = 0.4278125;
    ∂E/∂w = 0, ∂E/∂b = −0.925: b = 0.1675."""
    p = {**LINEAR, "samples": LINEAR["samples"] + [{"x": [0], "d": [1]}]}
    r = results(p, mode="minibatch", batch_size=2, reduction="mean")
    assert [(h["epoch"], h["batch"]) for h in r["history"]] == [(1, 1), (1, 2)]
    assert [h["loss"] for h in r["history"]] == pytest.approx([0.5625, 0.4278125])
    assert r["final_weights"] == [[[pytest.approx(0.575)]]] and r["final_bias"] == [[pytest.approx(0.1675)]]
    assert r["epoch_loss"] == [pytest.approx((1.125 + 0 + 0.4278125) / 3)]


def test_update_bias_false_keeps_biases():
    r = results(LINEAR, update_bias=False, epochs=2)
    assert all(h["bias"] == [[0.0]] for h in r["history"]) and r["final_bias"] == [[0.0]]


def test_momentum_zero_is_plain_gradient_descent():
    a, b = results(LINEAR, epochs=3), results(LINEAR, epochs=3, momentum=0)
    close(a["final_weights"], b["final_weights"])
    close(a["epoch_loss"], b["epoch_loss"])


def test_problem_file_matches_torch():
    from conftest import ROOT
    path = ROOT / "problems" / "mlp_training_xor_minibatch.yaml"
    r = solve_text(path.read_text(encoding="utf-8")).results
    want = next(c for c in CASES if c["id"] == "minibatch_sum_momentum")
    file_problem = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert {k: v for k, v in file_problem.items() if k != "title"} == want["problem"]
    for name in ("epoch_loss", "final_weights", "final_bias"):
        close(r[name], want["expected"][name])


def test_rounding_and_steps_resolve():
    r = results(LINEAR, epochs=2, mode="batch", momentum=0.5, rounding=3)
    assert r["final_weights"] == [[[0.755]]]


def test_schema_and_template(run_cli, write):
    code, out, _ = run_cli("schema", "mlp")
    assert code == 0
    props = json.loads(out)["properties"]
    for key in ("samples", "epochs", "mode", "batch_size", "reduction", "momentum"):
        assert key in props
    code, out, _ = run_cli("new", "mlp")
    assert code == 0
    code, _, err = run_cli("run", write(out))
    assert code == 0, err


BASE = """kind: mlp
layers:
  - {weights: [[0.5, 0.1]], bias: [0], activation: sigmoid}
"""
GOOD = "samples:\n  - {x: [1, 0], d: [1]}\n  - {x: [0, 1], d: [0]}\n"


@pytest.mark.parametrize("tail,line,key", [
    (GOOD + "mode: batch\nbatch_size: 2\n", 8, "batch_size"),
    (GOOD + "mode: minibatch\n", 1, "batch_size"),
    (GOOD + "input: [1, 0]\n", 7, "input"),
    ("input: [1, 0]\ntarget: [1]\nepochs: 2\n", 6, "epochs"),
    ("samples:\n  - {x: [1, 0], d: [1]}\n  - {x: [0, 1], d: [0, 1]}\n", 6, "samples[1].d"),
    ("samples:\n  - {x: [1, 0], d: [1]}\n  - {x: [0, 1, 2], d: [0]}\n", 6, "samples[1].x"),
    ("samples:\n  - {x: [1, 0], d: [1, 0]}\n", 5, "samples[0].d"),
    (GOOD + "momentum: -0.5\n", 7, "momentum"),
    (GOOD + "mode: stochastic\n", 7, "mode"),
    (GOOD + "reduction: avg\n", 7, "reduction"),
    (GOOD + "epochs: 0\n", 7, "epochs"),
    ("samples:\n  - {x: [1, 0], t: [1]}\n", 5, "t"),
    ("samples: 3\n", 4, "samples"),
])
def test_bad_training_keys(run_cli, write, tail, line, key):
    code, out, err = run_cli("run", write(BASE + tail))
    assert code == 2, out
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert f":{line}:" in err and key in err, err


def test_batch_mode_with_one_sample_is_online_mode():
    """An identity (classical.md): with one sample, a batch is that sample."""
    one = {**LINEAR, "samples": LINEAR["samples"][:1]}
    a = results(one, mode="online", epochs=3)
    b = results(one, mode="batch", epochs=3)
    c = results(one, mode="minibatch", batch_size=1, epochs=3)
    assert a["final_weights"] == b["final_weights"] == c["final_weights"]
    assert a["epoch_loss"] == b["epoch_loss"] == c["epoch_loss"]
