"""nnsolve vary: exam variants, their keys and a Moodle quiz (spec/vary.md).

Expected values here come from outside nnsolve's solver: the LSTM and the perceptron of a
variant are recomputed by hand (a few lines of numpy / plain Python written from the
lecture notes' equations), the cloze syntax is checked with Moodle's own regular
expressions (question/type/multianswer/questiontype.php, ported to Python), and the
fairness rules are checked by an independent walk over the variant's working.
"""
from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import yaml

from nnsolve import vary as V

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = ROOT / "problems"
CLASSIC = ["lstm_seed", "lstm_seed_rounded", "lstm_two_units", "gru_cho", "gru_pytorch", "rnn_forward",
           "bptt_sentiment", "bptt_many_to_many", "bptt_clip_truncate", "mlp_seed", "mlp_published_222",
           "mlp_softmax", "perceptron_seed", "perceptron_and", "perceptron_xor"]


def vary_cli(run_cli, *args):
    return run_cli("vary", *map(str, args))


def problem(name: str) -> str:
    return str(PROBLEMS / f"{name}.yaml")


def files(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# -- the YAML as written (independent of nnsolve's reader) ----------------------------------------

def written_numbers(text: str) -> dict:
    """{data path: numeral} of every plain scalar that is a number, via yaml.compose."""
    out = {}

    def walk(node, path):
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                walk(v, path + (k.value,))
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                walk(v, path + (i,))
        elif isinstance(node, yaml.ScalarNode) and not node.style and \
                re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", node.value):
            out[path] = node.value
    walk(yaml.compose(text), ())
    return out


def decimals(numeral: str) -> int:
    return max(0, -Decimal(numeral).as_tuple().exponent)


# -- same bytes --------------------------------------------------------------------------------

def test_same_seed_same_bytes_across_processes(tmp_path):
    outs = []
    for k in range(2):
        d = tmp_path / f"run{k}"
        subprocess.run([sys.executable, "-m", "nnsolve", "vary", problem("lstm_seed"), "--count", "6", "--seed",
                        "7", "-o", f"{d}/", "--moodle", str(tmp_path / f"quiz{k}.xml")],
                       check=True, capture_output=True, cwd=tmp_path)
        outs.append((files(d), (tmp_path / f"quiz{k}.xml").read_bytes()))
    assert outs[0] == outs[1]
    names = sorted(outs[0][0])
    assert names == sorted(["index.md"] + [f"lstm_seed-{i:02d}{e}" for i in range(1, 7) for e in (".yaml", ".key.md")])


def test_different_seeds_different_numbers(run_cli, tmp_path):
    for seed in (1, 2):
        assert vary_cli(run_cli, problem("mlp_seed"), "-n", 3, "-s", seed, "-o", f"{tmp_path}/s{seed}/")[0] == 0
    a = (tmp_path / "s1" / "mlp_seed-01.yaml").read_text()
    b = (tmp_path / "s2" / "mlp_seed-01.yaml").read_text()
    assert written_numbers(a) != written_numbers(b)


def test_several_processes_draw_the_same_variants():
    orig = V.prepare(problem("lstm_two_units"))
    one, _ = V.draw_variants(orig, 30, 3, workers=1)
    two, _ = V.draw_variants(orig, 30, 3, workers=2)
    assert [v.texts for v in one] == [v.texts for v in two]
    assert [v.asked for v in one] == [v.asked for v in two]



@pytest.mark.parametrize("name", ["lstm_seed", "perceptron_seed", "mlp_softmax", "gru_pytorch",
                                  "bptt_sentiment", "competitive_seed"])
def test_the_screen_keeps_exactly_the_variants_a_full_judgement_keeps(name):
    """The screen (numbers put straight into the read problem, every draw solved only up to
    its first broken rule) is a shortcut: the kept variants and their verdict counts are the
    ones of reading and judging every draw in full."""
    orig = V.prepare(problem(name))
    moving = [lf for lf in orig.leaves if lf.varies]
    assert V.make_screen(orig, moving) is not None  # the shortcut is taken for these kinds
    keys: dict = {False: [], True: []}
    full, rej_full = V.draw_variants(orig, 25, 11, workers=1, screen=False, render=lambda w: w.to_markdown(),
                                     on_accept=lambda v, text: keys[False].append(text))
    fast, rej_fast = V.draw_variants(orig, 25, 11, workers=1, screen=True, render=lambda w: w.to_markdown(),
                                     on_accept=lambda v, text: keys[True].append(text))
    assert [v.texts for v in full] == [v.texts for v in fast]
    assert [v.asked for v in full] == [v.asked for v in fast]
    assert [(v.statement, v.symbols) for v in full] == [(v.statement, v.symbols) for v in fast]
    assert keys[False] == keys[True]  # the keys' working, byte for byte
    assert rej_full == rej_fast


def test_the_screen_comparison_sees_a_wrongly_set_number():
    """make_screen accepts its slots only when the problem they set equals a real read of the
    same draw; the comparison must see a single number set wrongly."""
    orig = V.prepare(problem("lstm_seed"))
    moving = [lf for lf in orig.leaves if lf.varies]
    problem_, slots = V.make_screen(orig, moving)
    node, index, i, d, was_int = slots[0]
    bad = [(node, index, i, d + 1, was_int)] + slots[1:]  # wrong decimals: a wrong value set
    ks = tuple(lf.draw[1] for lf in moving)
    V._put(bad, ks)
    read = V._read(orig, moving, ks)
    assert not V._same(problem_.problem, read.problem)
    V._put(slots, ks)
    assert V._same(problem_.problem, read.problem)

# -- the variants are ordinary problem files ----------------------------------------------------

@pytest.mark.parametrize("name", ["lstm_seed", "perceptron_seed", "mlp_published_222", "gru_cho",
                                  "bptt_sentiment", "rnn_forward", "bptt_clip_truncate"])
def test_variants_run_and_validate_against_the_schema(run_cli, tmp_path, name):
    import jsonschema
    out = tmp_path / "v"
    assert vary_cli(run_cli, problem(name), "-n", 4, "-s", 5, "-o", f"{out}/")[0] == 0
    kind = yaml.safe_load(open(problem(name)))["kind"]
    code, schema_text, _ = run_cli("schema", kind)
    validator = jsonschema.Draft7Validator(json.loads(schema_text))
    original = open(problem(name)).read()
    before = written_numbers(original)
    for i in range(1, 5):
        f = out / f"{name}-{i:02d}.yaml"
        text = f.read_text()
        assert text.startswith(f"# nnsolve vary: variant {i} of {name}.yaml (seed 5)")
        data = yaml.safe_load(text)
        assert list(validator.iter_errors(data)) == []
        code, js, _ = run_cli("run", str(f), "--format", "json")
        assert code == 0
        assert json.loads(js)["kind"] == kind
        # the same keys and shapes, no remarks; everything that is not a number unchanged
        src = yaml.safe_load(original)
        src.pop("remarks", None)
        assert _shape(data) == _shape(src)
        # each number: drawn or as written
        after = written_numbers(text)
        assert set(after) == set(before) - {p for p in before if p[0] == "remarks"}


def _shape(x):
    if isinstance(x, dict):
        return {k: _shape(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_shape(v) for v in x]
    return "n" if isinstance(x, (int, float)) and not isinstance(x, bool) else x


# -- how numbers are drawn ------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["lstm_seed", "lstm_two_units", "mlp_published_222", "mlp_softmax",
                                  "perceptron_seed", "bptt_many_to_many", "gru_pytorch"])
