"""Pictures where people would rather look than read (the optional extra ``nnsolve[plots]``).

``nnsolve run FILE --plots DIR`` writes SVG files; :func:`pictures` makes them for a solved
problem. Each picture is a function of the solved problem registered under its kind in
``PICTURES``; it reads the results and the working (never solves again) and carries the
numbers it shows as SVG text (``svg.fonttype = none``), so a reader (and a test) finds
the edge weights in the network diagram. matplotlib is imported here only, on this path.
"""
from __future__ import annotations

import io
import math

import numpy as np

from .errors import InputError

PICTURES: dict = {}  # kind -> [function(problem, working) -> (name, figure) or None]


def picture(*kinds):
    def register(fn):
        for k in kinds:
            PICTURES.setdefault(k, []).append(fn)
        return fn
    return register


def _matplotlib():
    try:
        import matplotlib
    except ImportError:
        raise InputError("pictures need matplotlib: pip install 'nnsolve[plots]' (or pip install matplotlib)",
                         file="--plots") from None
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: the numbers can be read and found
    matplotlib.rcParams["svg.hashsalt"] = "nnsolve"  # the same file every time
    import matplotlib.pyplot as plt
    return plt


def pictures(problem, working) -> list[tuple[str, str]]:
    """(file name, SVG text) of every picture of this problem's kind."""
    plt = _matplotlib()
    out = []
    for fn in PICTURES.get(problem.kind, []):
        made = fn(problem, working, plt)
        if made is None:
            continue
        name, fig = made
        buf = io.StringIO()
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
        plt.close(fig)
        out.append((name, buf.getvalue()))
    return out


def _num(x: float, precision: int) -> str:
    text = f"{x:.{precision}f}".rstrip("0").rstrip(".") if precision else f"{x:.0f}"
    return "0" if text in ("-0", "") else text.replace("-", "−")


def _sub(n) -> str:
    return "".join("₀₁₂₃₄₅₆₇₈₉"[int(c)] for c in str(n))


def _steps(working, lhs_prefix: str):
    from .working import Step
    for s in working.sections:
        for b in s.blocks:
            if isinstance(b, Step) and b.lhs.startswith(lhs_prefix):
                yield b


# -- mlp: the network with its weights on the edges ---------------------------------------

@picture("mlp")
def mlp_network(problem, working, plt):
    p = problem.problem
    if not hasattr(p, "layers") or not hasattr(p, "x"):
        return None
    sizes = [len(p.x)] + [L.W.shape[0] for L in p.layers]
    if max(sizes) > 12 or len(sizes) > 8:
        return None  # too many to draw legibly
    prec = min(working.precision, 4)
    values = [np.asarray(p.x, float)]
    from .notation import layer
    for l in range(1, len(p.layers) + 1):
        step = next(iter(_steps(working, layer("y", l))), None)
        values.append(np.asarray(step.value, float) if step is not None else None)
    width = 2.6 * (len(sizes) - 1) + 1.5
    fig, ax = plt.subplots(figsize=(max(5.0, width), 1.1 * max(sizes) + 1.2))
    ax.set_axis_off()
    pos = {}
    for l, n in enumerate(sizes):
        for j in range(n):
            pos[l, j] = (2.6 * l, (n - 1) / 2 - j)
    for l, L in enumerate(p.layers, start=1):
        for j in range(L.W.shape[0]):
            for i in range(L.W.shape[1]):
                (x0, y0), (x1, y1) = pos[l - 1, i], pos[l, j]
                ax.plot([x0, x1], [y0, y1], color="0.6", lw=1, zorder=1)
                t = 0.3 if i == j else 0.74  # a crossing edge is labelled near its target, apart
                ax.text(x0 + t * (x1 - x0), y0 + t * (y1 - y0), _num(L.W[j, i], prec), fontsize=8,
                        ha="center", va="center", zorder=3,
                        bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.9))
    for (l, j), (x, y) in pos.items():
        ax.add_patch(plt.Circle((x, y), 0.32, fc="#dbe9f6" if l else "#f2f2f2", ec="0.2", zorder=2))
        sub = "".join("₀₁₂₃₄₅₆₇₈₉"[int(c)] for c in str(j + 1))
        sup = "".join("⁰¹²³⁴⁵⁶⁷⁸⁹"[int(c)] for c in str(l))
        name = f"x{sub}" if l == 0 else f"y{sub}⁽{sup}⁾"
        v = values[l][j] if values[l] is not None else None
        ax.text(x, y + 0.07, name, ha="center", va="center", fontsize=8, zorder=4)
        if v is not None:
            ax.text(x, y - 0.13, _num(v, prec), ha="center", va="center", fontsize=8, zorder=4)
        if l > 0:
            b = p.layers[l - 1].b[j]
            ax.text(x, y - 0.48, f"b = {_num(b, prec)}", ha="center", va="top", fontsize=7, color="0.3")
    for l in range(len(sizes)):
        ax.text(2.6 * l, (max(sizes) - 1) / 2 + 0.75, "input" if l == 0 else
                ("output" if l == len(sizes) - 1 else f"hidden {l}") + f" ({p.layers[l - 1].activation})",
                ha="center", fontsize=9, weight="bold")
    ax.set_xlim(-0.7, 2.6 * (len(sizes) - 1) + 0.7)
    ax.set_ylim(-(max(sizes) - 1) / 2 - 0.9, (max(sizes) - 1) / 2 + 1.0)
    ax.set_aspect("equal")
    ax.set_title("The network: weights on the edges, outputs in the nodes (before the update)", fontsize=9)
    return "network.svg", fig


