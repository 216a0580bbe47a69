"""kinds batchnorm, param_count and iou (shared/spec/building-blocks.md).

Expected numbers come from elsewhere than nnsolve: PyTorch float64 (tests/reference/
batchnorm_count_iou.json, made by tests/reference/make_batchnorm_count_iou.py: F.batch_norm
forward and backward, the parameter counts of nn.RNN / nn.GRU / nn.LSTM / nn.Linear / nn.Conv2d),
cases worked by hand here (torchvision is not importable in the reference venv, so the IoU
cases are hand-derived), a compact closed form of the batch-norm gradient (nnsolve works it term
by term), central finite differences, and identities.
"""
from __future__ import annotations

import json
import math
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import ROOT
from nnsolve.core import solve_file, solve_text
from nnsolve.render.json import render as render_json

REFERENCE = Path(__file__).resolve().parent / "reference" / "batchnorm_count_iou.json"
FIXTURE = json.loads(REFERENCE.read_text(encoding="utf-8"))
PROBLEMS = ROOT / "problems"


def results_of(text_or_dict, **kw):
    text = text_or_dict if isinstance(text_or_dict, str) else yaml.safe_dump(text_or_dict, sort_keys=False)
    return json.loads(render_json(solve_text(text, **kw)))["results"]


def file_results(name, **kw):
    return json.loads(render_json(solve_file(str(PROBLEMS / name), **kw)))["results"]


def r(x, n):
    """Half away from zero, on the decimal the number prints as (a calculator's rounding)."""
    return float(Decimal(f"{x:.15g}").quantize(Decimal(1).scaleb(-n), rounding=ROUND_HALF_UP))


def run_bad(run_cli, write, text, name="problem.yaml"):
    path = write(text, name)
    code, out, err = run_cli("run", path)
    assert code == 2, (code, out, err)
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}:"), err
    return path, lines[0]


def line_of(text, needle):
    return next(k for k, line in enumerate(text.splitlines(), start=1) if needle in line)


# -- the PyTorch fixture ----------------------------------------------------------------------------

def test_fixture_is_there_and_covers_the_modules():
    ids = {c["id"] for c in FIXTURE["cases"]}
    assert FIXTURE["torch"].startswith("2.13")
    assert {"bn-spec", "bn-seed003-eps0", "bn-constant-feature", "bn-offset"} <= ids
    types = {layer["type"] for c in FIXTURE["cases"] if c["problem"]["kind"] == "param_count"
             for layer in c["problem"]["layers"]}
    assert types == {"rnn", "gru", "lstm", "dense", "conv2d"}
    if FIXTURE["torchvision"] is None:  # then the iou tests below are hand-derived
        assert not any(c["problem"]["kind"] == "iou" for c in FIXTURE["cases"])


@pytest.mark.parametrize("case", FIXTURE["cases"], ids=[c["id"] for c in FIXTURE["cases"]])
def test_matches_torch(case):
    got = results_of(case["problem"])
    for name, want in case["expected"].items():
        if case["problem"]["kind"] == "param_count":
            assert got[name] == want, name  # whole numbers, exactly
            continue
        g, w = np.asarray(got[name], dtype=float), np.asarray(want, dtype=float)
        assert g.shape == w.shape, name
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12, err_msg=f"{case['id']} {name}")


# -- batchnorm: hand-derived, closed form, identities ---------------------------------------------

def closed_form(X, gamma, beta, eps, G=None):
    """Batch norm written independently: two-pass statistics, and the compact gradient
    dx = γ/(N s) (N g − Σg − x̂ Σ g x̂) (not the term-by-term form nnsolve shows)."""
    X = np.asarray(X, float)
    N = len(X)
    mu = X.mean(0)
    var = ((X - mu) ** 2).mean(0)
    s = np.sqrt(var + eps)
    xh = (X - mu) / s
    out = {"mean": mu, "variance": var, "x_hat": xh, "y": gamma * xh + beta}
    if G is not None:
        G = np.asarray(G, float)
        out["grad_beta"] = G.sum(0)
        out["grad_gamma"] = (G * xh).sum(0)
        out["grad_input"] = gamma / (N * s) * (N * G - G.sum(0) - xh * (G * xh).sum(0))
    return out


