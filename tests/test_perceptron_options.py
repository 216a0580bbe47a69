"""perceptron's optional keys strict and update_bias, and updates counting e ≠ 0
(classical.md, "perceptron: two more optional keys"): hand-worked runs and an independent
loop written here."""
import itertools

import numpy as np
import pytest
import yaml

from nnsolve.core import solve_text


def results(problem):
    return solve_text(yaml.safe_dump(problem, sort_keys=False)).results


def reference(w, b, eta, activation, strict, update_bias, samples, max_epochs):
    """Rosenblatt's rule, written independently of nnsolve."""
    low = 0.0 if activation == "step" else -1.0
    w, b = [float(v) for v in w], float(b)
    updates = 0
    for epoch in range(1, max_epochs + 1):
        errors = 0
        for s in samples:
            v = sum(wi * xi for wi, xi in zip(w, s["x"])) + b
            y = 1.0 if (v > 0 if strict else v >= 0) else low
            e = s["d"] - y
            if e != 0:
                errors += 1
                updates += 1
                w = [wi + eta * e * xi for wi, xi in zip(w, s["x"])]
                if update_bias:
                    b = b + eta * e
        if errors == 0:
            return w, b, epoch, True, updates
    return w, b, max_epochs, False, updates


def test_strict_step_at_zero_by_hand():
    """v = 0 on the first sample: strict step gives 0 = d, nothing to learn; the default
    fires (y = 1), e = −1, w = −1, b = −1, and epoch 2 is clean (v = −2)."""
    base = {"kind": "perceptron", "weights": [0], "bias": 0, "activation": "step", "samples": [{"x": [1], "d": 0}]}
    r = results({**base, "strict": True})
    assert (r["epochs"], r["converged"], r["updates"]) == (1, True, 0)
    assert r["weights"] == [0.0] and r["bias"] == 0.0 and r["history"][0]["y"] == 0.0
    r = results(base)
    assert (r["epochs"], r["converged"], r["updates"]) == (2, True, 1)
    assert r["weights"] == [-1.0] and r["bias"] == -1.0


def test_strict_sign_gives_minus_one_at_zero():
    r = results({"kind": "perceptron", "weights": [0, 0], "bias": 0, "activation": "sign", "strict": True,
                 "samples": [{"x": [1, 1], "d": -1}]})
    assert r["history"][0]["v"] == 0.0 and r["history"][0]["y"] == -1.0
    assert r["updates"] == 0 and r["converged"] is True


def test_fixed_bias_counts_errors_not_changes():
    """x = 0 with a fixed b = −1: y = 0 ≠ d = 1 every time, yet nothing changes; every
    presentation is an update (e ≠ 0) and training never converges."""
    r = results({"kind": "perceptron", "weights": [0.5], "bias": -1, "update_bias": False, "max_epochs": 4,
                 "samples": [{"x": [0], "d": 1}]})
    assert (r["epochs"], r["converged"], r["updates"]) == (4, False, 4)
    assert r["weights"] == [0.5] and r["bias"] == -1.0
    assert all(h["bias"] == -1.0 and h["e"] == 1.0 for h in r["history"])


def test_fixed_bias_by_hand():
    """AND with a fixed threshold θ = 1.5 (b = −1.5), η = 0.5, from w = 0: the weights alone
    learn it."""
    samples = [{"x": [0, 0], "d": 0}, {"x": [0, 1], "d": 0}, {"x": [1, 0], "d": 0}, {"x": [1, 1], "d": 1}]
    r = results({"kind": "perceptron", "weights": [0, 0], "bias": -1.5, "learning_rate": 0.5,
                 "update_bias": False, "samples": samples})
    # epoch 1: only (1, 1) errs (v = −1.5): w = [0.5, 0.5]; epoch 2: (1,1) v = −0.5 errs: w = [1, 1];
    # epoch 3: v = −1.5, −0.5, −0.5, 0.5: all right.
    assert r["weights"] == [1.0, 1.0] and r["bias"] == -1.5
    assert (r["epochs"], r["converged"], r["updates"]) == (3, True, 2)


@pytest.mark.parametrize("activation,strict,update_bias",
                         list(itertools.product(["step", "sign"], [False, True], [True, False])))
def test_against_an_independent_loop(activation, strict, update_bias):
    rng = np.random.default_rng(3)
    low = 0 if activation == "step" else -1
    for _ in range(5):
        X = rng.integers(-2, 3, size=(5, 2)).tolist()
        samples = [{"x": x, "d": int(rng.choice([low, 1]))} for x in X]
        w0 = rng.integers(-1, 2, size=2).tolist()
        problem = {"kind": "perceptron", "weights": w0, "bias": 0, "learning_rate": 1, "activation": activation,
                   "strict": strict, "update_bias": update_bias, "max_epochs": 12, "samples": samples}
        r = results(problem)
        w, b, epochs, converged, updates = reference(w0, 0, 1, activation, strict, update_bias, samples, 12)
        assert r["weights"] == pytest.approx(w) and r["bias"] == pytest.approx(b)
        assert (r["epochs"], r["converged"], r["updates"]) == (epochs, converged, updates)


def test_problem_file_strict():
    from conftest import ROOT
    r = solve_text((ROOT / "problems" / "perceptron_strict.yaml").read_text(encoding="utf-8")).results
    data = yaml.safe_load((ROOT / "problems" / "perceptron_strict.yaml").read_text(encoding="utf-8"))
    want = reference(data["weights"], data.get("bias", 0), data.get("learning_rate", 1), data["activation"],
                     True, data.get("update_bias", True), data["samples"], data.get("max_epochs", 100))
    assert r["weights"] == pytest.approx(want[0]) and r["bias"] == pytest.approx(want[1])
    assert (r["epochs"], r["converged"], r["updates"]) == want[2:]


@pytest.mark.parametrize("line,where", [("strict: maybe", "strict"), ("update_bias: 3", "update_bias"),
                                        ("strcit: true", "strcit")])
def test_bad_option(run_cli, write, line, where):
    path = write("kind: perceptron\nweights: [0, 0]\n" + line + "\nsamples:\n  - {x: [1, 1], d: 1}\n")
    code, out, err = run_cli("run", path)
    assert code == 2
    assert err.startswith("error: ") and f":3:" in err and where in err and len(err.strip().splitlines()) == 1