def test_drawn_numbers_keep_sign_and_decimals_within_half_to_double(run_cli, tmp_path, name):
    out = tmp_path / "v"
    assert vary_cli(run_cli, problem(name), "-n", 20, "-s", 11, "-o", f"{out}/")[0] == 0
    original = open(problem(name)).read()
    before = written_numbers(original)
    changed = 0
    for f in sorted(out.glob("*.yaml")):
        after = written_numbers(f.read_text())
        for path, numeral in after.items():
            old = before[path]
            x, y = Decimal(old), Decimal(numeral)
            if path[0] in ("target",) or (len(path) >= 3 and path[0] == "samples" and path[2] == "d"):
                assert y == x, (path, "labels never change")
                continue
            if y == x:
                continue
            changed += 1
            assert x != 0, "0 stays 0"
            assert decimals(numeral) <= min(decimals(old), 2) or decimals(numeral) == decimals(old)
            assert decimals(numeral) <= 2
            assert (x > 0) == (y > 0), (path, old, numeral)
            assert abs(x) / 2 <= abs(y) <= 2 * abs(x), (path, old, numeral)
            assert path[0] not in ("max_epochs", "truncate"), "whole-number keys never change"
    assert changed > 0


def test_whole_numbers_tokens_and_binary_patterns_never_change(run_cli, tmp_path):
    out = tmp_path / "v"
    assert vary_cli(run_cli, problem("bptt_clip_truncate"), "-n", 10, "-o", f"{out}/")[0] == 0
    for f in out.glob("*.yaml"):
        data = yaml.safe_load(f.read_text())
        assert data["truncate"] == 3 and data["output"] == "last" and data["hidden_activation"] == "linear"
    out2 = tmp_path / "v2"
    assert vary_cli(run_cli, problem("bptt_sentiment"), "-n", 10, "-o", f"{out2}/")[0] == 0
    for f in out2.glob("*.yaml"):
        data = yaml.safe_load(f.read_text())
        assert data["tokens"] == ["cat", "mat", "rat"] and data["vocab"] == ["cat", "mat", "rat"]
        assert data["target"] == 1
    out3 = tmp_path / "v3"  # the logic gate's 0/1 inputs stay; only η can change: one variant
    assert vary_cli(run_cli, problem("perceptron_and"), "-n", 1, "-o", f"{out3}/")[0] == 0
    data = yaml.safe_load((out3 / "perceptron_and-01.yaml").read_text())
    assert [s["x"] for s in data["samples"]] == [[0, 0], [0, 1], [1, 0], [1, 1]] and data["learning_rate"] == 2


