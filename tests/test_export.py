"""nnsolve export: formats from the extension, directories, overwrite protection, atomic
writes, never over an input, one bad file does not stop the others, exit statuses."""
import json
import os
import shutil
import stat

import pytest

from conftest import PROBLEMS
from nnsolve import export as export_mod
from nnsolve.core import solve_file
from nnsolve.render import json as render_json
from nnsolve.render import markdown

GOOD = """\
# a tiny perceptron
kind: perceptron
weights: [0.5, -1]
bias: 0.5
samples:
  - {x: [1, -1], d: 0}
  - {x: [1, 1], d: 1}
"""

BAD = """\
kind: perceptron
weights: [0.5, -1]
samples:
  - {x: [1, -1, 3], d: 0}
"""


@pytest.fixture
def probs(tmp_path):
    """A directory with good.yaml, other.yaml and bad.yaml."""
    d = tmp_path / "problems"
    d.mkdir()
    (d / "good.yaml").write_text(GOOD)
    (d / "other.yaml").write_text(GOOD.replace("bias: 0.5", "bias: -0.25"))
    (d / "bad.yaml").write_text(BAD)
    return d


def leftovers(d):
    return [n for n in os.listdir(d) if n.endswith(".tmp")]


def test_markdown_from_extension(run_cli, probs, tmp_path):
    for name in ("out.md", "out.markdown", "OUT.MD"):
        code, out, err = run_cli("export", str(probs / "good.yaml"), "-o", str(tmp_path / name))
        assert code == 0, err
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert text == markdown.render(solve_file(str(probs / "good.yaml")))
        assert out == ""  # nothing on stdout; a short confirmation on stderr
        assert "wrote" in err


def test_json_from_extension_is_the_contract(run_cli, probs, tmp_path):
    target = tmp_path / "out.json"
    code, _, err = run_cli("export", str(probs / "good.yaml"), "-o", str(target))
    assert code == 0, err
    data = json.loads(target.read_text(encoding="utf-8"))
    assert data == json.loads(render_json.render(solve_file(str(probs / "good.yaml"))))
    assert set(data) >= {"kind", "title", "results", "sections"}
    assert data["results"]["converged"] is True


def test_unknown_extension_or_conflicting_format(run_cli, probs, tmp_path):
    code, _, err = run_cli("export", str(probs / "good.yaml"), "-o", str(tmp_path / "out.txt"))
    assert code == 2 and ".md, .markdown, .json" in err and ".html" in err and not (tmp_path / "out.txt").exists()
    code, _, err = run_cli("export", str(probs / "good.yaml"), "-o", str(tmp_path / "out.txt"), "--format", "json")
    assert code == 0 and json.loads((tmp_path / "out.txt").read_text())["kind"] == "perceptron"
    code, _, err = run_cli("export", str(probs / "good.yaml"), "-o", str(tmp_path / "x.md"), "--format", "json")
    assert code == 2 and "--format json" in err


def test_precision_and_full(run_cli, probs, tmp_path):
    code, _, err = run_cli("export", str(probs / "good.yaml"), "-o", str(tmp_path / "p.md"), "-p", "7", "--full")
    assert code == 0, err
    assert (tmp_path / "p.md").read_text() == markdown.render(solve_file(str(probs / "good.yaml"), 7), full=True)


def test_existing_file_needs_force(run_cli, probs, tmp_path):
    target = tmp_path / "out.md"
    target.write_text("precious")
    code, _, err = run_cli("export", str(probs / "good.yaml"), "-o", str(target))
    assert code == 2 and "exists" in err and "--force" in err
    assert target.read_text() == "precious"
    code, _, err = run_cli("export", str(probs / "good.yaml"), "-o", str(target), "--force")
    assert code == 0, err
    assert target.read_text().startswith("# nnsolve · perceptron")
    assert leftovers(tmp_path) == []


