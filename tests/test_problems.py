"""Every file in problems/ solves, keeps the contract and renders in every format."""
import json

import pytest

from conftest import PROBLEMS
from nnsolve.core import solve_file
from nnsolve.numfmt import to_json
from nnsolve.render import json as render_json
from nnsolve.render import terminal

REQUIRED = {
    "perceptron": ["weights", "bias", "epochs", "converged", "updates", "history"],
    "mlp": ["output", "loss", "local_gradients", "grad_weights", "grad_bias", "weights", "bias", "loss_after"],
    "mlp_training": ["history", "epoch_loss", "final_weights", "final_bias"],  # mlp with samples
    "lstm": ["f", "i", "g", "o", "c", "h"],
    "gru": ["z", "r", "h_tilde", "h"],
    "bptt": ["h", "y_hat", "loss", "grad_U", "grad_W", "grad_b", "grad_V", "grad_c", "dL_dh", "grad_W_by_step"],
    "rnn": ["h", "y_hat"],
    "rnn_upstream": ["h", "grad_x"],  # rnn/bptt with upstream (recurrent.md): no output layer, no loss
    "gated_stack": ["layers", "h"],  # lstm/gru with layers (recurrent.md): per-layer results under layers
    # classical.md: the single-neuron kinds
    "neuron": ["v", "y"],
    "activation": ["values", "derivatives"],
    "delta_rule": ["weights", "bias", "history", "epoch_error"],
    "hebbian": ["weights", "history", "outputs"],
    "competitive": ["weights", "history", "clusters"],
    "nearest_neighbour": ["distances", "neighbours", "prediction"],
    "graph": ["value", "gradients", "nodes"],
    # building-blocks.md
    "softmax": ["probabilities", "loss", "grad_logits", "prediction"],
    "optimizer": ["trajectory", "gradients"],
    "batchnorm": ["mean", "variance", "x_hat", "y"],
    "init": ["scale", "variance", "weights"],
    "attention": ["scores", "weights", "context"],
    "param_count": ["per_layer", "total"],
    "iou": ["intersection", "union", "iou"],
}


@pytest.mark.parametrize("path", PROBLEMS, ids=[p.name for p in PROBLEMS])
def test_problem_file(path):
    text = path.read_text(encoding="utf-8")
    assert text.lstrip().startswith("#"), "each problem file opens with a comment saying where it is from"
    w = solve_file(str(path))
    for name in REQUIRED["mlp_training" if w.kind == "mlp" and "epoch_loss" in w.results else
                         "rnn_upstream" if w.kind in ("rnn", "bptt") and "grad_x" in w.results and "loss" not in w.results
                         else "gated_stack" if w.kind in ("lstm", "gru") and "layers" in w.results
                         else w.kind]:
        assert name in w.results, name
    data = json.loads(render_json.render(w))
    assert data["kind"] == w.kind and data["sections"]
    assert data["results"] == json.loads(json.dumps(to_json(w.results)))
    from rich.console import Console
    console = Console(file=open("/dev/null", "w"), width=120)
    terminal.render(w, console=console)
    terminal.render(w, console=console, full=True)