def test_vary_block_ranges_fixed_and_entries(run_cli, write, tmp_path):
    base = open(problem("lstm_seed")).read()
    f = write(base + """vary:
  weights.W_f: {range: [-1, 1], decimals: 1}
  weights.W_f[1][2]: fixed
  inputs: {range: [0, 3], decimals: 0}
  weights.U_i: fixed
  weights.b_o: {decimals: 1}
ask: ["h[2]", "c[2]", "f[1]"]
""", "ex.yaml")
    out = tmp_path / "v"
    code, _, err = vary_cli(run_cli, f, "-n", 15, "-s", 2, "-o", f"{out}/")
    assert code == 0, err
    for p in sorted(out.glob("*.yaml")):
        text = p.read_text()
        assert "vary" not in yaml.safe_load(text) and "remarks" not in yaml.safe_load(text)
        nums = written_numbers(text)
        w = Decimal(nums[("weights", "W_f", 0, 0)])
        assert -1 <= w <= 1 and decimals(nums[("weights", "W_f", 0, 0)]) <= 1
        assert nums[("weights", "W_f", 0, 1)] == "0.45"
        assert nums[("weights", "U_i")] == "0.8"
        for t in range(2):
            for j in range(2):
                x = nums[("inputs", t, j)]
                assert decimals(x) == 0 and 0 <= int(x) <= 3
        assert decimals(nums[("weights", "b_o")]) <= 1
    key = (out / "ex-01.key.md").read_text()
    assert list(asked_table(key)) == ["h[2]", "c[2]", "f[1]"]


# -- the keys: asked quantities first, values those of solving the variant ---------------------------

def sigmoid(v):
    return 1 / (1 + math.exp(-v))


