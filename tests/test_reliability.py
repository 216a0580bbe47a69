"""Issue 17, item by item: no internal errors, no hangs, every message located on one line,
bounded work, exact extreme losses, no silent overwrite.

Expected numbers are worked by hand in the comments (the losses of saturated outputs, the
derivative of a flat sum), never taken from nnsolve's own output.
"""
from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from click.testing import CliRunner

from nnsolve import work
from nnsolve.cli import cli
from nnsolve.core import Problem, solve_text
from nnsolve.loader import load_text

from conftest import ROOT

MLP = """kind: mlp
input: [0.05, 0.10]
target: [0.01, 0.99]
layers:
  - weights: [[0.15, 0.20], [0.25, 0.30]]
    bias: [0.35, 0.35]
  - weights: [[0.40, 0.45], [0.50, 0.55]]
learning_rate: 0.5
"""
LOCATED = re.compile(r"^error: (?P<file>.+?):(?P<line>\d+):(?P<col>\d+): ")


def run(*args, input=None):
    result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def bad(path, *args, line=None, col=None, fmt="json"):
    """Run a bad problem: exit 2, exactly one line, located at file:line:column. The message."""
    code, out, err = run("run", path, "--format", fmt, *args)
    assert code == 2, (code, out[:300], err)
    lines = err.splitlines()
    assert len(lines) == 1, err
    m = LOCATED.match(lines[0])
    assert m and m.group("file") == path, lines[0]
    if line is not None:
        assert int(m.group("line")) == line, lines[0]
    if col is not None:
        assert int(m.group("col")) == col, lines[0]
    assert "internal error" not in err and "Traceback" not in err
    return lines[0]


def cli_process(*args, **kw):
    return subprocess.run([sys.executable, "-m", "nnsolve", *args], capture_output=True, cwd=ROOT, **kw)


# -- internal errors: an integer beyond float64, standard tags with the wrong content ------------

BIG = "1" + "0" * 400


@pytest.mark.parametrize("text, where", [
    (MLP.replace("[[0.15, 0.20]", f"[[{BIG}, 0.20]"), "layers[0].weights[0][0]"),
    (MLP.replace("learning_rate: 0.5", f"learning_rate: {BIG}"), "learning_rate"),
    ("kind: perceptron\nweights: [1, 2]\nsamples:\n  - {x: [1, 2], d: " + BIG + "}\n", "samples[0].d"),
    ("kind: lstm\ninputs: [[1]]\nweights: {W_f: 1, W_i: 1, W_c: 1, W_o: 1, U_f: 1, U_i: 1, U_c: 1, U_o: 1}\n"
     f"initial: {{h: [{BIG}]}}\n", "initial.h[0]"),
    ("kind: rnn\ninputs: [[1], [" + BIG + "]]\nweights: {U: [[1]], W: [[1]], V: [[1], [1]]}\n", "inputs[1][0]"),
    ("kind: rnn\ninputs: [[1]]\nweights: {U: [[1]], W: [[1]], V: [[1], [1]]}\noutput_activation: softmax\n"
     f"target: {BIG}\n", "target"),
])
def test_a_whole_number_beyond_float64_is_an_input_error(write, text, where):
    msg = bad(write(text))
    assert where in msg and "float64" in msg and "401 digits" in msg


@pytest.mark.parametrize("value, word", [("[!!float x]", "!!float"), ("[!!int 1.5]", "!!int"),
                                         ("[!!bool maybe]", "!!bool"), ("!!float 1e5x", "!!float")])
def test_standard_tags_with_the_wrong_content(write, value, word):
    msg = bad(write(MLP.replace("input: [0.05, 0.10]", f"input: {value}")), line=2)
    assert word in msg


def test_a_full_disk_is_reported_as_such():
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    with open("/dev/full", "w") as full:
        p = subprocess.run([sys.executable, "-m", "nnsolve", "run", "problems/bptt_many_to_many.yaml"],
                           stdout=full, stderr=subprocess.PIPE, cwd=ROOT, text=True)
    assert p.returncode == 1
    assert p.stderr.splitlines() == ["error: cannot write the output: No space left on device"]