def assert_results(got, want, tol=1e-12):
    for k, v in want.items():
        np.testing.assert_allclose(np.asarray(got[k], float), np.asarray(v, float), rtol=tol, atol=tol, err_msg=k)


def test_seed_file_by_hand():
    """problems/batchnorm_seed.yaml: ε = 0, so x̂ = (x − μ)/σ exactly."""
    got = file_results("batchnorm_seed.yaml")
    assert got["mean"] == [3.0, 0.0]
    assert got["variance"] == [2.5, 1.25]  # (4 + 1 + 1 + 4)/4, (0.25 + 0.25 + 2.25 + 2.25)/4
    xh1 = np.array([-2, -1, 1, 2]) / math.sqrt(2.5)
    xh2 = np.array([-0.5, 0.5, 1.5, -1.5]) / math.sqrt(1.25)
    np.testing.assert_allclose(np.array(got["x_hat"]), np.stack([xh1, xh2], 1), rtol=1e-14)
    np.testing.assert_allclose(np.array(got["y"]), np.stack([2 * xh1 + 0.1, 0.5 * xh2 - 0.2], 1), rtol=1e-14)
    G = [[0.2, -0.1], [-0.4, 0.3], [0.1, 0.0], [0.3, 0.2]]
    np.testing.assert_allclose(got["grad_beta"], [0.2, 0.4], rtol=1e-14)
    assert_results(got, closed_form([[1, -0.5], [2, 0.5], [4, 1.5], [5, -1.5]], np.array([2, 0.5]),
                                    np.array([0.1, -0.2]), 0.0, G))


def test_spec_file_by_hand():
    got = file_results("batchnorm_spec.yaml")
    assert got["mean"] == [3.0, 4.0]
    np.testing.assert_allclose(got["variance"], [8 / 3, 8 / 3], rtol=1e-15)
    a = 2 / math.sqrt(8 / 3 + 1e-5)
    np.testing.assert_allclose(np.array(got["x_hat"]), [[-a, -a], [0, a], [a, 0]], rtol=1e-14, atol=1e-15)
    assert got["y"] == got["x_hat"]  # γ = 1, β = 0
    np.testing.assert_allclose(got["grad_beta"], [0.3, 0.3], rtol=1e-14)
    np.testing.assert_allclose(got["grad_gamma"], [-0.2 * a, 0.2 * a], rtol=1e-12)
    np.testing.assert_allclose(np.sum(got["grad_input"], axis=0), [0, 0], atol=1e-15)


def test_wide_file_offset_and_constant_feature():
    got = file_results("batchnorm_wide.yaml")
    X = np.array([[0.5, 1000.1, 2], [-1.0, 1000.3, 2], [2.0, 999.9, 2], [1.5, 1000.0, 2], [0.0, 1000.2, 2],
                  [3.0, 999.8, 2]])
    want = closed_form(X, np.array([1.5, 1, 0.8]), np.array([0, 0.5, -1]), 0.001)
    assert_results(got, want, tol=1e-9)
    assert [row[2] for row in got["x_hat"]] == [0.0] * 6  # constant feature: 0/√ε
    assert [row[2] for row in got["y"]] == [-1.0] * 6     # y = β
    assert "grad_input" not in got  # no grad_output: forward only