def lstm_by_hand(data):
    """h_T, c_T of a one-unit LSTM, straight from the notes' equations."""
    w = data["weights"]
    scalar = lambda v: float(np.asarray(v, dtype=float).reshape(-1)[0])
    h = c = 0.0
    for x in data["inputs"]:
        x = np.asarray(x, dtype=float)
        pre = {g: float(np.asarray(w[f"W_{g}"], dtype=float).reshape(-1) @ x) + scalar(w[f"U_{g}"]) * h
               + scalar(w.get(f"b_{g}", 0)) for g in "fico"}
        f, i, o = sigmoid(pre["f"]), sigmoid(pre["i"]), sigmoid(pre["o"])
        g = math.tanh(pre["c"])
        c = f * c + i * g
        h = o * math.tanh(c)
    return h, c


def asked_table(key_text: str) -> dict:
    part = key_text.split("## Asked", 1)[1].split("\n---\n", 1)[0]
    return {m.group(1): m.group(2) for m in re.finditer(r"^\| `([^`]+)` \| (\S+) \|$", part, re.M)}


def test_lstm_keys_agree_with_a_hand_computation(run_cli, tmp_path):
    out = tmp_path / "v"
    assert vary_cli(run_cli, problem("lstm_seed"), "-n", 8, "-s", 4, "-o", f"{out}/", "--moodle",
                    tmp_path / "q.xml")[0] == 0
    moodle = numerical_answers(tmp_path / "q.xml")
    for i in range(1, 9):
        data = yaml.safe_load((out / f"lstm_seed-{i:02d}.yaml").read_text())
        h, c = lstm_by_hand(data)
        key = (out / f"lstm_seed-{i:02d}.key.md").read_text()
        assert key.startswith(f"# Answer key: lstm_seed-{i:02d}\n")
        assert key.index("## Asked") < key.index("## Problem")  # asked quantities first, then the working
        asked = asked_table(key)
        assert asked == {"h[2]": f"{h:.4f}", "c[2]": f"{c:.4f}"}
        assert moodle[i - 1] == [(f"{h:.4f}", "0.0001"), (f"{c:.4f}", "0.0001")]
    index = (out / "index.md").read_text()
    rows = [ln for ln in index.splitlines() if ln.startswith("| ") and ln[2].isdigit()]
    assert len(rows) == 8 and "`h[2]`" in index and "`c[2]`" in index


def perceptron_by_hand(data):
    w = [float(x) for x in data["weights"]]
    b = float(data.get("bias", 0))
    eta = float(data.get("learning_rate", 1))
    low = 0 if data.get("activation", "step") == "step" else -1
    epochs = 0
    for epoch in range(1, data.get("max_epochs", 100) + 1):
        epochs = epoch
        changed = False
        for s in data["samples"]:
            v = sum(wi * xi for wi, xi in zip(w, s["x"])) + b
            e = s["d"] - (1 if v >= 0 else low)
            if e:
                changed = True
                w = [wi + eta * e * xi for wi, xi in zip(w, s["x"])]
                b += eta * e
        if not changed:
            break
    return w, b, epochs


def test_perceptron_keys_agree_with_a_hand_computation(run_cli, tmp_path):
    out = tmp_path / "v"
    assert vary_cli(run_cli, problem("perceptron_seed"), "-n", 6, "-s", 9, "-o", f"{out}/", "-f", "json")[0] == 0
    for i in range(1, 7):
        data = yaml.safe_load((out / f"perceptron_seed-{i:02d}.yaml").read_text())
        w, b, epochs = perceptron_by_hand(data)
        key = json.loads((out / f"perceptron_seed-{i:02d}.key.json").read_text())
        assert key["asked"] == {"weights[1]": pytest.approx(w[0]), "weights[2]": pytest.approx(w[1]),
                                "weights[3]": pytest.approx(w[2]), "bias": pytest.approx(b), "epochs": epochs}
        assert key["working"]["results"]["converged"] is True  # the original converges, so must each variant


# -- Moodle -----------------------------------------------------------------------------------------

