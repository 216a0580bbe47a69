"""The command line: help with examples, kinds, new, python -m, lazy imports."""
import json
import subprocess
import sys

import pytest

from conftest import ROOT
from nnsolve import kinds as registry
from nnsolve.core import solve_text


def test_help_has_examples(run_cli):
    code, out, _ = run_cli("--help")
    assert code == 0 and "Examples:" in out and "nnsolve run" in out
    for cmd in ["run", "kinds", "new"] + [c for c in ("derive", "export") if c in out]:
        code, out2, _ = run_cli(cmd, "--help")
        assert code == 0 and "Example" in out2, cmd


def test_kinds_lists_one_line_each(run_cli):
    code, out, _ = run_cli("kinds")
    lines = out.strip().splitlines()
    assert code == 0
    assert [l.split()[0] for l in lines] == registry.available()
    assert {"perceptron", "mlp"} <= set(registry.available())


@pytest.mark.parametrize("kind", registry.available())
def test_new_template_solves(run_cli, kind):
    code, out, _ = run_cli("new", kind)
    assert code == 0 and f"kind: {kind}" in out and "#" in out
    w = solve_text(out, f"new-{kind}.yaml")
    assert w.kind == kind and w.results


def test_new_unknown_kind(run_cli):
    code, _, err = run_cli("new", "lsmt")
    assert code == 2 and "did you mean 'lstm'" in err.lower() or "unknown kind" in err


def test_precision_override(run_cli):
    code, out, _ = run_cli("run", "problems/mlp_published_222.yaml", "--precision", "6", "-f", "json")
    data = json.loads(out)
    steps = [b for s in data["sections"] for b in s["blocks"] if b["type"] == "step"]
    assert any("0.593270" in json.dumps(b, ensure_ascii=False) for b in steps)
    code, out, _ = run_cli("run", "problems/mlp_published_222.yaml", "--precision", "2")
    assert code == 0 and "0.59" in out and "0.5933" not in out


def test_json_contract_shape(run_cli):
    code, out, _ = run_cli("run", "problems/perceptron_seed.yaml", "--format", "json")
    data = json.loads(out)
    assert data["kind"] == "perceptron" and data["sections"]
    step = next(b for s in data["sections"] for b in s["blocks"] if b["type"] == "step")
    assert {"symbolic", "substituted", "value"} <= set(step)


def test_python_dash_m():
    p = subprocess.run([sys.executable, "-m", "nnsolve", "kinds"], capture_output=True, text=True)
    assert p.returncode == 0 and "perceptron" in p.stdout


def test_run_never_imports_sympy(tmp_path):
    code = ("import sys\nfrom click.testing import CliRunner\nfrom nnsolve.cli import cli\n"
            "for f in sys.argv[1:]:\n"
            "    for fmt in ('terminal', 'json', 'markdown'):\n"
            "        r = CliRunner().invoke(cli, ['run', f, '--format', fmt])\n"
            "        assert r.exit_code == 0, (f, fmt, r.output)\n"
            "print('sympy' in sys.modules)\n")
    import glob
    # kind: optimizer with a function derives its gradient with SymPy (building-blocks.md); only those
    # files may import it (tests/test_optimizer_init.py checks that they are the only ones)
    files = [f for f in sorted(glob.glob("problems/*.yaml"))
             if not ("kind: optimizer" in (text := open(f, encoding="utf-8").read()) and "\nfunction:" in text)]
    p = subprocess.run([sys.executable, "-c", code, *files], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.strip() == "False"


def test_internal_errors_have_no_traceback(run_cli, write, monkeypatch):
    import nnsolve.kinds.perceptron as perc
    monkeypatch.setattr(perc, "solve", lambda p, w: 1 / 0)
    code, out, err = run_cli("run", "problems/perceptron_seed.yaml")
    assert code == 1 and "internal error" in err and "Traceback" not in err


def test_remarks_attach_to_their_step_or_close_the_working(run_cli, write):
    text = open("problems/mlp_published_222.yaml").read() + (
        "remarks:\n  - at: y^(1)\n    text: The notes round this to 0.59.\n  - A closing word.\n")
    code, out, _ = run_cli("run", write(text), "--format", "json")
    data = __import__("json").loads(out)
    steps = [b for s in data["sections"] for b in s["blocks"] if b["type"] == "step"]
    assert [b["note"] for b in steps if b.get("note")] == ["The notes round this to 0.59."]
    assert data["sections"][-1]["title"] == "Remarks"


def test_remark_at_an_unknown_step(run_cli, write):
    text = open("problems/mlp_published_222.yaml").read() + "remarks:\n  - {at: q_7, text: hm}\n"
    code, _, err = run_cli("run", write(text))
    assert code == 2 and "remarks[0].at" in err and "no step named 'q_7'" in err and "y^(1)" in err


def test_run_collects_rarely_only_as_a_process_of_its_own(tmp_path):
    """`nnsolve run` as its own process raises the collector's threshold; called in-process (a
    library caller, the tests) it leaves Python's settings alone."""
    import gc

    from click.testing import CliRunner
    from nnsolve.cli import cli
    before = gc.get_threshold()
    assert CliRunner().invoke(cli, ["run", str(ROOT / "problems" / "lstm_seed.yaml"), "--format", "json"]).exit_code == 0
    assert gc.get_threshold() == before
    code = ("import gc, sys\nfrom nnsolve import cli\nsys.argv = ['nnsolve', 'run', 'problems/lstm_seed.yaml', "
            "'--format', 'json']\nimport atexit\natexit.register(lambda: sys.stderr.write(str(gc.get_threshold())))\n"
            "cli.main()\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(ROOT))
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["kind"] == "lstm"
    assert p.stderr.strip().startswith("(100000,")
