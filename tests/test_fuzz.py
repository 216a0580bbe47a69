"""Fuzzing (issue 17): mutants of every file in problems/, run through the command line in
every format. Whatever the mutant, nnsolve exits 0 (solved) or 2 (bad input), never with an
internal error or a traceback; bad input is reported on exactly one line of stderr that
names the file, line and column.

The mutation loop is seeded (the same 2,100 mutants every run) and runs in-process; the work
budget is lowered for it (nnsolve.work.BUDGET), so that a mutant that makes a problem large
is refused at once, as such a problem would be, instead of being worked for seconds.
"""
from __future__ import annotations

import random
import re

from click.testing import CliRunner

from nnsolve import work
from nnsolve.cli import cli

from conftest import PROBLEMS

SEED = 17
MUTANTS = 2_100
FORMATS = ("json", "markdown", "terminal")

NASTY_NUMBERS = [
    "1" + "0" * 400, "-1" + "0" * 400, "1e400", "-1e400", "1e308", "-1e308", "1e200", "1e-320", "0", "-0",
    ".nan", ".inf", "-.inf", "0x10", "0o17", "0b101", "1:30", "1_000", '"0.5"', "'2'", "abc", "~", "null", "true",
    "[]", "{}", "[1, 2]", "[[1]]", "-1", "1000", "2.5", "!!float x", "!!int 1.5", "!!bool maybe", "!!float 1e400",
    "*nowhere", "&a 1", "2001-13-45", "0.1e", "1e", "+.5", "07", "9" * 30,
]
WORDS = ["sigmoid", "softmax", "linear", "tanh", "relu", "leaky_relu", "bce", "cross_entropy", "mse",
         "half_sse", "every", "last", "pytorch", "cho", "step", "sign", "True", "~", "<<", "MLP", "LSTM",
         "perceptron", "bptt", "rnn", "gru", "lstm", "mlp", "x", "", "'", '"', "!!binary", "|", ">"]
JUNK = ["[", "]", "{", "}", ":", ": ", "- ", "&a ", "*a ", "!!python/object:os.system ", "!!str ", "? ", "#",
        "'", '"', "\t", "<<: *a\n", "\x00", "\x07", "\x1b[2J", "\u200b", "\ufeff", "\ud7ff", "\\", "%YAML 1.1\n",
        "---\n", "...\n", "@", "`", ",", "\r", "\u2028", "\x85"]
KEY = re.compile(r"^(\s*(?:- )?)([A-Za-z_][A-Za-z_0-9]*)(:)", re.M)
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])")
WORD = re.compile(r"(?<=: )[A-Za-z_][A-Za-z_0-9]*")