# Moodle's own syntax of an embedded answer (question/type/multianswer/questiontype.php), in Python
_FRACTION = r"=|%(-?[0-9]+(?:[.,][0-9]*)?)%"
_ANSWER = r".+?(?<!\\)(?<!&)(?<!&amp;)(?=[~#}]|$)"  # PCRE's (?<!\\|&|&amp;)
_FEEDBACK = r".*?(?<!\\)(?=[~}]|$)"
_ALTERNATIVE = rf"({_FRACTION})?({_ANSWER})(#({_FEEDBACK}))?"
_TYPES = (r"(NUMERICAL|NM)|(MULTICHOICE|MC)|(MULTICHOICE_V|MCV)|(MULTICHOICE_H|MCH)|(SHORTANSWER|SA|MW)|"
          r"(SHORTANSWER_C|SAC|MWC)|(MULTICHOICE_S|MCS)|(MULTICHOICE_VS|MCVS)|(MULTICHOICE_HS|MCHS)|"
          r"(MULTIRESPONSE|MR)|(MULTIRESPONSE_H|MRH)|(MULTIRESPONSE_S|MRS)|(MULTIRESPONSE_HS|MRHS)")
ANSWER_START = re.compile(rf"\{{([0-9]*):({_TYPES}):")
ANSWER_REGEX = re.compile(rf"\{{([0-9]*):({_TYPES}):({_ALTERNATIVE}(~{_ALTERNATIVE})*)\}}", re.S)
NUMBER = r"-?(([0-9]+[.,]?[0-9]*|[.,][0-9]+)([eE][-+]?[0-9]+)?)"
NUMERICAL_ALTERNATIVE = re.compile(rf"^({NUMBER})(:{NUMBER})?$")


def numerical_answers(xml_path) -> list:
    """[(value, tolerance) of each NUMERICAL sub-question] per cloze question, as Moodle
    reads them."""
    root = ET.parse(xml_path).getroot()
    out = []
    for q in root.findall("question"):
        if q.get("type") != "cloze":
            continue
        text = q.find("questiontext/text").text
        assert len(ANSWER_START.findall(text)) == len(ANSWER_REGEX.findall(text))
        subs = []
        for m in ANSWER_REGEX.finditer(text):
            assert m.group(3) == "NUMERICAL"
            alt = m.group(16)  # ANSWER_REGEX_ALTERNATIVES
            assert alt.startswith("=")
            num = NUMERICAL_ALTERNATIVE.match(alt[1:])
            assert num, alt
            subs.append((num.group(1), num.group(6)))
        out.append(subs)
    return out


def test_moodle_quiz_parses_and_holds_each_variants_results(run_cli, tmp_path):
    out, quiz = tmp_path / "v", tmp_path / "quiz.xml"
    code, _, err = vary_cli(run_cli, problem("mlp_seed"), "-n", 7, "-s", 3, "-o", f"{out}/", "--moodle", quiz,
                            "--tolerance", "0.0005")
    assert code == 0, err
    root = ET.parse(quiz).getroot()
    assert root.tag == "quiz"
    qs = root.findall("question")
    assert qs[0].get("type") == "category" and "mlp_seed" in qs[0].find("category/text").text
    clozes = [q for q in qs if q.get("type") == "cloze"]
    assert len(clozes) == 7
    assert [q.find("name/text").text for q in clozes] == [f"mlp_seed variant {i:02d}" for i in range(1, 8)]
    answers = numerical_answers(quiz)
    for i, subs in enumerate(answers, start=1):
        asked = asked_table((out / f"mlp_seed-{i:02d}.key.md").read_text())
        assert [v for v, _ in subs] == list(asked.values())
        assert {t for _, t in subs} == {"0.0005"}
        # and the value is the variant's own result, solved afresh
        import nnsolve
        w = nnsolve.solve(str(out / f"mlp_seed-{i:02d}.yaml"))
        assert float(subs[0][0]) == pytest.approx(w.results["output"][0], abs=5e-5)
        assert float(subs[1][0]) == pytest.approx(w.results["loss"], abs=5e-5)


