"""nnsolve's speed budget, measured as ratios taken side by side (interleaved pairs, medians),
so a noisy machine cannot fool it.

    python bench/run.py            # the table; exit status 1 if a budget is missed
    python bench/run.py --pairs 9  # more pairs

Measures (each a ratio against a reference run in the same loop):
  small run / import floor       nnsolve run <small> --format json  vs  python -c "import numpy, rich.console, rich.table, click, yaml"
  derive sigmoid / import sympy  nnsolve derive sigmoid             vs  python -c "import sympy"
  LSTM T=2000 / T=250            nnsolve run lstm(T=2000) --format json  vs the same with T=250 (hidden 16, input 8)
  LSTM backward T=2000 / T=250   the same with a target for h_T, half_sse and one SGD step (the backward pass)
  batch export / single exports  nnsolve export 12 files -o DIR/    vs  12 × nnsolve export FILE -o FILE.md
  peak memory small run / floor  max RSS of the small run            vs  max RSS of the import floor
  check 300 answer files / run   nnsolve check lstm_seed 300 files    vs  nnsolve run lstm_seed (a class's
                                 scripts: every answer of the two time steps to 3 d.p., a third of
                                 them with one wrong value that no slip explains, so every slip is tried)
  vary 1,000 variants / run      nnsolve vary lstm_seed --count 1000 -o DIR/ (problem files, Markdown
                                 keys, index)  vs  nnsolve run lstm_seed
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
NNSOLVE = [PY, "-m", "nnsolve"] if not shutil.which("nnsolve") else [shutil.which("nnsolve")]

BUDGETS = {
    "small run / import floor": 1.3,
    "derive sigmoid / import sympy": 1.5,
    "LSTM T=2000 / T=250": 3.0,
    "LSTM backward T=2000 / T=250": 3.0,
    "batch export of 12 / 12 single exports": 0.35,
    "peak memory: small run / import floor": 1.5,
    "check 300 answer files / one run": 10.0,
    "vary: 1,000 variants with keys / one run": 25.0,
}


def timed(cmd: list[str]) -> tuple[float, int]:
    """Wall time (s) and peak RSS (KiB) of one command."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    elapsed = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        err = p.stderr.read().decode(errors="replace") if p.stderr else ""
        raise SystemExit(f"bench: {' '.join(cmd)} failed ({p.returncode}): {err[-500:]}")
    return elapsed, usage.ru_maxrss


def timed_many(cmds: list[list[str]]) -> float:
    t0 = time.perf_counter()
    for c in cmds:
        timed(c)
    return time.perf_counter() - t0


def lstm_file(path: Path, T: int, m: int = 16, n: int = 8, seed: int = 0, backward: bool = False) -> Path:
    import numpy as np
    rng = np.random.default_rng(seed)
    r = lambda *s: np.round(rng.uniform(-0.5, 0.5, s), 3).tolist()
    lines = ["# benchmark input", "kind: lstm", f"inputs: {r(T, n)}", "weights:"]
    for g in "fico":
        lines += [f"  W_{g}: {r(m, n)}", f"  U_{g}: {r(m, m)}", f"  b_{g}: {r(m)}"]
    if backward:  # a target for h_T, its loss and one SGD step: the whole backward pass
        lines += [f"target: {r(m)}", "loss: half_sse", "learning_rate: 0.1"]
    path.write_text("\n".join(lines) + "\n")
    return path


def answer_files(folder: Path, count: int = 300, seed: int = 1) -> list[str]:
    """A class's answer files for problems/lstm_seed.yaml: every gate and state of both time
    steps to 3 decimals; every third student has one wrong value at a random step."""
    import json
    import random
    out = subprocess.run(NNSOLVE + ["run", str(ROOT / "problems" / "lstm_seed.yaml"), "--format", "json"],
                         capture_output=True, text=True, check=True).stdout
    results = json.loads(out)["results"]
    rng = random.Random(seed)
    paths = [(f"{k}[{t}]", results[k][t - 1][0]) for t in (1, 2) for k in ("f", "i", "g", "o", "c", "h")]
    files = []
    for s in range(count):
        lines = ["answers:"]
        bad = rng.randrange(len(paths)) if s % 3 == 0 else None
        for n, (path, value) in enumerate(paths):
            v = round(value, 3) + (round(rng.uniform(0.05, 0.3), 3) if n == bad else 0)
            lines.append(f"  {path}: {v:.3f}")
        f = folder / f"student{s:03d}.yaml"
        f.write_text("\n".join(lines) + "\n")
        files.append(str(f))
    return files