def _mutate(text: str, rng: random.Random) -> str | bytes:
    lines = text.splitlines(keepends=True)
    op = rng.randrange(16)
    if op == 0 and lines:  # drop a line
        del lines[rng.randrange(len(lines))]
    elif op == 1 and lines:  # duplicate a line
        i = rng.randrange(len(lines))
        lines.insert(i, lines[i])
    elif op == 2 and len(lines) > 1:  # swap two lines
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    elif op in (3, 4, 5):  # a number becomes something else
        found = list(NUMBER.finditer(text))
        if found:
            m = rng.choice(found)
            return text[:m.start()] + rng.choice(NASTY_NUMBERS) + text[m.end():]
    elif op == 6:  # a key misspelt, or with an invisible character
        found = list(KEY.finditer(text))
        if found:
            m = rng.choice(found)
            key = m.group(2)
            new = rng.choice([key[:-1], key + "\u200b", key.upper(), key[::-1], "~", "true", "<<", "1.5"])
            return text[:m.start(2)] + new + text[m.end(2):]
    elif op == 7:  # a word becomes another
        found = list(WORD.finditer(text))
        if found:
            m = rng.choice(found)
            return text[:m.start()] + rng.choice(WORDS) + text[m.end():]
    elif op in (8, 9):  # YAML syntax dropped in somewhere
        i = rng.randrange(len(text) + 1)
        return text[:i] + rng.choice(JUNK) + text[i:]
    elif op == 10:  # cut short
        return text[:rng.randrange(len(text) + 1)]
    elif op == 11 and lines:  # indentation changed
        i = rng.randrange(len(lines))
        lines[i] = rng.choice(["", " ", "  ", "    ", "\t"]) + lines[i].lstrip(" ")
    elif op == 12:  # bytes: not UTF-8, a NUL, UTF-16, a BOM
        raw = text.encode("utf-8")
        i = rng.randrange(len(raw) + 1)
        return rng.choice([raw[:i] + b"\xff\xfe" + raw[i:], raw[:i] + b"\x00" + raw[i:],
                           text.encode("utf-16"), b"\xef\xbb\xbf" + raw, raw[:i] + b"\xc3" + raw[i:]])
    elif op == 13:  # a list made a scalar, or nested once more, or emptied
        found = list(re.finditer(r"\[[^\[\]\n]*\]", text))
        if found:
            m = rng.choice(found)
            new = rng.choice(["1", "[]", "[" + m.group(0) + "]", m.group(0)[:-1] + ", 1]", "abc", "{a: 1}"])
            return text[:m.start()] + new + text[m.end():]
    elif op == 14:  # an anchor and an alias, a merge key
        return text + rng.choice(["\nextra: &a {kind: mlp}\nmore:\n  <<: *a\n", "\n<<: {title: merged}\n",
                                  "\nx: &x [1, 2]\ny: [*x, *x]\n", "\n&a\n"])
    else:  # two mutations
        once = _mutate(text, rng)
        return _mutate(once, rng) if isinstance(once, str) else once
    return "".join(lines)


def _mutants():
    rng = random.Random(SEED)
    sources = [p for p in PROBLEMS]
    texts = {p: p.read_text(encoding="utf-8") for p in sources}
    for i in range(MUTANTS):
        source = sources[i % len(sources)]
        yield i, source, _mutate(texts[source], rng), FORMATS[(i // len(sources)) % len(FORMATS)]


LOCATED = re.compile(r"^error: (?P<file>.+?):(?P<line>\d+):(?P<col>\d+): \S")


def test_mutants_exit_0_or_2_with_one_located_line(tmp_path, monkeypatch):
    monkeypatch.setattr(work, "BUDGET", 300_000)  # a mutant made large is refused at once
    runner = CliRunner()
    path = str(tmp_path / "mutant.yaml")
    failures = []
    counts = {0: 0, 2: 0}
    for i, source, text, fmt in _mutants():
        with open(path, "wb") as fh:
            fh.write(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
        result = runner.invoke(cli, ["run", path, "--format", fmt], catch_exceptions=True)
        err = result.stderr
        what = f"mutant {i} of {source.name} ({fmt})"
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            failures.append(f"{what}: {type(result.exception).__name__}: {result.exception}")
        elif result.exit_code not in (0, 2):
            failures.append(f"{what}: exit {result.exit_code}: {err.strip()[:300]}")
        elif "internal error" in err or "Traceback" in err + result.stdout:
            failures.append(f"{what}: {err.strip()[:300]}")
        elif result.exit_code == 2:
            lines = err.splitlines()
            m = LOCATED.match(lines[0]) if len(lines) == 1 else None
            if m is None or m.group("file") != path:
                failures.append(f"{what}: not one located line: {err.strip()[:300]!r}")
        elif "Warning" in err:
            failures.append(f"{what}: a warning leaked: {err.strip()[:300]}")
        counts[result.exit_code] = counts.get(result.exit_code, 0) + 1
        if len(failures) >= 15:
            break
    assert not failures, "\n".join(failures)
    assert counts[0] > 100 and counts[2] > 500, counts  # the mutants reach both the solver and the errors