# -- hangs and unbounded work ----------------------------------------------------------------

def test_a_named_pipe_is_refused_at_once(tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    t0 = time.monotonic()
    p = cli_process("run", str(fifo), timeout=20, text=True)
    assert time.monotonic() - t0 < 10
    assert p.returncode == 2 and "named pipe" in p.stderr and len(p.stderr.splitlines()) == 1
    # a batch export goes on with the other files
    out = tmp_path / "out"
    p = cli_process("export", str(fifo), "problems/mlp_seed.yaml", "-o", f"{out}/", timeout=30, text=True)
    assert p.returncode == 2 and (out / "mlp_seed.md").exists()


def _perceptron(samples, inputs, epochs, rng=np.random.default_rng(0)):
    rows = [f"  - {{x: {rng.choice([-1, 1], inputs).tolist()}, d: {int(rng.integers(0, 2))}}}"
            for _ in range(samples)]
    return (f"kind: perceptron\nweights: {[0] * inputs}\nmax_epochs: {epochs}\nsamples:\n"
            + "\n".join(rows) + "\n")


def _refused_quickly(path, *args):
    t0 = time.monotonic()
    msg = bad(path, *args)
    assert time.monotonic() - t0 < 5, "the refusal must come at once"
    assert "too large" in msg and "numbers to compute and write" in msg and "use fewer" in msg, msg
    return msg


def test_huge_perceptron_is_refused_with_the_estimate(write):
    """2,000 samples × 100 inputs × 100 epochs: 200,000 presentations, each of 100 weights."""
    path = write(_perceptron(2000, 100, 100))
    for fmt in ("json", "markdown", "terminal"):
        msg = _refused_quickly(path, "--format", fmt) if fmt != "json" else _refused_quickly(path)
        assert "200,000 presentations (2,000 samples × 100 epochs) of 100 inputs" in msg
        assert ":3:1: max_epochs:" in msg  # where the size comes from


def test_xor_for_50000_epochs_is_refused_and_says_what_would_fit(write):
    path = write(_perceptron(4, 2, 50000).replace("weights: [0, 0]", "weights: [0, 0]"))
    msg = _refused_quickly(path, "--full")
    assert "with --full" in msg and "4 samples × 50,000 epochs" in msg
    code, _, err = run("run", write(_perceptron(4, 2, 500), "small.yaml"), "--full", "--format", "markdown")
    assert code == 0, err


def test_an_mlp_of_300000_layers_is_refused_at_once(write):
    path = write("kind: mlp\ninput: [0.5]\ntarget: [0.5]\nlayers:\n" + "- weights: 1\n" * 300_000)
    t0 = time.monotonic()
    msg = bad(path)
    assert time.monotonic() - t0 < 5 and "too large to be a problem" in msg


def test_an_mlp_of_2000_layers_is_refused_by_the_estimate(write):
    path = write("kind: mlp\ninput: [0.5]\ntarget: [0.5]\nlayers:\n" + "- weights: 1\n" * 20_000)
    msg = _refused_quickly(path)
    assert "of 20,000 layers" in msg and "use fewer or smaller layers" in msg


def test_bptt_with_1000_hidden_units_is_refused_with_the_estimate(write):
    m, T = 1000, 20
    row = "[" + ",".join([".01"] * m) + "]"
    text = ("kind: bptt\ninputs: " + str([[0.5]] * T) + "\nweights:\n  U: " + str([[0.1]] * m)
            + "\n  W: [" + ", ".join([row] * m) + "]\n  V: [" + row + "]\ntarget: 1\n")
    msg = _refused_quickly(write(text))
    assert "T = 20 time steps" in msg and "m = 1,000 hidden units" in msg and ":2:1: inputs:" in msg


def test_a_wide_mlp_layer_is_worked_without_a_table_of_every_weight(write):
    """100 × 100 weights: within the budget; the working notes where the table went."""
    rng = np.random.default_rng(1)
    text = (f"kind: mlp\ninput: {rng.uniform(-1, 1, 100).round(2).tolist()}\ntarget: {[0.5] * 100}\n"
            f"layers:\n  - weights: {rng.uniform(-0.1, 0.1, (100, 100)).round(3).tolist()}\n")
    code, out, err = run("run", write(text), "--format", "markdown")
    assert code == 0, err
    assert "10,000 weights" in out and "(100×100 values)" in out


def test_the_estimate_follows_what_each_format_writes():
    """Markdown writes every table row, JSON every result, --full every worked section."""
    w = work.Work("x", ("k",), "y", tables=[(1000, 2)], detail=(12, 50), results=7)  # > 10: head only
    md, term, js = work.cost(w, "markdown"), work.cost(w, "terminal"), work.cost(w, "json")
    assert md == int(work.SHOWN["markdown"] * work.HEAD_SECTIONS * (50 + work.STEP)
                     + 1000 * (2 * work.CELL["markdown"] + 1) + 7 * work.RESULT)
    assert term == int(work.SHOWN["terminal"] * work.HEAD_SECTIONS * (50 + work.STEP)
                       + work.HEAD_ROWS * (2 * work.CELL["terminal"] + 1) + 7 * work.RESULT)
    assert js == int(work.SHOWN["json"] * 12 * (50 + work.STEP) + work.HEAD_ROWS * (2 * work.CELL["json"] + 1)
                     + 7 * (work.RESULT + work.JSON_RESULT))
    assert work.cost(w, "terminal", full=True) > term


def test_the_estimate_mirrors_the_renderers():
    from nnsolve.render import common
    from nnsolve.render import json as rjson
    assert work.CELL_NUMBERS == common.CELL_NUMBERS
    assert work.SHOWN_ROWS["terminal"] == common.TABLE_HEAD + common.TABLE_TAIL + 1
    assert work.HEAD_ROWS == common.TABLE_HEAD + common.TABLE_TAIL
    assert work.SHOWN_SECTIONS["json"] == rjson.JSON_MOST
    from nnsolve.render.layout import LAYOUT
    assert (LAYOUT.detail_head, LAYOUT.detail_most) == (work.HEAD_SECTIONS, work.SHOWN_SECTIONS["terminal"])
    assert work.SHOWN_SECTIONS["markdown"] == LAYOUT.detail_most


def test_every_problem_file_is_well_within_the_budget():
    from conftest import PROBLEMS
    from nnsolve.loader import load_file
    for path in PROBLEMS:
        p = Problem(load_file(str(path)))
        w = p.work()
        if w is not None:
            for fmt in ("json", "markdown", "terminal"):
                assert work.cost(w, fmt, True) < work.BUDGET / 2, (path.name, fmt)


# -- wrong or missing numbers ------------------------------------------------------------------

@pytest.mark.parametrize("width", [80, 60, 40])
def test_terminal_tables_wrap_numbers_and_never_cut_digits(width):
    from rich.console import Console

    from nnsolve.core import solve_file
    from nnsolve.render.terminal import render
    console = Console(width=width, record=True, file=open(os.devnull, "w"), color_system=None)
    render(solve_file(str(ROOT / "problems" / "bptt_many_to_many.yaml")), console)
    text = console.export_text()
    rows = [ln for ln in text.splitlines() if "│" in ln]
    assert rows and not [ln for ln in rows if "…" in ln]


# Losses of saturated outputs, by hand: softmax logits (1000, −1000), target (0, 1):
# −ln softmax_2 = −(−1000 − ln(e^1000 + e^−1000)) = 2000 (to float64). After one step with
# η = 1, zero biases, x = 1: δ = d − y = (−1, 1), so W = (999, −999), b = (−1, 1), logits
# (998, −998), loss 1996. A sigmoid output with v = 1000 and target 0 under BCE: −ln(1 − σ(1000))
# = ln(1 + e^1000) = 1000; then W = 999, b = −1, v = 998: 998.

def test_cross_entropy_of_saturated_softmax_is_exact():
    w = solve_text("kind: mlp\ninput: [1]\ntarget: [0, 1]\nlayers: [{weights: [[1000], [-1000]], "
                   "activation: softmax}]\nloss: cross_entropy\n")
    assert w.results["loss"] == 2000.0 and w.results["loss_after"] == 1996.0


def test_bce_of_saturated_sigmoid_is_exact():
    w = solve_text("kind: mlp\ninput: [1]\ntarget: [0]\nlayers: [{weights: [[1000]]}]\nloss: bce\n")
    assert w.results["loss"] == 1000.0 and w.results["loss_after"] == 998.0
    code, out, _ = run("run", "-", "--format", "markdown", input="kind: mlp\ninput: [1]\ntarget: [0]\n"
                       "layers: [{weights: [[1000]]}]\nloss: bce\n")
    assert code == 0 and "learning rate is too large" not in out


def test_rnn_losses_of_saturated_outputs_are_exact():
    base = "kind: rnn\ninputs: [[1]]\nhidden_activation: linear\n"
    w = solve_text(base + "weights: {U: [[1]], W: [[0]], V: [[1000], [-1000]]}\ntarget: 1\n")
    assert w.results["loss"] == 2000.0  # softmax + cross-entropy, class 1
    w = solve_text(base + "weights: {U: [[1]], W: [[0]], V: [[1000]]}\ntarget: 0\nloss: bce\n")
    assert w.results["loss"] == 1000.0


def test_log_domain_losses_agree_with_the_plain_formula_where_it_is_exact():
    z, d = [0.3, -1.2, 2.0], [0.2, 0.3, 0.5]
    lse = math.log(sum(math.exp(v) for v in z))
    want = -sum(dj * (zj - lse) for dj, zj in zip(d, z))
    w = solve_text(f"kind: mlp\ninput: [1]\ntarget: {d}\nlayers: [{{weights: {[[v] for v in z]}, "
                   "activation: softmax}]\nloss: cross_entropy\n")
    assert w.results["loss"] == pytest.approx(want, rel=1e-14)


def test_bce_with_a_linear_output_is_refused(write):
    text = "kind: mlp\ninput: [1]\ntarget: [0]\nlayers: [{weights: [[1]], activation: linear}]\nloss: bce\n"
    msg = bad(write(text), line=5, col=1)
    assert "loss: the bce loss" in msg and "sigmoid or softmax" in msg


@pytest.mark.parametrize("text, quantity, largest", [
    ("kind: bptt\ninputs: [[1], [1], [1]]\nweights: {U: [[1]], W: [[1e200]], V: [[1]]}\ntarget: 1\n"
     "hidden_activation: linear\n", "a₃", "weights.W[0][0] = 1e+200"),  # h_2 = 1e200, a_3 = 1e400
    ("kind: perceptron\nweights: [1e308, 1e307]\nsamples: [{x: [2, 1], d: 0}]\n", "history[1].v",
     "weights[0] = 1e+308"),  # v = 2e308 + 1e307: beyond float64
])
def test_overflow_is_an_input_error_naming_the_quantity(write, text, quantity, largest):
    msg = bad(write(text))
    assert quantity in msg and "overflows float64" in msg and largest in msg


def test_overflow_leaks_no_warning():
    p = cli_process("run", "-", "--format", "terminal",
                    input=b"kind: bptt\ninputs: [[1], [1], [1]]\nweights: {U: [[1]], W: [[1e200]], V: [[1]]}\n"
                          b"target: 1\nhidden_activation: linear\n")
    assert p.returncode == 2 and b"RuntimeWarning" not in p.stderr and len(p.stderr.splitlines()) == 1


# -- messages ------------------------------------------------------------------------------------

def test_a_missing_top_level_key_is_located(write):
    bad(write("\n\nkind: mlp\ninput: [1]\nlayers: [{weights: [[1]]}]\n"), line=3, col=1)


def test_a_misspelt_required_key_is_pointed_at(write):
    msg = bad(write(MLP.replace("target:", "targte:")), line=3, col=1)
    assert "missing key 'target'" in msg and "'targte'" in msg


@pytest.mark.parametrize("raw, line, col, words", [
    (b"kind: mlp\ntitle: ab\xffcd\n", 2, 10, "0xFF"),
    (b"kind: mlp\ntitle: \xcf\x83\xcf\x83 \xc3(\n", 2, 11, "UTF-8"),
    (b"kind: mlp\ntitle: x\x07y\n", 2, 9, "U+0007"),
    (b"", 1, 1, "empty"),
    (b"# only a comment\n# and another\n", 1, 1, "empty"),
    (b"kind: mlp\n\x89PNG\r\n\x1a\n\x00\x00", 4, 1, "binary"),
    ("kind: mlp\ninput: [1]\n".encode("utf-16"), 1, 1, "UTF-16 text; save it as UTF-8"),
    ("kind: mlp\ninput: [1]\n".encode("utf-16-le"), 1, 1, "UTF-16"),
    ("kind: mlp\ninput: [1]\n".encode("utf-32"), 1, 1, "UTF-32 text; save it as UTF-8"),
])
def test_bad_bytes_are_located(write, raw, line, col, words):
    msg = bad(write(raw, mode="wb"), line=line, col=col)
    assert words in msg


def test_merge_keys_are_supported(write):
    text = ("kind: mlp\ninput: [0.05, 0.10]\ntarget: [0.01, 0.99]\nbase: &base\n  bias: [0.35, 0.35]\n"
            "  activation: sigmoid\n")
    data = load_text("a: &a {x: 1, y: 2}\nb:\n  <<: *a\n  y: 3\n").data
    assert data["b"] == {"y": 3, "x": 1}  # explicit keys win over merged ones
    merged = MLP.replace("    bias: [0.35, 0.35]\n", "    <<: {bias: [0.35, 0.35]}\n")
    assert solve_text(merged).results == solve_text(MLP).results
    msg = bad(write("kind: mlp\nx:\n  <<: 5\n"), line=3)
    assert "merge key" in msg
    assert text  # (a mapping anchored for merging is ordinary YAML)


def test_a_key_with_an_escape_and_a_newline_stays_on_one_line(write):
    msg = bad(write(MLP + '"lear\\e[31mning\\nrate": 1\n'))
    assert "\\x1b[31m" in msg and "\\n" in msg


def test_python_isms_are_gone(write):
    assert "unknown key '~'" in bad(write(MLP + "~: 1\n"))
    assert "unknown key 'true'" in bad(write(MLP + "true: 1\n", "b.yaml"))
    msg = bad(write(MLP.replace("learning_rate:", "learning_rate\u200b:"), "c.yaml"))
    assert "'learning_rate\\u200b'" in msg and "did you mean 'learning_rate'" in msg


@pytest.mark.parametrize("value, words", [("1:30", "base 60"), ("0x10", "hexadecimal"), ("1_000", "grouped"),
                                          ("0o17", "octal")])
def test_yaml_11_numbers_are_not_silently_misread(write, value, words):
    msg = bad(write(MLP.replace("learning_rate: 0.5", f"learning_rate: {value}")), line=8)
    assert words in msg and "decimal" in msg


def test_quoted_numbers_are_refused_alike(write):
    assert "without quotes" in bad(write(MLP + 'precision: "4"\n'))
    assert "without quotes" in bad(write(MLP.replace("learning_rate: 0.5", 'learning_rate: "0.5"'), "b.yaml"))


def test_kind_names_in_any_case_alike():
    assert run("new", "LSTM")[0] == 0 and "kind: lstm" in run("new", "LSTM")[1]
    assert run("schema", "Mlp")[0] == 0
    assert solve_text(MLP.replace("kind: mlp", "kind: MLP")).kind == "mlp"


def test_unreadable_files_and_paths(tmp_path):
    loop = tmp_path / "loop.yaml"
    os.symlink(loop, loop)
    code, _, err = run("run", str(loop))
    assert code == 2 and "symbolic link loop" in err and len(err.splitlines()) == 1
    if os.geteuid() == 0:
        return  # root reads anything: the permission cases cannot be made here
    locked = tmp_path / "locked.yaml"
    locked.write_text(MLP)
    locked.chmod(0)
    code, _, err = run("run", str(locked))
    assert code == 2 and "permission denied" in err and len(err.splitlines()) == 1
    closed = tmp_path / "closed"
    closed.mkdir()
    (closed / "p.yaml").write_text(MLP)
    closed.chmod(0)
    try:
        code, _, err = run("run", str(closed / "p.yaml"))
        assert code == 2 and "permission denied" in err and len(err.splitlines()) == 1
    finally:
        closed.chmod(0o755)


def test_escape_sequences_of_the_file_are_shown_escaped(write):
    path = write(MLP + 'title: "\\e[2J\\e[31mred\\x9b"\n')
    for fmt in ("terminal", "markdown", "json"):
        code, out, _ = run("run", path, "--format", fmt)
        assert code == 0 and "\x1b" not in out and "\x9b" not in out, fmt
        assert "x1b" in out or "u001b" in out, fmt


# -- files ---------------------------------------------------------------------------------------

def test_derive_never_overwrites_without_force(tmp_path):
    out = tmp_path / "d.md"
    out.write_text("mine")
    code, _, err = run("derive", "sigmoid", "-f", "markdown", "-o", str(out))
    assert code == 2 and "--force" in err and out.read_text() == "mine"
    code, _, _ = run("derive", "sigmoid", "-f", "markdown", "-o", str(out), "--force")
    assert code == 0 and "sigma" in out.read_text()
    problem = tmp_path / "p.yaml"
    problem.write_text(MLP)
    assert run("derive", "sigmoid", "-o", str(problem), "--force")[0] == 2 and problem.read_text() == MLP


def test_export_never_writes_a_yaml_file(tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text(MLP)
    code, _, err = run("export", "problems/mlp_seed.yaml", "-o", str(other), "--format", "md", "--force")
    assert code == 2 and "never writes over a problem file" in err and other.read_text() == MLP


def test_export_messages_name_the_file_and_the_directory(tmp_path):
    code, _, err = run("export", "problems/mlp_seed.yaml", "-o", f"{tmp_path}/new/")
    assert code == 0 and err.strip() == f"wrote {tmp_path}/new/mlp_seed.md"
    afile = tmp_path / "afile"
    afile.write_text("x")
    code, _, err = run("export", "problems/mlp_seed.yaml", "-o", f"{afile}/x.md")
    assert code == 2 and f"{afile} is a file, not a directory" in err


def test_interrupt_is_deferred_while_a_file_is_written(tmp_path):
    from nnsolve.export import interrupt_deferred, write_atomic
    target = tmp_path / "out.md"
    with pytest.raises(KeyboardInterrupt):
        with interrupt_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            write_atomic(str(target), "complete", force=False)  # still runs to the end
    assert target.read_text() == "complete" and [p.name for p in tmp_path.iterdir()] == ["out.md"]


def test_an_interrupted_batch_export_leaves_no_temporary_file(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    rng = np.random.default_rng(3)
    T, m, n = 400, 6, 4  # an LSTM that takes a fraction of a second to export
    text = f"kind: lstm\ninputs: {np.round(rng.uniform(-1, 1, (T, n)), 2).tolist()}\nweights:\n"
    for g in "fico":
        text += (f"  W_{g}: {np.round(rng.uniform(-1, 1, (m, n)), 2).tolist()}\n"
                 f"  U_{g}: {np.round(rng.uniform(-1, 1, (m, m)), 2).tolist()}\n")
    for i in range(30):
        (src / f"p{i:02d}.yaml").write_text(text)
    interrupted = 0
    for trial, delay in enumerate((1.0, 2.0)):
        out = tmp_path / f"out{trial}"
        p = subprocess.Popen([sys.executable, "-m", "nnsolve", "export", str(src), "-o", f"{out}/"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, text=True)
        time.sleep(delay)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=120)
        if p.returncode == 130:
            interrupted += 1
            assert err.strip().splitlines()[-1].startswith("error: interrupted; exported"), err
        if out.exists():
            assert not [f for f in os.listdir(out) if f.startswith(".")], os.listdir(out)
    assert interrupted


# -- derive ----------------------------------------------------------------------------------

@pytest.mark.parametrize("expr, words", [("f(x)", "unknown function 'f'"), ("1/0", "undefined"),
                                         ("x/0", "undefined"), ("log(0)*x", "undefined"),
                                         ("theta(x+1)", "unknown function 'theta'")])
def test_derive_refuses_unknown_functions_and_undefined_expressions(expr, words):
    code, out, err = run("derive", expr)
    assert code == 2 and words in err and len(err.splitlines()) == 1


def test_derive_at_a_value_beyond_float64_is_refused_and_json_stays_json():
    code, out, err = run("derive", "x^2", "--at", "x=1000000^100", "--format", "json")
    assert code == 2 and "float64" in err
    code, out, _ = run("derive", "x^2", "--at", "x=2^10", "--format", "json")
    data = json.loads(out)["results"]  # strict JSON: no Infinity
    assert data["value"] == 1048576 and data["derivative_value"] == 2048
    code, out, _ = run("derive", "x^2", "--at", "x=2^10", "--format", "markdown")
    assert "x = 1024" in out


def test_derive_a_flat_sum_of_499_characters():
    text = "+".join(["x"] * 250)  # 499 characters: d/dx = 250
    code, out, err = run("derive", text, "--format", "json")
    assert code == 0, err
    assert json.loads(out)["results"]["derivative"] == "250"


def test_derive_a_leading_minus_needs_no_double_dash():
    code, out, err = run("derive", "-x^2", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["results"]["derivative"] == "-2*x"


def test_derive_outside_the_domain_gives_neither_value():
    code, out, _ = run("derive", "log(x)", "--at", "x=-1", "--format", "json")
    data = json.loads(out)["results"]
    assert code == 0 and data["value"] is None and data["derivative_value"] is None


def test_time_limits_nest_into_one_budget():
    from nnsolve.derive.engine import _OutOfTime, out_of_time, time_limit
    t0 = time.monotonic()
    with pytest.raises(_OutOfTime):
        with time_limit(0.3):
            for _ in range(20):  # each attempt has its own 0.2 s, none may outlast the 0.3 s
                try:
                    with time_limit(0.2):
                        while True:
                            pass
                except _OutOfTime:
                    if out_of_time():
                        raise
    assert time.monotonic() - t0 < 1.0


def test_derive_refuses_a_runaway_expression_well_before_10_s():
    text = "tanh(" * 39 + "x" + ")" * 39
    t0 = time.monotonic()
    p = cli_process("derive", text, timeout=60, text=True)
    assert time.monotonic() - t0 < 10
    assert p.returncode == 2 and "more than" in p.stderr and len(p.stderr.splitlines()) == 1


# -- the command line ----------------------------------------------------------------------------

def test_run_reads_standard_input():
    code, out, _ = run("run", "-", "--format", "json", input=(ROOT / "problems" / "mlp_seed.yaml").read_text())
    assert code == 0 and json.loads(out)["kind"] == "mlp"
    code, _, err = run("run", "-", input="kind: mlp\ninput: [0x10]\n")
    assert code == 2 and err.startswith("error: <stdin>:2:9: ")


def test_a_closed_pipe_ends_quietly():
    p = subprocess.Popen([sys.executable, "-m", "nnsolve", "run", "problems/bptt_many_to_many.yaml", "--full",
                          "--format", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    p.stdout.read(10)
    p.stdout.close()
    err = p.stderr.read()
    p.wait(timeout=60)
    assert p.returncode == 0 and err == b""


def test_kinds_complete_in_the_shell():
    env = dict(os.environ, _NNSOLVE_COMPLETE="bash_complete", COMP_WORDS="nnsolve new ls", COMP_CWORD="2")
    p = subprocess.run([sys.executable, "-c", "from nnsolve.cli import main; main()"], env=env,
                       capture_output=True, text=True, cwd=ROOT)
    assert "lstm" in p.stdout