def test_existing_file_in_directory_needs_force(run_cli, probs, tmp_path):
    out = tmp_path / "key"
    out.mkdir()
    (out / "good.md").write_text("precious")
    code, _, err = run_cli("export", str(probs / "good.yaml"), str(probs / "other.yaml"), "-o", str(out))
    assert code == 2 and "good.md: exists" in err and "1 of 2 failed" in err
    assert (out / "good.md").read_text() == "precious"
    assert (out / "other.md").exists()
    code, _, err = run_cli("export", str(probs / "good.yaml"), str(probs / "other.yaml"), "-o", str(out), "--force")
    assert code == 0, err
    assert (out / "good.md").read_text().startswith("# nnsolve")


def test_failed_write_leaves_no_partial_file(run_cli, probs, tmp_path, monkeypatch):
    """A failure after part of the file is written (disk full at fsync) leaves the old file
    intact and no temporary file behind; the other files are still exported."""
    target = tmp_path / "out.md"
    target.write_text("old content")

    def full_disk(fd):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(export_mod.os, "fsync", full_disk)
    code, _, err = run_cli("export", str(probs / "good.yaml"), "-o", str(target), "--force")
    assert code == 2 and "No space left on device" in err
    assert target.read_text() == "old content"
    assert leftovers(tmp_path) == []
    # in a directory: neither file is written, no temporary file is left
    out = tmp_path / "key"
    code, _, err = run_cli("export", str(probs / "good.yaml"), str(probs / "other.yaml"), "-o", str(out) + "/")
    assert code == 2 and "2 of 2 failed" in err
    assert os.listdir(out) == []


