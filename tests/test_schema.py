"""Kinds are declared: the reader, `nnsolve new KIND` and `nnsolve schema KIND` come from one
declaration of each kind's keys (nnsolve.given), and they agree with each other."""
import copy
import json
import subprocess
import sys

import jsonschema
import pytest
import yaml

from conftest import PROBLEMS
from nnsolve import given, kinds
from nnsolve.core import solve_text
from nnsolve.errors import InputError
from nnsolve.schema import recording_keys

KINDS = kinds.available()


def schema_of(kind):
    return given.json_schema(kind)


def problems_of(kind):
    out = []
    for p in PROBLEMS:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
        if data.get("kind") == kind:
            out.append((p.name, data, p.read_text(encoding="utf-8")))
    return out


def errors(kind, data):
    return list(jsonschema.Draft7Validator(schema_of(kind)).iter_errors(data))


@pytest.mark.parametrize("kind", KINDS)
def test_schema_is_valid_draft_07(kind):
    s = schema_of(kind)
    jsonschema.Draft7Validator.check_schema(s)
    assert s["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert s["properties"]["kind"] == {"const": kind, "description": "the kind of problem"}
    assert s["additionalProperties"] is False and "kind" in s["required"]
    assert set(s["properties"]) == {f.key for f in given.fields(kind)}
    json.dumps(s)  # plain JSON


@pytest.mark.parametrize("path", PROBLEMS, ids=lambda p: p.name)
def test_every_problem_file_validates(path):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert errors(data["kind"], data) == []


@pytest.mark.parametrize("kind", KINDS)
def test_template_validates_and_runs(run_cli, kind):
    code, out, _ = run_cli("new", kind)
    assert code == 0
    data = yaml.safe_load(out)
    assert data["kind"] == kind
    assert errors(kind, data) == []
    w = solve_text(out, f"new-{kind}.yaml")
    assert w.kind == kind and w.results
    # each key of the declaration that the template shows has its meaning as a comment
    for f in given.fields(kind):
        if f.template == "show" and f.key != "kind":
            line = next(ln for ln in out.splitlines() if ln.startswith(f"{f.key}:"))
            assert "#" in line, line


def test_commented_keys_of_the_templates_are_valid_too(run_cli):
    """Uncommenting an optional key of a template (with its example) still validates."""
    for kind in KINDS:
        base = yaml.safe_load(run_cli("new", kind)[1])
        for f in given.fields(kind):
            if f.template == "comment" and f.example is not given.NO_EXAMPLE and not f.lead:
                data = dict(base, **{f.key: f.example})
                for k, v in f.needs:
                    data[k] = v
                assert errors(kind, data) == [], (kind, f.key)


def _mlp():
    return yaml.safe_load(open("problems/mlp_published_222.yaml", encoding="utf-8"))


@pytest.mark.parametrize("change, where", [
    (lambda d: d.update(learning_rte=0.1), "learning_rte"),
    (lambda d: d["layers"][0].update(activaton="tanh"), "activaton"),
    (lambda d: d.update(learning_rate="fast"), "fast"),
    (lambda d: d["layers"][1].update(activation="sigmod"), "sigmod"),
    (lambda d: d.update(input=["0.05", 0.1]), "0.05"),
    (lambda d: d.update(precision=16), "16"),
    (lambda d: d.update(rounding=-1), "-1"),
    (lambda d: d.pop("target"), "target"),
    (lambda d: d["layers"][0].update(negative_slope=0.1), "leaky_relu"),
    (lambda d: d.update(remarks=[{"at": "y_1", "txt": "typo"}]), "txt"),
])
def test_broken_copies_are_rejected(change, where):
    data = _mlp()
    assert errors("mlp", data) == []
    broken = copy.deepcopy(data)
    change(broken)
    found = errors("mlp", broken)
    assert found, where
    assert any(where in (e.message + json.dumps(list(e.absolute_path)) + json.dumps(e.schema, ensure_ascii=False))
               for e in found + [c for e in found for c in (e.context or [])]), [e.message for e in found]


@pytest.mark.parametrize("kind, change", [
    ("perceptron", lambda d: d["samples"][0].update(y=1)),
    ("perceptron", lambda d: d.update(activation="relu")),
    ("lstm", lambda d: d["weights"].update(W_g=[[1, 2]])),
    ("lstm", lambda d: d["initial"].update(cc=[0])),
    ("gru", lambda d: d.update(convention="torch")),
    ("gru", lambda d: d["weights"].update(b_hn=[0])),  # b_hn is for convention: pytorch only
    ("bptt", lambda d: d.update(backward=False)),
    ("bptt", lambda d: d.pop("target")),
    ("bptt", lambda d: d.update(clip="big")),
    ("rnn", lambda d: d.update(learning_rate=0.1)),  # needs backward: true
    ("rnn", lambda d: d.update(hidden_activation="softmax")),
    ("rnn", lambda d: d["weights"].update(X=[[1]])),
])
def test_broken_copies_of_other_kinds(run_cli, kind, change):
    data = yaml.safe_load(run_cli("new", kind)[1])
    assert errors(kind, data) == []
    change(data)
    assert errors(kind, data)


def test_inputs_or_tokens_with_vocab():
    data = yaml.safe_load(open("problems/bptt_sentiment.yaml", encoding="utf-8"))
    assert "tokens" in data and errors("bptt", data) == []
    del data["vocab"]
    assert errors("bptt", data)
    data = yaml.safe_load(open("problems/bptt_sentiment.yaml", encoding="utf-8"))
    del data["tokens"], data["vocab"]
    assert errors("bptt", data)
    data["inputs"] = [[1, 0, 0], [0, 1, 0]]
    assert errors("bptt", data) == []


# -- the reader reads exactly the declared keys ---------------------------------------------

REMARKS = "remarks:\n  - {text: A closing remark.}\n  - A plain remark.\n"


def _asked(kind):
    """The key paths the reader asks for over every problem file and the template of a kind."""
    # kinds declared alike share one reader (rnn and bptt): the files of each count for both
    same = [k for k in KINDS if given.key_paths(given.fields(k)) == given.key_paths(given.fields(kind))]
    texts = [(name, text) for k in same for name, _, text in problems_of(k)]
    texts.append((f"new-{kind}", given.template(kind)))
    texts.append((f"new-{kind}+remarks", given.template(kind) + REMARKS))
    asked = set()
    for name, text in texts:
        with recording_keys() as keys:
            solve_text(text, name)
        asked |= keys
    return asked


@pytest.mark.parametrize("kind", KINDS)
def test_reader_reads_exactly_the_declared_keys(kind):
    declared = given.key_paths(given.fields(kind))
    asked = _asked(kind)
    assert asked - declared == set(), "read but not declared"
    assert declared - asked == set(), "declared but never read"


@pytest.mark.parametrize("kind", KINDS)
def test_simple_fields_are_read_through_the_declaration(kind):
    """An out-of-bounds or wrong-typed simple field fails with the declaration's message."""
    for f in given.fields(kind):
        if f.type not in ("number", "integer", "choice") or f.key == "kind" or f.needs:
            continue
        text = given.template(kind).replace("\n# precision:", "\nprecision:")
        bad = "no_such_option" if f.type == "choice" else "fast"
        text = "\n".join(ln for ln in text.splitlines() if not ln.startswith(f"{f.key}:")) + f"\n{f.key}: {bad}\n"
        with pytest.raises(InputError) as err:
            solve_text(text, "bad.yaml")
        assert err.value.path == (f.key,), (kind, f.key, str(err.value))
        assert "expected" in str(err.value) and "'fast'" in str(err.value) or "no_such_option" in str(err.value)


def test_unknown_keys_come_from_the_declaration():
    text = given.template("mlp") + "negativ_slope: 0.1\n"
    with pytest.raises(InputError) as err:
        solve_text(text, "m.yaml")
    assert "unknown key 'negativ_slope'" in str(err.value)
    text = given.template("mlp").replace("    activation: sigmoid  ", "    negativ_slope: 0.2\n    activation: sigmoid  ", 1)
    with pytest.raises(InputError) as err:
        solve_text(text, "m.yaml")
    assert "layers[0].negativ_slope" in str(err.value) and "did you mean 'negative_slope'" in str(err.value)


# -- the command ------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_schema_command_prints_the_schema(run_cli, kind):
    code, out, _ = run_cli("schema", kind)
    assert code == 0 and json.loads(out) == schema_of(kind)


def test_schema_command_unknown_kind(run_cli):
    code, _, err = run_cli("schema", "lsmt")
    code_new, _, err_new = run_cli("new", "lsmt")
    assert code == code_new == 2
    assert err.replace("nnsolve schema", "nnsolve new") == err_new
    assert "did you mean 'lstm'" in err.lower()


def test_schema_help_has_examples(run_cli):
    code, out, _ = run_cli("schema", "--help")
    assert code == 0 and "Examples:" in out and "nnsolve schema mlp" in out and "yaml-language-server" in out


def test_schema_command_never_imports_sympy():
    code = ("import sys\nfrom click.testing import CliRunner\nfrom nnsolve.cli import cli\n"
            "for kind in ('perceptron', 'mlp', 'lstm', 'gru', 'rnn', 'bptt'):\n"
            "    r = CliRunner().invoke(cli, ['schema', kind])\n"
            "    assert r.exit_code == 0, r.output\n"
            "    r = CliRunner().invoke(cli, ['new', kind])\n"
            "    assert r.exit_code == 0, r.output\n"
            "print('sympy' in sys.modules)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.strip() == "False"