def pairs(a, b, k: int) -> tuple[float, float, float]:
    """Run a and b interleaved k times; (median a, median b, median of the per-pair ratios)."""
    ra, rb, ratios = [], [], []
    a(), b()  # warm the file cache once
    for i in range(k):
        x, y = (a(), b()) if i % 2 == 0 else tuple(reversed((b(), a())))
        ra.append(x)
        rb.append(y)
        ratios.append(x / y)
    return statistics.median(ra), statistics.median(rb), statistics.median(ratios)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=5, help="interleaved pairs per measure (at least 5)")
    args = ap.parse_args(argv)
    k = max(5, args.pairs)
    # Byte-compile nnsolve as an installed package would be (with PYTHONDONTWRITEBYTECODE set,
    # an editable install would otherwise recompile it on every run, and the floor would not).
    import compileall
    compileall.compile_dir(str(ROOT / "nnsolve"), quiet=1)
    tmp = Path(tempfile.mkdtemp(prefix="nnsolve-bench-"))
    rows = []
    try:
        small = str(ROOT / "problems" / "perceptron_seed.yaml")
        floor = [PY, "-c", "import numpy, rich.console, rich.table, click, yaml"]
        run_small = NNSOLVE + ["run", small, "--format", "json"]
        a, b, ratio = pairs(lambda: timed(run_small)[0], lambda: timed(floor)[0], k)
        rows.append(("small run / import floor", f"{a * 1000:.0f} ms", f"{b * 1000:.0f} ms", ratio))

        mem_run = statistics.median(timed(run_small)[1] for _ in range(3))
        mem_floor = statistics.median(timed(floor)[1] for _ in range(3))
        rows.append(("peak memory: small run / import floor", f"{mem_run / 1024:.0f} MiB",
                     f"{mem_floor / 1024:.0f} MiB", mem_run / mem_floor))

        derive = NNSOLVE + ["derive", "sigmoid"]
        sympy = [PY, "-c", "import sympy"]
        a, b, ratio = pairs(lambda: timed(derive)[0], lambda: timed(sympy)[0], k)
        rows.append(("derive sigmoid / import sympy", f"{a * 1000:.0f} ms", f"{b * 1000:.0f} ms", ratio))

        big = lstm_file(tmp / "lstm2000.yaml", 2000)
        little = lstm_file(tmp / "lstm250.yaml", 250)
        a, b, ratio = pairs(lambda: timed(NNSOLVE + ["run", str(big), "--format", "json"])[0],
                            lambda: timed(NNSOLVE + ["run", str(little), "--format", "json"])[0], k)
        rows.append(("LSTM T=2000 / T=250", f"{a * 1000:.0f} ms", f"{b * 1000:.0f} ms", ratio))

        big = lstm_file(tmp / "lstm2000b.yaml", 2000, backward=True)
        little = lstm_file(tmp / "lstm250b.yaml", 250, backward=True)
        a, b, ratio = pairs(lambda: timed(NNSOLVE + ["run", str(big), "--format", "json"])[0],
                            lambda: timed(NNSOLVE + ["run", str(little), "--format", "json"])[0], k)
        rows.append(("LSTM backward T=2000 / T=250", f"{a * 1000:.0f} ms", f"{b * 1000:.0f} ms", ratio))

        probs = sorted((ROOT / "problems").glob("*.yaml"))
        files = [probs[i % len(probs)] for i in range(12)]
        src = tmp / "src"
        src.mkdir()
        copies = []
        for i, f in enumerate(files):
            c = src / f"{i:02d}_{f.name}"
            shutil.copy(f, c)
            copies.append(str(c))

        def batch():
            out = tmp / "batch"
            shutil.rmtree(out, ignore_errors=True)
            return timed(NNSOLVE + ["export", *copies, "-o", str(out) + "/"])[0]

        def singles():
            out = tmp / "single"
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            return timed_many([NNSOLVE + ["export", c, "-o", str(out / (Path(c).stem + ".md"))] for c in copies])

        a, b, ratio = pairs(batch, singles, k)
        rows.append(("batch export of 12 / 12 single exports", f"{a * 1000:.0f} ms", f"{b * 1000:.0f} ms", ratio))

        scripts = tmp / "scripts"
        scripts.mkdir()
        seed_lstm = str(ROOT / "problems" / "lstm_seed.yaml")
        check_all = NNSOLVE + ["check", seed_lstm, *answer_files(scripts), "--format", "json", "--summary"]
        run_one = NNSOLVE + ["run", seed_lstm, "--format", "json"]

        def checked():
            t0 = time.perf_counter()
            p = subprocess.run(check_all, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if p.returncode not in (0, 1):
                raise SystemExit(f"bench: nnsolve check failed: {p.stderr.decode()[-500:]}")
            return time.perf_counter() - t0
        a, b, ratio = pairs(checked, lambda: timed(run_one)[0], k)
        rows.append(("check 300 answer files / one run", f"{a * 1000:.0f} ms", f"{b * 1000:.0f} ms", ratio))

        def varied():
            out = tmp / "variants"
            shutil.rmtree(out, ignore_errors=True)
            return timed(NNSOLVE + ["vary", seed_lstm, "--count", "1000", "--seed", "7", "-o", str(out) + "/"])[0]
        a, b, ratio = pairs(varied, lambda: timed(run_one)[0], k)
        rows.append(("vary: 1,000 variants with keys / one run", f"{a * 1000:.0f} ms", f"{b * 1000:.0f} ms", ratio))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    ok = True
    print(f"nnsolve benchmark: medians of {k} interleaved pairs, {os.cpu_count()} cores, {sys.version.split()[0]}")
    print(f"{'measure':<42} {'nnsolve':>10} {'reference':>10} {'ratio':>7} {'budget':>7}  ")
    for name, a, b, ratio in rows:
        budget = BUDGETS[name]
        good = ratio <= budget
        ok &= good
        print(f"{name:<42} {a:>10} {b:>10} {ratio:>7.2f} {'≤' + format(budget, 'g'):>7}  {'ok' if good else 'OVER'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