def test_interrupted_write_leaves_old_file(probs, tmp_path, monkeypatch):
    """Even an exception that is not an error (Ctrl-C) half-way through writing keeps the old
    file whole and removes the temporary file."""
    target = tmp_path / "out.md"
    target.write_text("old content")
    real_fdopen = os.fdopen

    class HalfWriter:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, data):
            self.fh.write(data[: len(data) // 2])
            raise KeyboardInterrupt

    monkeypatch.setattr(export_mod.os, "fdopen", lambda fd, mode: HalfWriter(real_fdopen(fd, mode)))
    with pytest.raises(KeyboardInterrupt):
        export_mod.write_atomic(str(target), "new content " * 1000, force=True)
    assert target.read_text() == "old content"
    assert leftovers(tmp_path) == []


def test_new_file_has_ordinary_permissions(run_cli, probs, tmp_path):
    target = tmp_path / "out.md"
    code, _, err = run_cli("export", str(probs / "good.yaml"), "-o", str(target))
    assert code == 0, err
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    os.chmod(target, 0o640)  # an overwritten file keeps its mode
    run_cli("export", str(probs / "good.yaml"), "-o", str(target), "--force")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_output_is_never_an_input(run_cli, tmp_path):
    src = tmp_path / "problem.md"  # a problem file that happens to end in .md
    src.write_text(GOOD)
    code, _, err = run_cli("export", str(src), "-o", str(src), "--force")
    assert code == 2 and "input" in err
    assert src.read_text() == GOOD
    # through another spelling of the path, and through a symbolic link
    code, _, err = run_cli("export", str(src), "-o", str(tmp_path / "." / "problem.md"), "--force")
    assert code == 2 and src.read_text() == GOOD
    link = tmp_path / "link.md"
    link.symlink_to(src)
    code, _, err = run_cli("export", str(src), "-o", str(link), "--force")
    assert code == 2 and src.read_text() == GOOD


def test_output_in_directory_is_never_an_input(run_cli, tmp_path):
    d = tmp_path / "both"
    d.mkdir()
    (d / "p.md").write_text(GOOD)  # its output would be both/p.md: itself
    (d / "q.yaml").write_text(GOOD)
    code, _, err = run_cli("export", str(d / "p.md"), str(d / "q.yaml"), "-o", str(d), "--force")
    assert code == 2 and "p.md: is one of the input files" in err and "1 of 2 failed" in err
    assert (d / "p.md").read_text() == GOOD
    assert (d / "q.md").read_text().startswith("# nnsolve")


def test_several_inputs_need_a_directory(run_cli, probs, tmp_path):
    code, _, err = run_cli("export", str(probs / "good.yaml"), str(probs / "other.yaml"), "-o", str(tmp_path / "x.md"))
    assert code == 2 and "-o DIR/" in err
    assert not (tmp_path / "x.md").exists()
    f = tmp_path / "afile"
    f.write_text("x")
    code, _, err = run_cli("export", str(probs / "good.yaml"), str(probs / "other.yaml"), "-o", str(f) + "/")
    assert code == 2 and f.read_text() == "x"


def test_directory_export_with_bad_file(run_cli, probs, tmp_path):
    """One bad file: one line file:line:column: message; the rest exported; exit 2."""
    out = tmp_path / "answer-key" / "nested/"
    files = sorted(str(p) for p in probs.iterdir())
    code, stdout, err = run_cli("export", *files, "-o", str(out) + "/")
    assert code == 2
    assert sorted(os.listdir(out)) == ["good.md", "other.md"]
    lines = [ln for ln in err.splitlines() if "bad.yaml" in ln]
    assert len(lines) == 1 and f"{probs / 'bad.yaml'}:4:" in lines[0]
    assert "1 of 3 failed" in err
    assert stdout == ""


def test_missing_input_is_reported_and_the_rest_exported(run_cli, probs, tmp_path):
    code, _, err = run_cli("export", str(probs / "nope.yaml"), str(probs / "good.yaml"), "-o", str(tmp_path / "k") + "/")
    assert code == 2 and "nope.yaml: no such file" in err
    assert os.listdir(tmp_path / "k") == ["good.md"]


def test_directory_as_input_and_json_format(run_cli, probs, tmp_path):
    (probs / "bad.yaml").unlink()
    code, _, err = run_cli("export", str(probs), "-o", str(tmp_path / "k") + "/", "--format", "json")
    assert code == 0, err
    assert sorted(os.listdir(tmp_path / "k")) == ["good.json", "other.json"]
    assert "exported 2 files" in err
    for n in ("good", "other"):
        assert json.loads((tmp_path / "k" / f"{n}.json").read_text())["kind"] == "perceptron"


def test_same_name_from_two_directories(run_cli, probs, tmp_path):
    other = tmp_path / "elsewhere"
    other.mkdir()
    shutil.copy(probs / "good.yaml", other / "good.yaml")
    code, _, err = run_cli("export", str(probs / "good.yaml"), str(other / "good.yaml"), "-o", str(tmp_path / "k") + "/")
    assert code == 2 and "same name" in err
    # the same file named twice is exported once
    code, _, err = run_cli("export", str(probs / "good.yaml"), str(probs / "good.yaml"), "-o", str(tmp_path / "k2") + "/")
    assert code == 0, err


def test_internal_error_in_one_file_does_not_stop_the_others(run_cli, probs, tmp_path, monkeypatch):
    real = export_mod._render

    def flaky(working, fmt, full):
        if working.results.get("bias") == -0.25 or "other" in (working.source or ""):
            raise RuntimeError("boom")
        return real(working, fmt, full)
    monkeypatch.setattr(export_mod, "_render", flaky)
    monkeypatch.delenv("NNSOLVE_DEBUG", raising=False)
    code, _, err = run_cli("export", str(probs / "good.yaml"), str(probs / "other.yaml"), "-o", str(tmp_path / "k") + "/")
    assert code == 2 and "internal error in" in err and "other.yaml" in err and "boom" in err
    assert os.listdir(tmp_path / "k") == ["good.md"]


def test_progress_bar_without_a_terminal(run_cli, probs, tmp_path):
    """Many files with stderr not a terminal: no crash, the bar shows at most its final
    state, and every file is exported."""
    (probs / "bad.yaml").unlink()
    files = []
    for k in range(8):
        p = probs / f"p{k}.yaml"
        p.write_text(GOOD)
        files.append(str(p))
    code, out, err = run_cli("export", *files, "-o", str(tmp_path / "k") + "/")
    assert code == 0, err
    assert len(os.listdir(tmp_path / "k")) == 8
    assert "\x1b[" not in err and "exported 8 files" in err and out == ""


def test_every_problem_file_exports(run_cli, tmp_path):
    if not PROBLEMS:
        pytest.skip("no problem files")
    code, _, err = run_cli("export", *map(str, PROBLEMS), "-o", str(tmp_path / "key") + "/")
    assert code == 0, err
    assert sorted(os.listdir(tmp_path / "key")) == sorted(p.stem + ".md" for p in PROBLEMS)