# -- perceptron: the decision line after each epoch -----------------------------------------

def _line(w, b) -> str:
    """w₁ x₁ + w₂ x₂ + b = 0, with its signs as a hand writes them."""
    out = f"{_num(w[0], 2)} x₁"
    for c, name in ((w[1], " x₂"), (b, "")):
        out += (" − " if c < 0 else " + ") + _num(abs(c), 2) + name
    return out + " = 0"


@picture("perceptron")
def perceptron_lines(problem, working, plt):
    p = problem.problem
    X, d = np.asarray(p.X, float), np.asarray(p.d, float)
    if X.shape[1] != 2:
        return None
    history = working.results["history"]
    epochs = working.results["epochs"]
    ends = {}
    for h in history:
        ends[h["epoch"]] = (np.asarray(h["weights"], float), float(h["bias"]))
    fig, ax = plt.subplots(figsize=(5.2, 4.4))
    pos = d == d.max()
    ax.scatter(X[pos, 0], X[pos, 1], marker="o", s=60, c="#1f77b4", label=f"d = {_num(d.max(), 2)}", zorder=3)
    ax.scatter(X[~pos, 0], X[~pos, 1], marker="s", s=60, c="#d62728", label=f"d = {_num(d.min(), 2)}", zorder=3)
    for k, (x, y) in enumerate(X, start=1):
        ax.annotate(f"{k}", (x, y), textcoords="offset points", xytext=(6, 6), fontsize=8)
    lo, hi = X.min(axis=0) - 1, X.max(axis=0) + 1
    shown = sorted(ends)
    if len(shown) > 8:  # the first epochs and the last
        shown = shown[:4] + shown[-4:]
    cmap = plt.get_cmap("viridis")
    for n, e in enumerate(shown):
        w, b = ends[e]
        color = cmap(n / max(1, len(shown) - 1))
        label = f"epoch {e}: {_line(w, b)}"
        if abs(w[1]) > 1e-12:
            xs = np.array([lo[0], hi[0]])
            ax.plot(xs, -(w[0] * xs + b) / w[1], color=color, lw=1.5, label=label)
        elif abs(w[0]) > 1e-12:
            ax.axvline(-b / w[0], color=color, lw=1.5, label=label)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    ok = working.results["converged"]
    ax.set_title(f"Decision line w·x + b = 0 after each epoch ({'converged' if ok else 'not converged'} "
                 f"after {epochs} epochs)", fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1))
    ax.grid(alpha=0.3)
    return "decision_lines.svg", fig


# -- bptt: the vanishing (or exploding) gradient ---------------------------------------------

