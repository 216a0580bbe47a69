"""Pictures (nnsolve run --plots): made for their problem files, well-formed SVG, carrying
the numbers they show; and nothing of matplotlib on the ordinary run path."""
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from conftest import ROOT

pytest.importorskip("matplotlib")


def svg_texts(path):
    root = ET.parse(path).getroot()  # well-formed XML, or this raises
    assert root.tag.endswith("svg")
    return " ".join(t for el in root.iter() if el.tag.endswith("text") for t in el.itertext())


def run_plots(run_cli, tmp_path, name):
    out = tmp_path / name
    code, _, err = run_cli("run", str(ROOT / "problems" / f"{name}.yaml"), "--plots", str(out), "-f", "json")
    assert code == 0, err
    return out


def test_mlp_network_carries_its_weights_and_outputs(run_cli, tmp_path):
    text = svg_texts(run_plots(run_cli, tmp_path, "mlp_published_222") / "network.svg")
    # Mazur's network: every weight on its edge, and the outputs of the forward pass
    # (out_h1 = 0.593269992, out_o1 = 0.75136507) in the nodes
    for w in ("0.15", "0.2", "0.25", "0.3", "0.4", "0.45", "0.5", "0.55", "0.5933", "0.7514", "0.7729"):
        assert w in text.split(), w


def test_perceptron_decision_line_after_each_epoch(run_cli, tmp_path):
    text = svg_texts(run_plots(run_cli, tmp_path, "perceptron_and") / "decision_lines.svg")
    # AND from w = 0 (worked by hand in test_perceptron.py): converged after 6 epochs, w = [2, 1], b = −3
    assert "epoch 6: 2 x₁ + 1 x₂ − 3 = 0" in text and "converged after 6 epochs" in text
    text = svg_texts(run_plots(run_cli, tmp_path, "perceptron_xor") / "decision_lines.svg")
    assert "not converged" in text


def test_bptt_jacobian_norms_on_a_log_scale(run_cli, tmp_path):
    import json
    code, out, _ = run_cli("run", str(ROOT / "problems" / "bptt_sentiment.yaml"), "-f", "json")
    norms = json.loads(out)["results"]["jacobian_norms"]
    text = svg_texts(run_plots(run_cli, tmp_path, "bptt_sentiment") / "jacobian_norms.svg")
    for v in norms:
        assert f"{v:.3g}" in text


def test_a_problem_without_pictures_says_so(run_cli, tmp_path):
    code, _, err = run_cli("run", str(ROOT / "problems" / "lstm_seed.yaml"), "--plots", str(tmp_path / "p"),
                           "-f", "json")
    assert code == 0 and "no pictures for this problem" in err


def test_the_same_picture_every_time(run_cli, tmp_path):
    a = (run_plots(run_cli, tmp_path / "a", "mlp_seed") / "network.svg").read_bytes()
    b = (run_plots(run_cli, tmp_path / "b", "mlp_seed") / "network.svg").read_bytes()
    assert a == b


def test_no_matplotlib_without_plots(tmp_path):
    code = ("import sys; from nnsolve.cli import cli; "
            "cli(['run', sys.argv[1], '--format', 'json'], standalone_mode=False); "
            "print('matplotlib' in sys.modules, file=sys.stderr)")
    p = subprocess.run([sys.executable, "-c", code, str(ROOT / "problems" / "mlp_seed.yaml")],
                       capture_output=True, text=True)
    assert p.stderr.strip().splitlines()[-1] == "False"


def test_without_matplotlib_plots_says_how_to_get_it(tmp_path):
    code = ("import sys; sys.modules['matplotlib'] = None; from nnsolve.cli import main; "
            "sys.argv = ['nnsolve', 'run', sys.argv[1], '--plots', sys.argv[2]]; main()")
    p = subprocess.run([sys.executable, "-c", code, str(ROOT / "problems" / "mlp_seed.yaml"), str(tmp_path / "p")],
                       capture_output=True, text=True)
    assert p.returncode == 2 and "pip install 'nnsolve[plots]'" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and not (tmp_path / "p").exists()


def test_optimizer_path_over_the_contours(run_cli, tmp_path):
    text = svg_texts(run_plots(run_cli, tmp_path, "optimizer_momentum") / "trajectory.svg")
    # the notes' momentum on f = (w1 − 3)² + 10 (w2 + 1)², η = 0.05, α = 0.9, by hand:
    # Δw(1) = η g(0) = 0.05 · [−6, 20] → w(1) = [0.3, −1]; g(1) = [−5.4, 0],
    # Δw(2) = 0.9 · [−0.3, 1] + 0.05 · [−5.4, 0] = [−0.54, 0.9] → w(2) = [0.84, −1.9]
    assert "t = 1: (0.3, −1)" in text and "t = 2: (0.84, −1.9)" in text


def test_delta_rule_loss_per_epoch(run_cli, tmp_path):
    import json
    code, out, _ = run_cli("run", str(ROOT / "problems" / "delta_rule_widrow_hoff_published.yaml"), "-f", "json")
    errors = json.loads(out)["results"]["epoch_error"]
    if len(errors) < 2:
        pytest.skip("one epoch only")
    text = svg_texts(run_plots(run_cli, tmp_path, "delta_rule_widrow_hoff_published") / "loss_per_epoch.svg")
    for v in errors:
        assert f"{v:.4g}".replace("-", "−") in text


def test_computation_graph(run_cli, tmp_path):
    text = svg_texts(run_plots(run_cli, tmp_path, "graph_seed_relu") / "graph.svg")
    # seed 003: a = relu(w·x + b) at x = 3, w = 2, b = 1: u = 6, v = 7, a = 7; ∂a/∂w = x = 3, ∂a/∂b = 1
    for piece in ("u = w * x", "= 6", "= 7", "∂u/∂w = 3", "∂a/∂w = 3", "∂a/∂b = 1"):
        assert piece in text, piece