def test_moodle_only_and_default_tolerance(run_cli, tmp_path):
    quiz = tmp_path / "q.xml"
    assert vary_cli(run_cli, problem("gru_cho"), "-n", 3, "--moodle", quiz, "-p", 3)[0] == 0
    assert list(tmp_path.iterdir()) == [quiz]
    answers = numerical_answers(quiz)
    assert len(answers) == 3 and all(len(a) == 2 for a in answers)  # h[3] has two components
    assert all(t == "0.001" and len(v.split(".")[1]) == 3 for a in answers for v, t in a)


# -- the fairness rules -------------------------------------------------------------------------------

def independent_check(working):
    """The rules, checked without nnsolve.vary: every σ / tanh / step / sign of every step."""
    from nnsolve.expr import Func, walk
    from nnsolve.working import Step
    for s in working.sections:
        for b in s.blocks:
            if isinstance(b, Step):
                for node in walk(b.expr):
                    if isinstance(node, Func) and node.tex in (r"\sigma", r"\tanh", r"\sigma_{a}"):
                        assert np.all(np.abs(node.arg.value) <= 4), (b.id, node.tex, node.arg.value)
                    if isinstance(node, Func) and node.tex in (r"\operatorname{step}", r"\operatorname{sgn}"):
                        a = np.abs(np.asarray(node.arg.value, dtype=float))
                        assert np.all((a >= 0.05) | (a == 0)), (b.id, node.arg.value)


def _count(name):
    return int(os.environ.get("NNSOLVE_VARY_TEST_COUNT", "500")) if name in CLASSIC else 60