@picture("bptt", "rnn")
def bptt_jacobians(problem, working, plt):
    r = working.results
    if "jacobian_log10_norms" not in r:
        return None
    logs = np.asarray(r["jacobian_log10_norms"], float)
    T = len(logs)
    t = np.arange(1, T + 1)
    finite = np.isfinite(logs)
    fig, ax = plt.subplots(figsize=(5.4, 3.4))
    in_range = finite.all() and np.all(np.abs(logs) < 300)
    if in_range:  # the norms themselves on a logarithmic axis
        norms = 10.0 ** logs
        ax.semilogy(t, norms, marker="o", color="#1f77b4")
        ax.set_ylabel(f"‖∂h{_sub(T)}/∂hₜ‖₂ (log scale)")
    else:  # beyond float64: their logarithms
        norms = logs
        ax.plot(t[finite], logs[finite], marker="o", color="#1f77b4")
        ax.set_ylabel(f"log₁₀ ‖∂h{_sub(T)}/∂hₜ‖₂")
    for ti, v, lg in zip(t[finite], np.asarray(norms)[finite], logs[finite]):
        if T <= 12:
            ax.annotate(f"{10 ** lg:.3g}".replace("-", "−"), (ti, v), textcoords="offset points", xytext=(0, 7),
                        ha="center", fontsize=7)
    ax.set_xlabel("t")
    ax.set_xticks(t if T <= 20 else None)
    ax.grid(alpha=0.3)
    ax.set_title(f"How much of a change of hₜ reaches h{_sub(T)} (T = {T})", fontsize=9)
    return "jacobian_norms.svg", fig


# -- optimizer: the path over the contours of its function ---------------------------------

@picture("optimizer")
def optimizer_path(problem, working, plt):
    p = problem.problem
    traj = np.asarray(working.results["trajectory"], float)
    if traj.ndim != 2 or traj.shape[1] != 2 or getattr(p, "f", None) is None:
        return None
    from .kinds.optimizer import Env
    lo, hi = traj.min(axis=0), traj.max(axis=0)
    span = np.maximum(hi - lo, 1.0)
    xs = np.linspace(lo[0] - 0.3 * span[0], hi[0] + 0.3 * span[0], 160)
    ys = np.linspace(lo[1] - 0.3 * span[1], hi[1] + 0.3 * span[1], 160)
    X, Y = np.meshgrid(xs, ys)
    with np.errstate(all="ignore"):
        try:
            Z = np.asarray(p.f(Env(None, [X, Y], p.texs)), dtype=float) * np.ones_like(X)
        except Exception:  # a part valued by SymPy: one point at a time
            Z = np.array([[float(p.f(Env(None, [np.asarray(a), np.asarray(b)], p.texs))) for a, b in zip(ra, rb)]
                          for ra, rb in zip(X, Y)])
    fig, ax = plt.subplots(figsize=(5.4, 4.4))
    finite = Z[np.isfinite(Z)]
    if finite.size:
        levels = np.unique(np.quantile(finite, np.linspace(0.02, 0.98, 14)))
        if len(levels) > 1:
            cs = ax.contour(X, Y, Z, levels=levels, colors="0.55", linewidths=0.8)
            ax.clabel(cs, fontsize=6, fmt=lambda v: f"{v:.3g}")
    ax.plot(traj[:, 0], traj[:, 1], marker="o", color="#d62728", lw=1.5, ms=4, zorder=3)
    for t, (a, b) in enumerate(traj):
        if len(traj) <= 12 or t in (0, len(traj) - 1):
            ax.annotate(f"t = {t}: ({_num(a, 3)}, {_num(b, 3)})", (a, b),
                        textcoords="offset points", xytext=(6, 4), fontsize=7)
    names = getattr(p, "names", ["w1", "w2"])
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.set_title(f"{p.method}: {len(traj) - 1} steps over the contours of f", fontsize=9)
    return "trajectory.svg", fig


# -- graph: the computation graph, forward values and gradients --------------------------------