@pytest.mark.parametrize("seed", range(6))
def test_identities_and_finite_differences(seed):
    rng = np.random.default_rng(seed)
    N, d = int(rng.integers(2, 7)), int(rng.integers(1, 4))
    X = rng.normal(size=(N, d)) * 3 + 1
    gamma, beta, G = rng.normal(size=d), rng.normal(size=d), rng.normal(size=(N, d))
    eps = float(rng.choice([0.0, 1e-5, 0.1]))
    problem = {"kind": "batchnorm", "inputs": X.tolist(), "gamma": gamma.tolist(), "beta": beta.tolist(),
               "epsilon": eps, "grad_output": G.tolist()}
    got = results_of(problem)
    xh, dx = np.array(got["x_hat"]), np.array(got["grad_input"])
    var = np.array(got["variance"])
    np.testing.assert_allclose(xh.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose((xh ** 2).mean(0), var / (var + eps), rtol=1e-12)
    np.testing.assert_allclose(dx.sum(0), 0, atol=1e-10)          # a shift of a feature changes nothing
    # a scaling changes nothing up to ε: Σ_i ∂L/∂x x̂ = γ/s Σ_i g x̂ · ε/(σ² + ε)
    np.testing.assert_allclose((dx * xh).sum(0), gamma / np.sqrt(var + eps) * (G * xh).sum(0) * eps / (var + eps),
                               atol=1e-10)
    assert_results(got, closed_form(X, gamma, beta, eps, G), tol=1e-9)

    def loss(Xp):  # L = Σ g y, so ∂L/∂y = g
        Xp = np.asarray(Xp)
        return float(np.sum(G * (gamma * (Xp - Xp.mean(0)) / np.sqrt(Xp.var(0) + eps) + beta)))
    h = 1e-6
    num = np.zeros_like(X)
    for idx in np.ndindex(*X.shape):
        e = np.zeros_like(X)
        e[idx] = h
        num[idx] = (loss(X + e) - loss(X - e)) / (2 * h)
    np.testing.assert_allclose(dx, num, rtol=1e-5, atol=1e-6)


def test_defaults_gamma_ones_beta_zeros_epsilon_pytorch():
    got = results_of("kind: batchnorm\ninputs: [[0], [2]]\n")
    a = 1 / math.sqrt(1 + 1e-5)
    np.testing.assert_allclose(got["x_hat"], [[-a], [a]], rtol=1e-15)
    assert got["y"] == got["x_hat"]
    assert set(got) == {"mean", "variance", "x_hat", "y"}


def test_batchnorm_rounded_by_hand():
    """The spec's example with rounding: 3, as a careful hand calculation writes it."""
    X = [[1, 2], [3, 6], [5, 4]]
    G = [[0.1, -0.2], [0.3, 0.0], [-0.1, 0.5]]
    got = results_of((PROBLEMS / "batchnorm_spec.yaml").read_text(), rounding=3)
    eps = 1e-5
    for j in range(2):
        col = [row[j] for row in X]
        mu = r(sum(col) / 3, 3)
        var = r(sum((x - mu) ** 2 for x in col) / 3, 3)
        s = r(math.sqrt(r(var + eps, 3)), 3)
        xh = [r((x - mu) / s, 3) for x in col]
        g = [row[j] for row in G]
        assert got["mean"][j] == mu and got["variance"][j] == var
        assert [row[j] for row in got["x_hat"]] == xh
        assert [row[j] for row in got["y"]] == [r(1 * v + 0, 3) for v in xh]
        assert got["grad_beta"][j] == r(sum(g), 3)
        assert got["grad_gamma"][j] == r(sum(a * b for a, b in zip(g, xh)), 3)
        dxh = [r(v * 1, 3) for v in g]
        dvar = r(-0.5 * sum(a * (x - mu) for a, x in zip(dxh, col)) / s ** 3, 3)
        dmu = r(-sum(dxh) / s + -2 * dvar * sum(x - mu for x in col) / 3, 3)
        dx = [r(a / s + 2 * dvar * (x - mu) / 3 + dmu / 3, 3) for a, x in zip(dxh, col)]
        assert [row[j] for row in got["grad_input"]] == dx
    assert got["variance"] == [2.667, 2.667] and got["x_hat"][0] == [-1.225, -1.225]


def test_rounding_that_writes_the_denominator_as_zero_is_an_input_error(run_cli, write):
    """ε = 0.001 and a constant feature: to 2 decimals √(0 + 0.001) is written 0.00."""
    path = str(PROBLEMS / "batchnorm_wide.yaml")
    code, out, err = run_cli("run", path, "--rounding", "2")
    text = (PROBLEMS / "batchnorm_wide.yaml").read_text()
    assert code == 2 and "Traceback" not in out + err
    assert f"{path}:{line_of(text, 'epsilon:')}:" in err and "feature 3" in err and "at least 3 decimals" in err, err
    assert run_cli("run", path, "--rounding", "3")[0] == 0
    # without epsilon in the file the error points at the feature's column
    bad = write("kind: batchnorm\ninputs: [[1, 2], [3, 2]]\n")
    code, _, err = run_cli("run", bad, "--rounding", "3")
    assert code == 2 and f"{bad}:2:" in err and "inputs[0][1]" in err and "feature 2" in err, err
    assert "at least 5 decimals" in err, err  # σ² + ε = 0.00001 is written 0 up to 4 decimals
    bad = write("kind: batchnorm\ninputs: [[1, 2], [3, 2]]\nrounding: 3\n", "r.yaml")
    code, _, err = run_cli("run", bad)
    assert code == 2 and f"{bad}:3:" in err and " rounding: " in err, err


def test_batch_of_one_warns():
    w = solve_text("kind: batchnorm\ninputs: [[1, 2, 3]]\n")
    assert w.results["x_hat"] == [[0.0, 0.0, 0.0]]
    texts = [b.text for s in w.sections for b in s.blocks if hasattr(b, "kind") and b.kind == "warning"]
    assert any("PyTorch refuses" in t for t in texts)


def test_working_per_feature_shows_mean_variance_and_backward_terms(run_cli):
    code, out, _ = run_cli("run", str(PROBLEMS / "batchnorm_spec.yaml"))
    assert code == 0
    for needle in ("μ₁ = 1/3 Σᵢ x₁⁽ⁱ⁾", "= 1/3(1 + 3 + 5) = 3", "σ₁² = 1/3 Σᵢ (x₁⁽ⁱ⁾ − μ₁)²",
                   "s₁ = √(σ₁² + ε)", "(1 − 3)/1.6330 = −1.2247", "∂L/∂β₁ = Σᵢ ∂L/∂y₁⁽ⁱ⁾", "∂L/∂σ₁²",
                   "∂L/∂μ₁", "∂L/∂x₁⁽¹⁾", "biased", "N − 1", "Feature j = 2"):
        assert needle in out, needle


def test_more_than_four_samples_get_a_table(run_cli):
    code, out, _ = run_cli("run", str(PROBLEMS / "batchnorm_wide.yaml"))
    assert code == 0 and "x̂₁⁽⁴⁾ =" in out and "x̂₁⁽⁵⁾ =" not in out and "Every sample of feature 1" in out


# -- batchnorm: bad input ---------------------------------------------------------------------------

BN = "kind: batchnorm\ninputs:\n  - [1, 2]\n  - [3, 2]\n  - [5, 2]\n"


def test_zero_variance_with_epsilon_zero_is_an_input_error(run_cli, write):
    text = BN + "epsilon: 0\n"
    path, msg = run_bad(run_cli, write, text)
    assert f"{path}:{line_of(text, 'epsilon')}:" in msg
    assert "feature 2" in msg and "0/0" in msg and "epsilon > 0" in msg and "NaN" not in msg, msg
    assert results_of(BN + "epsilon: 0.001\n")["x_hat"][0][1] == 0.0  # with ε > 0 it is fine


@pytest.mark.parametrize("change, where, words", [
    ("inputs: [1, 2, 3]", "inputs", ["one row per sample", "[[1], [3], [5]]"]),
    ("inputs: [[1, 2], [3]]", "inputs", ["different lengths"]),
    ("inputs: [[1, 2], [3, x]]", "inputs[1][1]", ["expected a number", "'x'"]),
    ("inputs: [[1, 2], [3, .nan]]", "inputs[1][1]", ["NaN"]),
    ("inputs: []", "inputs", ["empty"]),
    ("gamma: [1, 2, 3]", "gamma", ["length d = 2", "length-3"]),
    ("beta: fast", "beta", ["β, a vector of length d = 2"]),
    ("epsilon: -0.1", "epsilon", ["≥ 0"]),
    ("epsilon: small", "epsilon", ["ε, a number ≥ 0"]),
    ("grad_output: [[1, 2], [3, 4], [5, 6]]", "grad_output", ["2 × 2", "3 × 2"]),
    ("grad_output: [[1], [2]]", "grad_output", ["2 × 2"]),
    ("gama: [1, 1]", "gama", ["did you mean 'gamma'"]),
])
def test_batchnorm_bad_input(run_cli, write, change, where, words):
    key = change.split(":")[0]
    base = "kind: batchnorm\ninputs: [[1, 2], [3, 4]]\n"
    text = (base.replace("inputs: [[1, 2], [3, 4]]\n", "") if key == "inputs" else base) + change + "\n"
    path, msg = run_bad(run_cli, write, text)
    assert f"{path}:{line_of(text, key + ':')}:" in msg, msg
    assert f" {where}: " in msg, msg
    for w in words:
        assert w in msg, (w, msg)


# -- param_count --------------------------------------------------------------------------------------

def test_seed_count_by_hand():
    got = file_results("param_count_seed.yaml")
    assert got == {"per_layer": [4 * (6 ** 2 + 10000 * 6 + 6), 6 * 1 + 1], "total": 240168 + 7}
    assert all(type(v) is int for v in got["per_layer"]) and type(got["total"]) is int
    data = yaml.safe_load((PROBLEMS / "param_count_seed.yaml").read_text())
    data["convention"] = "pytorch"
    assert results_of(data)["per_layer"][0] == 4 * (36 + 60000 + 12) == 240192


def test_spec_count_by_hand():
    got = file_results("param_count_spec.yaml")
    first, second = 4 * (20 ** 2 + 10 * 20 + 20), 4 * (20 ** 2 + 20 * 20 + 20)
    assert got["per_layer"] == [first + second, 5 * 20 + 5, 16 * 3 * 3 * 3 + 16]
    assert got["total"] == 5760 + 105 + 448


def test_pytorch_file_by_hand():
    got = file_results("param_count_pytorch.yaml")
    g, m = 3, 16
    gru = 2 * (g * (m * m + 8 * m + 2 * m) + 2 * g * (m * m + 2 * m * m + 2 * m))
    assert got["per_layer"] == [gru, 4 * 4 + 32 * 4, 16 * 3 * 3 * 5, 4 * 2 + 2]
    assert got["total"] == sum(got["per_layer"])


@pytest.mark.parametrize("kind, g", [("rnn", 1), ("gru", 3), ("lstm", 4)])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_conventions_differ_by_g_m_per_layer_and_direction(kind, g, bidirectional):
    layer = {"type": kind, "input_size": 7, "hidden_size": 5, "num_layers": 3, "bidirectional": bidirectional}
    notes = results_of({"kind": "param_count", "layers": [layer]})["total"]
    torch = results_of({"kind": "param_count", "convention": "pytorch", "layers": [layer]})["total"]
    D = 2 if bidirectional else 1
    assert torch - notes == g * 5 * 3 * D
    no_bias = dict(layer, bias=False)
    a = results_of({"kind": "param_count", "layers": [no_bias]})["total"]
    b = results_of({"kind": "param_count", "convention": "pytorch", "layers": [no_bias]})["total"]
    assert a == b == D * (g * (25 + 7 * 5) + 2 * g * (25 + D * 5 * 5))


def test_count_working_shows_both_conventions(run_cli):
    code, out, _ = run_cli("run", str(PROBLEMS / "param_count_seed.yaml"))
    assert code == 0
    for needle in ("P₁ = g (m² + n m + m)", "4 · (6² + 10000 · 6 + 6) = 240168", "P₁^(PyTorch)", "240192",
                   "Keras", "b_ih", "b_hh", "240,175 trainable parameters", "The two conventions side by side"):
        assert needle in out, needle


def test_large_counts_stay_whole_numbers(run_cli, write):
    path = write("kind: param_count\nlayers:\n  - {type: lstm, input_size: 10000, hidden_size: 1000}\n")
    assert results_of(open(path).read())["per_layer"] == [4 * (1000 ** 2 + 10000 * 1000 + 1000)]
    code, out, _ = run_cli("run", path)
    assert code == 0 and "44,004,000 in full" in out and "44,008,000" in out  # the formula's value reads 4.400 × 10⁷


def test_count_check_marks_the_pytorch_count_wrong_and_follows_through(run_cli, write):
    ans = write("answers:\n  per_layer[1]: 240192\n  per_layer[2]: 7\n  total: 240199\n", "a.yaml")
    code, out, _ = run_cli("check", str(PROBLEMS / "param_count_seed.yaml"), ans, "--format", "json")
    assert code == 1
    status = {i["path"]: i["status"] for i in json.loads(out)["items"]}
    assert status == {"per_layer[1]": "wrong", "per_layer[2]": "correct", "total": "follow_through"}


PC = "kind: param_count\nlayers:\n  - {type: lstm, input_size: 10, hidden_size: 20}\n"


@pytest.mark.parametrize("layer, where, words", [
    ("{type: lstn, input_size: 3, hidden_size: 2}", "layers[0].type", ["did you mean 'lstm'"]),
    ("{type: dense, inputs: 3, outputs: 2, hidden_size: 4}", "layers[0].hidden_size",
     ["'hidden_size' is a key of rnn, gru and lstm layers", "inputs, outputs"]),
    ("{type: lstm, input_size: 3, outputs: 2}", "layers[0].outputs", ["a key of dense layers"]),
    ("{type: gru, input_size: 3}", "layers[0]", ["missing key 'hidden_size'"]),
    ("{type: conv2d, in_channels: 3, out_channels: 8}", "layers[0]", ["missing key 'kernel_size'"]),
    ("{type: conv2d, in_channels: 3, out_channels: 8, kernel_size: [3]}", "layers[0].kernel_size",
     ["[k_h, k_w]", "[3]"]),
    ("{type: conv2d, in_channels: 3, out_channels: 8, kernel_size: 0}", "layers[0].kernel_size", ["k ≥ 1"]),
    ("{type: conv2d, in_channels: 3, out_channels: 8, kernel_size: 3x3}", "layers[0].kernel_size", ["'3x3'"]),
    ("{type: rnn, input_size: 3, hidden_size: 2, num_layers: 0}", "layers[0].num_layers", ["≥ 1"]),
    ("{type: rnn, input_size: 3.5, hidden_size: 2}", "layers[0].input_size", ["whole number"]),
    ("{type: rnn, input_size: 3, hidden_size: 2, bidirectional: maybe}", "layers[0].bidirectional",
     ["true or false"]),
    ("{type: dense, inputs: 3, outputs: 2, bias: 1}", "layers[0].bias", ["true or false"]),
    ("{type: dense, inputs: 3, output: 2}", "layers[0].output", ["did you mean 'outputs'"]),
])
def test_count_bad_layer(run_cli, write, layer, where, words):
    text = f"kind: param_count\nlayers:\n  - {{type: dense, inputs: 1, outputs: 1}}\n  - {layer}\n"
    where = where.replace("[0]", "[1]")
    path, msg = run_bad(run_cli, write, text)
    assert f"{path}:4:" in msg and f" {where}: " in msg, msg
    for w in words:
        assert w in msg, (w, msg)


def test_count_bad_top_level(run_cli, write):
    _, msg = run_bad(run_cli, write, PC + "convention: keras\n")
    assert "convention" in msg and "notes, pytorch" in msg, msg
    _, msg = run_bad(run_cli, write, "kind: param_count\nlayers: []\n")
    assert "layers" in msg and "at least 1" in msg, msg
    _, msg = run_bad(run_cli, write, "kind: param_count\nlayers: {type: rnn}\n")
    assert "layers" in msg and "a list of layers" in msg, msg
    _, msg = run_bad(run_cli, write, "kind: param_count\nlayers:\n  - 5\n")
    assert "layers[0]" in msg and "mapping" in msg, msg


# -- iou ----------------------------------------------------------------------------------------------

def test_spec_boxes_by_hand():
    got = file_results("iou_boxes.yaml")
    assert got["intersection"] == [[1.0], [4.0]]
    assert got["union"] == [[7.0], [6.0]]
    assert got["iou"] == [[1 / 7], [4 / 6]]


def test_center_file_by_hand():
    got = file_results("iou_center.yaml")
    assert got["intersection"] == [[35 * 40, 0], [0, 20 * 20]]
    assert got["union"] == [[1600 + 2000 - 1400, 1600 + 400], [900 + 2000, 900 + 400 - 400]]
    assert got["iou"] == [[1400 / 2200, 0], [0, 400 / 900]]


def test_seed_masks_by_hand():
    got = file_results("iou_seed.yaml")
    assert got == {"intersection": 12.0, "union": 52.0, "iou": 12 / 52}


BOX = "kind: iou\npredicted: {p}\ntruth: {t}\n"


@pytest.mark.parametrize("p, t, inter, union", [
    ([0, 0, 2, 2], [0, 0, 2, 2], 4, 4),             # identical: IoU = 1
    ([0, 0, 1, 1], [2, 2, 3, 3], 0, 2),             # apart in x and y
    ([0, 0, 1, 1], [1, 0, 2, 1], 0, 2),             # touching edges: Δx = 0
    ([0, 0, 4, 4], [1, 1, 3, 2], 2, 16),            # inside: I = the small box
    ([0, 0, 3, 1], [1, -1, 2, 5], 1, 3 + 6 - 1),    # a cross
    ([0.5, 0.5, 1.5, 2.5], [1, 0, 3, 1], 0.25, 2 + 2 - 0.25),
    ([0, 0, 0, 3], [0, 0, 2, 2], 0, 4),             # a zero-area box with another: IoU = 0
])
def test_pairs_by_hand(p, t, inter, union):
    got = results_of(BOX.format(p=p, t=t))
    assert got == {"intersection": inter, "union": union, "iou": inter / union}  # both flat: numbers
    swapped = results_of(BOX.format(p=t, t=p))
    assert swapped == got  # IoU is symmetric


def test_shapes_follow_the_common_rule():
    one_many = results_of(BOX.format(p=[0, 0, 2, 2], t=[[0, 0, 2, 2], [1, 1, 3, 3]]))
    assert one_many["iou"] == [1.0, 1 / 7]
    many_one = results_of(BOX.format(p=[[0, 0, 2, 2], [1, 1, 3, 3]], t=[0, 0, 2, 2]))
    assert many_one["iou"] == [1.0, 1 / 7]
    lists = results_of(BOX.format(p=[[0, 0, 2, 2]], t=[[1, 1, 3, 3]]))
    assert lists["iou"] == [[1 / 7]]  # lists of one box keep both dimensions


def test_center_equals_corners():
    rng = np.random.default_rng(3)
    c = rng.uniform(0, 10, size=(3, 2))
    wh = rng.uniform(0.5, 4, size=(3, 2))
    P = np.hstack([c, wh])
    T = np.array([[5, 5, 4, 3], [2, 8, 1, 1]], float)
    corners = lambda B: np.hstack([B[:, :2] - B[:, 2:] / 2, B[:, :2] + B[:, 2:] / 2])
    a = results_of({"kind": "iou", "format": "center", "predicted": P.tolist(), "truth": T.tolist()})
    b = results_of({"kind": "iou", "predicted": corners(P).tolist(), "truth": corners(T).tolist()})
    np.testing.assert_allclose(a["iou"], b["iou"], rtol=1e-12, atol=1e-15)


def test_masks_by_hand():
    text = ("kind: iou\npredicted_mask: [[0, 1, 1], [0, 1, 1], [0, 0, 0]]\n"
            "truth_mask: [[0, 1, 1], [0, 1, 0], [0, 0, 0]]\n")
    assert results_of(text) == {"intersection": 3.0, "union": 4.0, "iou": 0.75}
    text = "kind: iou\npredicted_mask: [[1, 0]]\ntruth_mask: [[0, 0]]\n"
    assert results_of(text) == {"intersection": 0.0, "union": 1.0, "iou": 0.0}


def test_iou_working_and_rounding(run_cli):
    code, out, _ = run_cli("run", str(PROBLEMS / "iou_boxes.yaml"))
    assert code == 0
    for needle in ("Δx = min(x̂₂, x₂) − max(x̂₁, x₁)", "I₁,₁ = max(0, Δx) max(0, Δy)", "U₁,₁ = A\u0302₁ + A₁ − I₁,₁",
                   "4 + 4 − 1 = 7", "IoU₁,₁ = I₁,₁/U₁,₁", "1/7 = 0.1429", "box_iou"):
        assert needle in out, needle
    got = results_of((PROBLEMS / "iou_boxes.yaml").read_text(), rounding=2)
    assert got["iou"] == [[0.14], [0.67]]
    code, out, _ = run_cli("run", str(PROBLEMS / "iou_center.yaml"))
    assert code == 0 and "x\u0302₁ = c\u0302ₓ − w\u0302/2" in out


@pytest.mark.parametrize("text, key, where, words", [
    (BOX.format(p=[[0, 0, 2, 2], [3, 0, 1, 1]], t=[0, 0, 1, 1]), "predicted", "predicted[1]",
     ["box 2", "x2 = 1 < x1 = 3", "format: center"]),
    (BOX.format(p=[0, 2, 2, 1], t=[0, 0, 1, 1]), "predicted", "predicted", ["y2 = 1 < y1 = 2"]),
    ("kind: iou\nformat: center\npredicted: [1, 1, -2, 2]\ntruth: [0, 0, 1, 1]\n", "predicted", "predicted",
     ["width w = -2 < 0"]),
    (BOX.format(p=[[0, 0, 2]], t=[0, 0, 1, 1]), "predicted", "predicted", ["4 numbers", "1 × 3"]),
    (BOX.format(p=[0, 0, 1, 1], t="[0, 0, a, 1]"), "truth", "truth[2]", ["'a'"]),
    (BOX.format(p=[0, 0, 1, 1], t="[0, 0, 1]"), "truth", "truth", ["one box, 4 numbers", "length-3"]),
    (BOX.format(p=[0, 0, 0, 1], t=[[1, 1, 3, 3], [2, 2, 2, 5]]), "predicted", "predicted",
     ["true box 2", "zero area", "0/0"]),
    ("kind: iou\nformat: corner\npredicted: [0, 0, 1, 1]\ntruth: [0, 0, 1, 1]\n", "format", "format",
     ["did you mean 'corners'"]),
    ("kind: iou\npredicted: [0, 0, 1, 1]\n", "predicted", "", ["missing key 'truth'"]),
    ("kind: iou\npredicted_mask: [[0, 2]]\ntruth_mask: [[0, 1]]\n", "predicted_mask", "predicted_mask[0][1]",
     ["0/1 mask", "column 2 is 2"]),
    ("kind: iou\npredicted_mask: [[0, 1]]\ntruth_mask: [[0, 1], [1, 1]]\n", "truth_mask", "truth_mask",
     ["1 × 2", "2 × 2"]),
    ("kind: iou\npredicted_mask: [[0, 0]]\ntruth_mask: [[0, 0]]\n", "truth_mask", "truth_mask",
     ["both masks are empty", "0/0"]),
    ("kind: iou\npredicted: [0, 0, 1, 1]\ntruth: [0, 0, 1, 1]\npredicted_mask: [[1]]\ntruth_mask: [[1]]\n",
     "predicted", "predicted", ["either boxes", "not both"]),
    ("kind: iou\nformat: center\npredicted_mask: [[1]]\ntruth_mask: [[1]]\n", "format", "format",
     ["masks are given pixel by pixel"]),
    ("kind: iou\npredicted_mask: [[1]]\n", "predicted_mask", "", ["missing key 'truth_mask'"]),
])
def test_iou_bad_input(run_cli, write, text, key, where, words):
    path, msg = run_bad(run_cli, write, text)
    if where:
        assert f"{path}:{line_of(text, key + ':')}:" in msg and f" {where}: " in msg, msg
    for w in words:
        assert w in msg, (w, msg)


# -- every problem file: key results, check and the CLI commands ---------------------------------------

@pytest.mark.parametrize("kind", ["batchnorm", "param_count", "iou"])
def test_new_schema_and_template(run_cli, kind):
    code, out, _ = run_cli("new", kind)
    assert code == 0 and f"kind: {kind}" in out
    assert solve_text(out).results
    code, out, _ = run_cli("schema", kind)
    assert code == 0 and json.loads(out)["properties"]["kind"]["const"] == kind


def test_check_follows_through_batchnorm(run_cli, write):
    ans = write("answers:\n  mean[1]: 3\n  variance[1]: 2.3\n  x_hat[1][1]: -1.319\n  y[1][1]: -2.538\n",
                "a.yaml")
    code, out, _ = run_cli("check", str(PROBLEMS / "batchnorm_seed.yaml"), ans, "--format", "json")
    items = {i["path"]: i for i in json.loads(out)["items"]}
    assert code == 1
    assert items["mean[1]"]["status"] == "correct"
    assert items["variance[1]"]["status"] == "wrong"
    # x̂ = (1 − 3)/√2.3 = −1.3188 and y = 2 x̂ + 0.1 = −2.5375: right from their own σ²
    assert items["x_hat[1][1]"]["status"] == "follow_through"
    assert items["y[1][1]"]["status"] == "follow_through"


def test_check_iou_marks_a_wrong_union(run_cli, write):
    ans = write("answers:\n  intersection[1][1]: 1\n  union[1][1]: 8\n  iou[1][1]: 0.125\n", "a.yaml")
    code, out, _ = run_cli("check", str(PROBLEMS / "iou_boxes.yaml"), ans, "--format", "json")
    status = {i["path"]: i["status"] for i in json.loads(out)["items"]}
    assert code == 1 and status == {"intersection[1][1]": "correct", "union[1][1]": "wrong",
                                    "iou[1][1]": "follow_through"}
