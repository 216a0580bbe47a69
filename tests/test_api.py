"""The Python API: nnsolve.solve / check / derive / kinds, InputError, Working's own display,
the README's examples, and the tour notebook executed with a real kernel."""
import json
import math
import re

import numpy as np
import pytest

import nnsolve
from conftest import ROOT

MLP_YAML = (ROOT / "problems" / "mlp_published_222.yaml").read_text(encoding="utf-8")
MLP_DICT = {
    "kind": "mlp",
    "input": np.array([0.05, 0.10]),
    "target": [0.01, 0.99],
    "layers": [
        {"weights": np.array([[0.15, 0.20], [0.25, 0.30]]), "bias": np.array([0.35, 0.35]), "activation": "sigmoid"},
        {"weights": [[0.40, 0.45], [0.50, 0.55]], "bias": [np.float64(0.60), 0.60], "activation": "sigmoid"},
    ],
    "loss": "half_sse",
    "learning_rate": 0.5,
    "update_bias": False,
}


def test_solve_a_dict_equals_solve_of_the_same_yaml():
    a = nnsolve.solve(MLP_DICT)
    b = nnsolve.solve(str(ROOT / "problems" / "mlp_published_222.yaml"))
    c = nnsolve.solve(MLP_YAML)  # YAML text
    assert a.results == b.results == c.results
    # Mazur's published worked example: E_total = 0.298371109
    assert a.results["loss"] == pytest.approx(0.298371109, abs=1e-9)


def test_input_error_carries_the_location(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("kind: mlp\ninput: [0.05, abc]\ntarget: [1]\nlayers: [{weights: [[1, 2]]}]\n")
    with pytest.raises(nnsolve.InputError) as e:
        nnsolve.solve(p)
    err = e.value
    assert (err.file, err.line, err.column, err.path) == (str(p), 2, 15, ("input", 1))
    with pytest.raises(nnsolve.InputError) as e:
        nnsolve.solve({"kind": "mlp", "input": [1], "target": [1], "layers": [{"weights": [[1]], "activaton": "tanh"}]})
    assert e.value.path == ("layers", 0, "activaton") and "did you mean 'activation'" in str(e.value)


def test_working_shows_itself():
    w = nnsolve.solve(str(ROOT / "problems" / "lstm_seed.yaml"))
    md = w._repr_markdown_()
    assert md == w.to_markdown() and "f_{1}" in md and "0.5363" in md
    data = w.to_dict()
    assert data["results"] == json.loads(w.to_json())["results"] and data["kind"] == "lstm"
    from rich.console import Console
    console = Console(record=True, width=100)
    console.print(w)
    text = console.export_text()
    assert "Time step t = 1" in text and "0.5363" in text
    assert "lstm" in repr(w)


def test_check_api_and_its_display():
    r = nnsolve.check(str(ROOT / "problems" / "lstm_seed.yaml"),
                      {"i[1]": 1.0, "c[1]": 0.818, "tolerance": {"decimals": 3}})
    # i1 = σ(0.95 + 1.6 + 0.65) = σ(3.2) by hand; with 8 for 0.8, σ(17.6) ≈ 1.000
    assert r.items[0].status == "wrong" and r.items[0].diagnosis == "misread"
    assert r.items[0].expected == pytest.approx(1 / (1 + math.exp(-3.2)), abs=1e-12)
    assert r.items[1].status == "follow_through" and r.first_wrong == "i[1]"
    assert "i[1]" in r._repr_markdown_()
    from rich.console import Console
    console = Console(record=True, width=100)
    console.print(r)
    assert "✗" in console.export_text()


def test_derive_api():
    d = nnsolve.derive("sigmoid")
    assert d.results["identity"] == "sigmoid(x)*(1 - sigmoid(x))" or "sigma" in d.results["identity"]
    assert "σ" in d.to_markdown() or "sigma" in d.to_markdown()
    g = nnsolve.derive("x**3", at={"x": 2})
    assert g.results["derivative"].replace(" ", "") == "3*x**2"
    with pytest.raises(nnsolve.InputError):
        nnsolve.derive("__import__('os')")


def test_kinds_api():
    k = nnsolve.kinds()
    assert {"perceptron", "mlp", "lstm", "gru", "rnn", "bptt"} <= set(k)
    assert all(isinstance(v, str) and v for v in k.values())
    assert nnsolve.kinds.available()  # still the registry


def test_importing_nnsolve_is_light():
    import subprocess
    import sys
    code = "import sys, nnsolve; print('numpy' in sys.modules, 'sympy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_readme_python_examples_run(monkeypatch):
    """Every ```python block of the README runs (from the project's root)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "the README shows the Python API"
    monkeypatch.chdir(ROOT)
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})


def test_tour_notebook_executes():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(ROOT / "examples" / "tour.ipynb", as_version=4)
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(ROOT / "examples")}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    shown = json.dumps([o.get("data", {}) for o in outputs])
    assert "Forget gate" in shown and "0.5363" in shown  # the LSTM's working, rendered
    assert "misread" in shown or "8 where the problem gives 0.8" in shown  # the notes marked