@picture("graph")
def computation_graph(problem, working, plt):
    from .kinds.graph import describe, forward_values, local_derivatives
    p = problem.problem
    if len(p.nodes) > 20:
        return None
    vals = forward_values(p)
    prec = min(working.precision, 4)
    depth = {}
    for v in p.variables:
        depth[("var", v)] = 0
    for i, n in enumerate(p.nodes):
        depth[("node", i)] = 1 + max((depth.get(o, 0) for o in n.args if o[0] in ("var", "node")), default=0)
    for v in p.variables:  # a variable stands just before the first node that uses it
        users = [depth[("node", i)] for i, n in enumerate(p.nodes) if ("var", v) in n.args]
        if users:
            depth[("var", v)] = min(users) - 1
    columns: dict = {}
    for key, d in depth.items():
        columns.setdefault(d, []).append(key)
    pos = {}
    for d, keys in columns.items():
        for j, key in enumerate(keys):
            pos[key] = (3.0 * d, (len(keys) - 1) / 2 - 1.5 * j)
    node_grad = {("node", i): nd["grad"] for i, nd in enumerate(working.results["nodes"])}
    var_grad = working.results["gradients"]
    width = 3.0 * max(columns) + 2
    height = 1.5 * max(len(k) for k in columns.values()) + 1.5
    fig, ax = plt.subplots(figsize=(max(5.5, 1.3 * width), max(3.0, 1.1 * height)))
    ax.set_axis_off()
    for i, n in enumerate(p.nodes):
        derivs = local_derivatives(p, i, {**vals, ("node", i): vals[("node", i)]})
        for o, dv in derivs.items():
            (x0, y0), (x1, y1) = pos[o], pos[("node", i)]
            ax.annotate("", xy=(x1 - 0.75, y1), xytext=(x0 + 0.75, y0),
                        arrowprops=dict(arrowstyle="->", color="0.5", lw=1))
            ax.text((x0 + x1) / 2, (y0 + y1) / 2 + 0.12, f"∂{n.name}/∂{o[1] if o[0] == 'var' else p.nodes[o[1]].name}"
                    f" = {_num(float(ops_value(dv)), prec)}", ha="center", va="bottom", fontsize=7, color="#1f4e79",
                    bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.85))
    for key, (x, y) in pos.items():
        if key[0] == "var":
            name = key[1]
            lines = [f"{name} = {_num(float(vals[key]), prec)}"]
            if name in var_grad:
                lines.append(f"∂{p.nodes[-1].name if p.nodes else 'a'}/∂{name} = {_num(float(var_grad[name]), prec)}")
            fc = "#f2f2f2"
        else:
            n = p.nodes[key[1]]
            lines = [f"{n.name} = {describe(p, n)}", f"= {_num(float(vals[key]), prec)}",
                     f"grad {_num(float(node_grad[key]), prec)}"]
            fc = "#dbe9f6"
        ax.text(x, y, "\n".join(lines), ha="center", va="center", fontsize=8,
                bbox=dict(boxstyle="round,pad=0.35", fc=fc, ec="0.3"))
    xs = [x for x, _ in pos.values()]
    ys = [y for _, y in pos.values()]
    ax.set_xlim(min(xs) - 1.2, max(xs) + 1.2)
    ax.set_ylim(min(ys) - 1.0, max(ys) + 1.0)
    ax.set_title("The computation graph: forward values in the nodes, local derivatives on the edges, "
                 "∂output/∂node as grad", fontsize=9)
    return "graph.svg", fig


def ops_value(x):
    from .ops import value
    return value(x)


# -- training: the loss per epoch -------------------------------------------------------

@picture("delta_rule", "mlp")
def loss_per_epoch(problem, working, plt):
    r = working.results
    series = r.get("epoch_error", r.get("epoch_loss"))
    if not isinstance(series, list) or len(series) < 2:
        return None
    name = "ΣE over the epoch's samples" if "epoch_error" in r else "mean loss over the epoch's samples"
    e = np.arange(1, len(series) + 1)
    fig, ax = plt.subplots(figsize=(5.4, 3.4))
    ax.plot(e, series, marker="o", color="#2ca02c")
    for x, y in zip(e, series):
        if len(series) <= 15:
            ax.annotate(f"{y:.4g}".replace("-", "−"), (x, y), textcoords="offset points", xytext=(0, 7),
                        ha="center", fontsize=7)
    ax.set_xlabel("epoch")
    ax.set_ylabel(name)
    if len(series) <= 20:
        ax.set_xticks(e)
    ax.grid(alpha=0.3)
    ax.set_title(f"Training: {name} per epoch", fontsize=9)
    return "loss_per_epoch.svg", fig


def write(problem, working, folder: str) -> list[str]:
    """Write the pictures into folder (made if missing); returns the paths written."""
    import os
    made = pictures(problem, working)
    if not made:
        return []
    os.makedirs(folder, exist_ok=True)
    out = []
    for name, svg in made:
        path = os.path.join(folder, name)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(svg)
        out.append(path)
    return out


__all__ = ["PICTURES", "picture", "pictures", "write", "math"]