@pytest.mark.parametrize("path", sorted(PROBLEMS.glob("*.yaml")), ids=lambda p: p.stem)
def test_fairness_rules_hold_on_many_variants(path):
    import nnsolve
    from nnsolve.errors import InputError
    name = path.stem
    try:
        orig = V.prepare(str(path))
    except InputError as err:  # nothing can vary by default (sizes, masks, integers): said clearly
        assert "no given number of this problem can vary" in str(err)
        return
    count = _count(name)
    try:
        variants, _ = V.draw_variants(orig, count, 1)
    except V.VaryError as err:  # the ranges hold fewer fair variants than asked: a clear error
        assert "no fair variant in 1,000 draws; the rule that could not be met:" in str(err)
        number = int(re.search(r"variant (\d+):", str(err)).group(1))
        variants, _ = V.draw_variants(orig, number - 1, 1) if number > 1 else ([], None)
    seen = set()
    for v in variants[:: max(1, len(variants) // 40)]:  # an independent re-check of a sample
        w = nnsolve.solve(v.data)
        independent_check(w)
        if orig.converged:
            assert w.results["converged"] is True
    for v in variants:
        key = tuple(sorted(v.texts.items(), key=repr))
        assert key not in seen
        seen.add(key)
    if name in ("lstm_seed", "lstm_two_units"):  # by hand: every gate's pre-activation within ±4
        for v in variants:
            w = v.data["weights"]
            if name == "lstm_seed":
                h = 0.0
                c = 0.0
                for x in v.data["inputs"]:
                    pre = {g: float(np.asarray(w[f"W_{g}"], dtype=float).reshape(-1) @ np.asarray(x, dtype=float))
                           + float(w[f"U_{g}"]) * h + float(w[f"b_{g}"]) for g in "fico"}
                    assert max(abs(p) for p in pre.values()) <= 4
                    f, i, o, g = (sigmoid(pre["f"]), sigmoid(pre["i"]), sigmoid(pre["o"]), math.tanh(pre["c"]))
                    c = f * c + i * g
                    assert abs(c) <= 4
                    h = o * math.tanh(c)


def test_the_1000_draw_error_names_the_rule(run_cli, write, tmp_path):
    f = write(open(problem("lstm_seed")).read() + "vary:\n  inputs: {range: [50, 60], decimals: 0}\n", "sat.yaml")
    code, _, err = vary_cli(run_cli, f, "-n", 3, "-o", f"{tmp_path}/out/")
    assert code == 2
    assert "variant 1: no fair variant in 1,000 draws" in err
    assert "no sigmoid or tanh pre-activation beyond ±4" in err
    assert not (tmp_path / "out").exists()  # nothing written


def test_too_few_variants_is_the_duplicate_rule(run_cli, tmp_path):
    code, _, err = vary_cli(run_cli, problem("perceptron_and"), "-n", 5, "-o", f"{tmp_path}/o/")
    assert code == 2 and "no two variants alike" in err


def test_perceptron_variants_converge_and_have_no_near_ties():
    orig = V.prepare(problem("perceptron_seed"))
    variants, _ = V.draw_variants(orig, 40, 2)
    for v in variants:
        w, b, epochs = perceptron_by_hand(v.data)
        bias = float(v.data["bias"])
        ws = [float(x) for x in v.data["weights"]]
        for epoch in range(epochs):  # replay: every v at least 0.05 from 0
            for s in v.data["samples"]:
                z = sum(wi * xi for wi, xi in zip(ws, s["x"])) + bias
                assert abs(z) >= 0.05
                e = s["d"] - (1 if z >= 0 else 0)
                ws = [wi + float(v.data["learning_rate"]) * e * xi for wi, xi in zip(ws, s["x"])]
                bias += float(v.data["learning_rate"]) * e


# -- the vary and ask blocks: the solver ignores them, bad ones are located ---------------------------

def test_solver_accepts_and_ignores_vary_and_ask(run_cli, write):
    import jsonschema
    base = open(problem("lstm_seed")).read()
    f = write(base + 'vary:\n  learning_rate: fixed\n  weights.W_f: {range: [-1, 1], decimals: 1}\nask: ["h[2]"]\n')
    a = json.loads(run_cli("run", f, "--format", "json")[1])["results"]
    b = json.loads(run_cli("run", problem("lstm_seed"), "--format", "json")[1])["results"]
    assert a == b
    schema = json.loads(run_cli("schema", "lstm")[1])
    assert list(jsonschema.Draft7Validator(schema).iter_errors(yaml.safe_load(open(f)))) == []


BAD = [
    ("vary:\n  weights.W_x: fixed\n", "vary.weights.W_x", "the problem has no 'weights.W_x'"),
    ("vary:\n  weights.W_f: {range: [1, -1]}\n", "vary.weights.W_f.range", "expected low ≤ high"),
    ("vary:\n  weights.W_f: {range: [0, 1], decimals: 9}\n", "vary.weights.W_f.decimals", "decimals 0 … 6"),
    ("vary:\n  weights.W_f: {rang: [0, 1]}\n", "vary.weights.W_f.rang", "unknown key 'rang'"),
    ("vary:\n  weights.W_f: often\n", "vary.weights.W_f", "expected fixed or {range"),
    ("vary:\n  weights.W_f: {range: [0.001, 0.002], decimals: 2}\n", "vary.weights.W_f", "no number with 2 decimals"),
    ("vary:\n  'weights..W_f': fixed\n", "vary.weights..W_f", "is not a key path"),
    ("vary: [1, 2]\n", "vary", "expected a mapping of key paths"),
    ('ask: ["h[9]"]\n', "ask[0]", "the results have no 'h[9]'"),
    ('ask: ["h[2]", 3]\n', "ask[1]", "expected a result path"),
    ('ask: ["h[[2]"]\n', "ask[0]", "is not a result path"),
    ("ask: {h: 2}\n", "ask", "expected a list of result paths"),
]


@pytest.mark.parametrize("block,where,message", BAD, ids=[b[1] + ":" + b[2][:20] for b in BAD])
def test_bad_vary_and_ask_blocks_are_located(run_cli, write, tmp_path, block, where, message):
    base = open(problem("lstm_seed")).read()
    lines = base.count("\n")
    f = write(base + block, "bad.yaml")
    code, _, err = vary_cli(run_cli, f, "-n", 2, "-o", f"{tmp_path}/o/")
    assert code == 2, err
    m = re.match(r"error: (.+?):(\d+):(\d+): (\S+): (.*)", err)
    assert m, err
    assert m.group(1) == f and int(m.group(2)) > lines and m.group(4) == where
    assert message in m.group(5)


def test_an_integer_key_cannot_be_varied(run_cli, write, tmp_path):
    f = write(open(problem("perceptron_xor")).read() + "vary:\n  max_epochs: {range: [5, 20]}\n", "p.yaml")
    code, _, err = vary_cli(run_cli, f, "-n", 2, "-o", f"{tmp_path}/o/")
    assert code == 2 and "vary.max_epochs" in err and "never change" in err
    assert re.match(r"error: .+:\d+:\d+: ", err)


def test_ask_a_boolean_is_refused(run_cli, write, tmp_path):
    f = write(open(problem("perceptron_seed")).read() + 'ask: ["converged"]\n', "p.yaml")
    code, _, err = vary_cli(run_cli, f, "-n", 2, "-o", f"{tmp_path}/o/")
    assert code == 2 and "ask[0]" in err and "not a number a question can ask for" in err


def test_ask_as_one_text_and_components(run_cli, write, tmp_path):
    f = write(open(problem("lstm_two_units")).read() + "ask: h[3][2], c[3]\n", "two.yaml")
    code, _, err = vary_cli(run_cli, f, "-n", 2, "-o", f"{tmp_path}/o/")
    assert code == 0, err
    asked = asked_table((tmp_path / "o" / "two-01.key.md").read_text())
    assert list(asked) == ["h[3][2]", "c[3][1]", "c[3][2]"]


# -- the command -------------------------------------------------------------------------------------

def test_command_needs_a_destination_and_refuses_to_overwrite(run_cli, tmp_path):
    code, _, err = vary_cli(run_cli, problem("mlp_seed"), "-n", 2)
    assert code == 2 and "-o DIR/" in err
    assert vary_cli(run_cli, problem("mlp_seed"), "-n", 2, "-o", f"{tmp_path}/o/")[0] == 0
    code, _, err = vary_cli(run_cli, problem("mlp_seed"), "-n", 2, "-o", f"{tmp_path}/o/")
    assert code == 2 and "--force" in err
    assert vary_cli(run_cli, problem("mlp_seed"), "-n", 2, "-o", f"{tmp_path}/o/", "--force")[0] == 0
    code, _, err = vary_cli(run_cli, problem("mlp_seed"), "-n", 10001, "-o", f"{tmp_path}/o2/")
    assert code == 2 and "10000" in err.replace(",", "")


def test_no_progress_bar_without_a_terminal(tmp_path):
    p = subprocess.run([sys.executable, "-m", "nnsolve", "vary", problem("gru_cho"), "-n", "25", "-o",
                        f"{tmp_path}/o/"], capture_output=True, text=True, check=True)
    assert p.stderr.count("\n") == 1 and p.stderr.startswith("25 variants of gru_cho.yaml (seed 0)")
    assert "\x1b" not in p.stderr


def test_number_text_is_exact():
    assert V.number_text(-45, 2) == "-0.45" and V.number_text(7, 0) == "7" and V.number_text(5, 3) == "0.005"
    assert V.number_text(120, 1) == "12.0"


def test_the_quick_randint_draws_what_random_randint_draws():
    import random

    from nnsolve.vary import randint_of
    for seed in range(5):
        a, b = random.Random(seed), random.Random(seed)
        quick = randint_of(b)
        bounds = [(0, 0), (0, 1), (-5, 5), (1, 1000), (0, 2 ** 40), (3, 7)] * 200
        assert [a.randint(lo, hi) for lo, hi in bounds] == [quick(lo, hi) for lo, hi in bounds]
        assert a.random() == b.random()  # and the stream goes on alike
