"""PyTorch autograd reference values for the backward pass of kinds lstm and gru
(shared/spec/recurrent.md), written to tests/reference/gated.json.

Run by hand with the torch venv (never the project's venv)::

    /work/torchvenv/bin/python tests/reference/make_gated.py

Everything in float64 with autograd; nothing here imports nnsolve. Each case is
``{"id", "problem", "expected", "expected_nested"}``: ``problem`` the dict of the YAML problem
file, ``expected`` the results named as in recurrent.md (loss, y_hat, dL_dh, dL_dc, delta_*,
grad_*, grad_x, grad_h0, grad_c0), ``expected_nested`` those that are mappings (updated) or
lists of mappings (layers). The cells are written out here gate by gate from the
definitions (problem-format.md, recurrent.md); the GRU's PyTorch convention and the
framework layouts are also run through torch.nn.LSTM / torch.nn.GRU themselves, whose
outputs and .grad are the expected values there.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
DT = torch.float64
torch.set_default_dtype(DT)

LSTM_GATES = ("f", "i", "c", "o")
GRU_GATES = ("z", "r", "h")


def leaf(x):
    return torch.tensor(np.asarray(x, dtype=float), dtype=DT, requires_grad=True)


def out(x):
    return x.detach().numpy().tolist()


def keep(x):
    x.retain_grad()
    return x


# -- the cells, from their definitions ------------------------------------------------------

def lstm_forward(X, P, h0, c0):
    """P: W_g (m × n), U_g (m × m), b_g (m) for g in f, i, c, o. Returns per-step records."""
    h, c = h0, c0
    rec = []
    for x in X:
        a = {g: keep(P[f"W_{g}"] @ x + P[f"U_{g}"] @ h + P[f"b_{g}"]) for g in LSTM_GATES}
        f, i, o = torch.sigmoid(a["f"]), torch.sigmoid(a["i"]), torch.sigmoid(a["o"])
        g = torch.tanh(a["c"])
        c = keep(f * c + i * g)
        h = keep(o * torch.tanh(c))
        rec.append({"a": a, "c": c, "h": h, "f": f, "i": i, "g": g, "o": o})
    return rec


def gru_forward(X, P, h0, before: bool, znew: bool):
    """before: the reset gate acts before U_h (cho, keras reset_after false); znew: z weights
    the candidate (cho). P: W_g, U_g, b_g for g in z, r, h, and b_hn (reset after)."""
    h = h0
    rec = []
    for x in X:
        az = keep(P["W_z"] @ x + P["U_z"] @ h + P["b_z"])
        ar = keep(P["W_r"] @ x + P["U_r"] @ h + P["b_r"])
        z, r = torch.sigmoid(az), torch.sigmoid(ar)
        if before:
            ah = keep(P["W_h"] @ x + P["U_h"] @ (r * h) + P["b_h"])
        else:
            ah = keep(P["W_h"] @ x + P["b_h"] + r * (P["U_h"] @ h + P["b_hn"]))
        ht = torch.tanh(ah)
        h = keep((1 - z) * h + z * ht) if znew else keep((1 - z) * ht + z * h)
        rec.append({"a": {"z": az, "r": ar, "h": ah}, "h": h, "z": z, "r": r, "h_tilde": ht})
    return rec


# -- a problem file, solved with autograd ----------------------------------------------------

def _notes_shape(key, v, n, m_hint=None):
    a = np.asarray(v, dtype=float)
    if key.startswith("b_"):
        return np.atleast_1d(a)
    if a.ndim == 0:
        return a.reshape(1, 1)
    if a.ndim == 1:
        return a.reshape(-1, 1) if key.startswith("W_") and n == 1 else a.reshape(1, -1)
    return a


def gates_of(block, cell, layout, before, n):
    """(leaves: key -> leaf tensor of the weights as given, P: per-gate tensors W_g, U_g, b_g, b_hn)."""
    if layout == "notes":
        leaves = {k: leaf(_notes_shape(k, v, n)) for k, v in block.items()}
        m = leaves["W_" + ("f" if cell == "lstm" else "z")].shape[0]
        for g in (LSTM_GATES if cell == "lstm" else GRU_GATES):
            if f"b_{g}" not in leaves:  # a bias not given is zeros
                leaves[f"b_{g}"] = leaf(np.zeros(m))
        P = dict(leaves)
        if cell == "gru" and not before and "b_hn" not in P:
            P["b_hn"] = leaves["b_hn"] = leaf(np.zeros(P["W_z"].shape[0]))
        return leaves, P
    leaves = {k: leaf(np.asarray(v, dtype=float)) for k, v in block.items()}
    P = {}
    if layout == "pytorch":
        m = leaves["weight_hh"].shape[1]
        order = ("i", "f", "c", "o") if cell == "lstm" else ("r", "z", "h")
        for k, g in enumerate(order):
            blk = slice(k * m, (k + 1) * m)
            P[f"W_{g}"] = leaves["weight_ih"][blk]
            P[f"U_{g}"] = leaves["weight_hh"][blk]
            if cell == "gru" and g == "h":
                P["b_h"], P["b_hn"] = leaves["bias_ih"][blk], leaves["bias_hh"][blk]
            else:
                P[f"b_{g}"] = leaves["bias_ih"][blk] + leaves["bias_hh"][blk]
        return leaves, P
    m = leaves["recurrent_kernel"].shape[0]
    order = ("i", "f", "c", "o") if cell == "lstm" else ("z", "r", "h")
    bias = leaves["bias"]
    for k, g in enumerate(order):
        blk = slice(k * m, (k + 1) * m)
        P[f"W_{g}"] = leaves["kernel"][:, blk].T
        P[f"U_{g}"] = leaves["recurrent_kernel"][:, blk].T
        if bias.dim() == 2:  # gru reset_after: input and recurrent bias rows
            if g == "h":
                P["b_h"], P["b_hn"] = bias[0, blk], bias[1, blk]
            else:
                P[f"b_{g}"] = bias[0, blk] + bias[1, blk]
        else:
            P[f"b_{g}"] = bias[blk]
    return leaves, P


def _targets(problem, k):
    raw = problem["target"]
    every = problem.get("output", "last") == "every"
    act = (problem.get("output_layer") or {}).get("activation")
    loss = problem.get("loss")
    if act is None and problem.get("output_layer") is not None:
        act = {"bce": "sigmoid", "cross_entropy": "softmax" if k > 1 else "sigmoid"}.get(loss, "linear")
    items = raw if every else [raw]
    out = []
    for y in items:
        if not isinstance(y, list) and act == "softmax":
            out.append(np.eye(k)[int(y)])
        else:
            out.append(np.atleast_1d(np.asarray(y, dtype=float)))
    return out, act


def expected_of(problem):
    """The results of recurrent.md for one problem dict, by autograd."""
    cell = problem["kind"]
    X = np.asarray(problem["inputs"], dtype=float)
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    T, n = X.shape
    layout = problem.get("layout", "notes")
    conv = problem.get("convention", {"pytorch": "pytorch", "keras": "keras"}.get(layout, "cho"))
    reset_after = problem.get("reset_after", True)
    before = conv == "cho" or (conv == "keras" and not reset_after)
    znew = conv == "cho"
    blocks = problem["layers"] if "layers" in problem else [problem["weights"]]
    inits = problem.get("initial")
    if "layers" not in problem:
        inits = [inits]
    Xt = leaf(X)
    xs = [Xt[t] for t in range(T)]
    layers = []
    for j, block in enumerate(blocks):
        leaves, P = gates_of(block, cell, layout, before, len(xs[0]))
        m = P["U_" + ("f" if cell == "lstm" else "z")].shape[0]
        init = (inits[j] if inits is not None and j < len(inits) else None) or {}
        h0 = leaf(np.asarray(init.get("h", np.zeros(m)), dtype=float).reshape(m))
        c0 = leaf(np.asarray(init.get("c", np.zeros(m)), dtype=float).reshape(m)) if cell == "lstm" else None
        rec = lstm_forward(xs, P, h0, c0) if cell == "lstm" else gru_forward(xs, P, h0, before, znew)
        layers.append({"leaves": leaves, "rec": rec, "h0": h0, "c0": c0, "m": m})
        xs = [r["h"] for r in rec]
    top = layers[-1]
    H = [r["h"] for r in top["rec"]]
    expected = {}
    head = {}
    if "upstream" in problem:
        up = problem["upstream"]
        L = 0.0
        if "h" in up:
            G = np.asarray(up["h"], dtype=float).reshape(T, top["m"])
            L = sum((torch.tensor(G[t]) * H[t]).sum() for t in range(T))
        if "c" in up:
            L = L + (torch.tensor(np.asarray(up["c"], dtype=float)) * top["rec"][-1]["c"]).sum()
    else:
        ol = problem.get("output_layer")
        if ol is not None:
            V = leaf(np.atleast_2d(np.asarray(ol["V"], dtype=float)))
            k = V.shape[0]
            c = leaf(np.asarray(ol.get("c", np.zeros(k)), dtype=float).reshape(k))
            head = {"V": V, "c": c}
        else:
            k = top["m"]
        targets, act = _targets(problem, k)
        loss = problem.get("loss") or ({"sigmoid": "bce", "softmax": "cross_entropy"}.get(act, "half_sse"))
        head.update({"output": problem.get("output", "last"), "loss": loss, "act": act, "targets": targets})
        L, yhats = loss_of(H, head)
        expected["loss"] = float(L.detach())
        expected["y_hat"] = [out(y) for y in yhats] if head["output"] == "every" else out(yhats[0])
    L.backward()
    eta = problem.get("learning_rate")
    names = {"f": "delta_f", "i": "delta_i", "c": "delta_g", "o": "delta_o", "z": "delta_z", "r": "delta_r",
             "h": "delta_h"}
    fwd = ("f", "i", "g", "o", "c", "h") if cell == "lstm" else ("z", "r", "h_tilde", "h")
    per = []
    for lay in layers:
        e = {k: [out(r[k]) for r in lay["rec"]] for k in fwd}
        e["dL_dh"] = [out(r["h"].grad) for r in lay["rec"]]
        for g in (LSTM_GATES if cell == "lstm" else GRU_GATES):
            e[names[g]] = [out(r["a"][g].grad) for r in lay["rec"]]
        if cell == "lstm":
            e["dL_dc"] = [out(r["c"].grad) for r in lay["rec"]]
            e["grad_c0"] = out(lay["c0"].grad)
        e["grad_h0"] = out(lay["h0"].grad)
        updated = {}
        for k, v in lay["leaves"].items():
            e["grad_" + k] = out(v.grad)
            if eta is not None:
                updated[k] = out(v - eta * v.grad)
        if eta is not None:
            e["updated"] = updated
        per.append(e)
    if "layers" in problem:
        expected["layers"] = per
        expected["h"] = per[-1]["h"]
        if cell == "lstm":
            expected["c"] = per[-1]["c"]
        if eta is not None and head.get("V") is not None:
            expected["updated"] = {}
    else:
        expected.update(per[0])
    expected["grad_x"] = out(Xt.grad)
    for k in ("V", "c"):
        if head.get(k) is not None:
            expected["grad_" + k] = out(head[k].grad)
            if eta is not None:
                expected.setdefault("updated", {})[k] = out(head[k] - eta * head[k].grad)
    return expected


def check_with_module(problem, expected):
    """A pytorch-layout problem: torch.nn.LSTM / torch.nn.GRU with the weights copied in give
    the same outputs and .grad as the cells written out above (asserted here)."""
    cell = problem["kind"]
    blocks = problem["layers"] if "layers" in problem else [problem["weights"]]
    X = torch.tensor(np.asarray(problem["inputs"], dtype=float))
    n = X.shape[1]
    m = np.asarray(blocks[0]["weight_hh"]).shape[1]
    Mod = torch.nn.LSTM if cell == "lstm" else torch.nn.GRU
    mod = Mod(n, m, num_layers=len(blocks), dtype=DT)
    inits = problem.get("initial")
    if "layers" not in problem:
        inits = [inits] if inits else None
    with torch.no_grad():
        for j, b in enumerate(blocks):
            for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(mod, f"{k}_l{j}").copy_(torch.tensor(np.asarray(b[k], dtype=float)))
    h0 = torch.tensor(np.array([np.asarray((inits[j] if inits else {}).get("h", np.zeros(m)), float)
                                for j in range(len(blocks))]))
    if cell == "lstm":
        c0 = torch.tensor(np.array([np.asarray((inits[j] if inits else {}).get("c", np.zeros(m)), float)
                                    for j in range(len(blocks))]))
        Y, _ = mod(X, (h0, c0))
    else:
        Y, _ = mod(X, h0)
    hs = expected["layers"][-1]["h"] if "layers" in expected else expected["h"]
    assert np.allclose(Y.detach().numpy(), np.array(hs), atol=1e-13, rtol=0)
    G = torch.tensor(np.asarray(problem["upstream"]["h"], dtype=float))
    (G * Y).sum().backward()
    for j in range(len(blocks)):
        e = expected["layers"][j] if "layers" in expected else expected
        for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            g = getattr(mod, f"{k}_l{j}").grad.numpy()
            assert np.allclose(g, np.array(e["grad_" + k]), atol=1e-13, rtol=0), (k, j)


def loss_of(H, head):
    """The loss of recurrent.md: per step with a target, through the output layer (or ŷ = h)."""
    T = len(H)
    steps = list(range(T)) if head["output"] == "every" else [T - 1]
    total, yhats = 0.0, []
    for j, t in enumerate(steps):
        y = torch.tensor(np.asarray(head["targets"][j], dtype=float))
        if head.get("V") is not None:
            o = head["V"] @ H[t] + head["c"]
            act = head["act"]
            yh = {"linear": o, "tanh": torch.tanh(o), "sigmoid": torch.sigmoid(o),
                  "softmax": torch.softmax(o, 0)}[act]
        else:
            o, yh = None, H[t]
        name = head["loss"]
        if name == "half_sse":
            L = 0.5 * ((yh - y) ** 2).sum()
        elif name == "mse":
            L = ((yh - y) ** 2).mean()
        elif name == "bce":
            L = F.binary_cross_entropy_with_logits(o, y, reduction="sum")
        else:
            L = -(y * torch.log_softmax(o, 0)).sum() if head["act"] == "softmax" else -(y * torch.log(yh)).sum()
        total = total + L
        yhats.append(yh)
    return total, yhats


# -- cases ------------------------------------------------------------------------------------

def draw(rng, *shape, scale=0.8):
    return np.round(rng.uniform(-scale, scale, size=shape), 4)


def notes_weights(rng, gates, n, m, bhn=False):
    w = {}
    for g in gates:
        w[f"W_{g}"] = draw(rng, m, n).tolist()
        w[f"U_{g}"] = draw(rng, m, m).tolist()
        w[f"b_{g}"] = draw(rng, m).tolist()
    if bhn:
        w["b_hn"] = draw(rng, m).tolist()
    return w


def head_keys(rng, T, m, output, act, loss, k):
    """The problem keys of a target and an output layer with ``act`` and ``loss`` (act None: none)."""
    keys = {"output": output, "loss": loss}
    kk = k if act is not None else m
    steps = T if output == "every" else 1
    if act == "softmax":
        targets = [np.eye(kk)[rng.integers(kk)] for _ in range(steps)]
    elif loss == "bce":
        targets = [np.round(rng.uniform(0, 1, size=kk), 2) for _ in range(steps)]
    else:
        targets = [draw(rng, kk, scale=1.0) for _ in range(steps)]
    keys["target"] = [y.tolist() for y in targets] if output == "every" else targets[0].tolist()
    if act is not None:
        keys["output_layer"] = {"V": draw(rng, k, m).tolist(), "c": draw(rng, k).tolist(), "activation": act}
    return keys


def case(cid, problem):
    """A fixture case. Results that are mappings (updated) or lists of mappings (layers) go in
    ``expected_nested``, so that ``expected`` holds only numbers and arrays, as the generic
    comparison of tests/test_reference.py reads every fixture here."""
    expected = expected_of(problem)
    nested = {k: expected.pop(k) for k in ("updated", "layers") if k in expected}
    return {"id": cid, "problem": problem, "expected": expected, "expected_nested": nested}


GOMEZ = {"W_f": [[0.7, 0.45]], "W_i": [[0.95, 0.8]], "W_c": [[0.45, 0.25]], "W_o": [[0.6, 0.4]],
         "U_f": [[0.1]], "U_i": [[0.8]], "U_c": [[0.15]], "U_o": [[0.25]],
         "b_f": [0.15], "b_i": [0.65], "b_c": [0.2], "b_o": [0.1]}

HEADS = [(None, "half_sse"), (None, "mse"), ("linear", "half_sse"), ("linear", "mse"), ("tanh", "half_sse"),
         ("sigmoid", "bce"), ("sigmoid", "mse"), ("softmax", "cross_entropy"), ("softmax", "half_sse")]
GRU_MODES = {"cho": (True, {"convention": "cho"}),
             "pytorch": (False, {"convention": "pytorch"}),
             "keras_after": (False, {"convention": "keras"}),
             "keras_before": (True, {"convention": "keras", "reset_after": False})}
FILES = ("lstm_gomez_backward.yaml", "lstm_upstream.yaml", "lstm_softmax_every.yaml", "gru_keras_backward.yaml",
         "gru_pytorch_upstream.yaml", "lstm_pytorch_layout.yaml", "lstm_keras_layout.yaml", "gru_pytorch_layout.yaml",
         "gru_keras_layout.yaml", "lstm_stacked.yaml", "gru_stacked.yaml")


def cases():
    rng = np.random.default_rng(2024)
    out_ = [case("gomez", {"kind": "lstm", "inputs": [[1, 2], [0.5, 3]], "weights": GOMEZ,
                           "initial": {"h": [0.0], "c": [0.0]}, "output": "every", "target": [0.5, 1.25],
                           "loss": "half_sse", "learning_rate": 0.1})]
    for cell in ("lstm", "gru"):
        modes = [("", None)] if cell == "lstm" else list(GRU_MODES.items())
        for mname, mode in modes:
            for act, loss in HEADS:
                for output in ("last", "every"):
                    T, n, m, k = 3, 2, 2, 3 if act == "softmax" else 2
                    X = draw(rng, T, n, scale=1.5)
                    bhn = cell == "gru" and not mode[0]
                    w = notes_weights(rng, LSTM_GATES if cell == "lstm" else GRU_GATES, n, m, bhn)
                    init = {"h": draw(rng, m).tolist()}
                    if cell == "lstm":
                        init["c"] = draw(rng, m).tolist()
                    problem = {"kind": cell, "inputs": X.tolist(), "weights": w, "initial": init,
                               **(mode[1] if mode else {}), **head_keys(rng, T, m, output, act, loss, k),
                               "learning_rate": 0.1}
                    out_.append(case(f"{cell}{'_' + mname if mname else ''}_{act or 'noout'}_{loss}_{output}",
                                     problem))
            T, n, m = 4, 3, 3  # upstream gradients (a layer on top)
            X = draw(rng, T, n, scale=1.5)
            bhn = cell == "gru" and not mode[0]
            w = notes_weights(rng, LSTM_GATES if cell == "lstm" else GRU_GATES, n, m, bhn)
            init = {"h": draw(rng, m).tolist()}
            up = {"h": draw(rng, T, m).tolist()}
            if cell == "lstm":
                init["c"] = draw(rng, m).tolist()
                up["c"] = draw(rng, m).tolist()
            problem = {"kind": cell, "inputs": X.tolist(), "weights": w, "initial": init, **(mode[1] if mode else {}),
                       "upstream": up}
            out_.append(case(f"{cell}{'_' + mname if mname else ''}_upstream", problem))
    out_ += layout_cases(rng)
    out_ += stacked_cases(rng)
    return out_


def layout_cases(rng):
    """Weights as torch.nn.LSTM / torch.nn.GRU and Keras store them."""
    out_ = []
    for cell, G in (("lstm", 4), ("gru", 3)):
        T, n, m = 3, 2, 2
        for layout in ("pytorch", "keras"):
            for ra in ((True, False) if layout == "keras" and cell == "gru" else (None,)):
                X = draw(rng, T, n, scale=1.5)
                if layout == "pytorch":
                    w = {"weight_ih": draw(rng, G * m, n).tolist(), "weight_hh": draw(rng, G * m, m).tolist(),
                         "bias_ih": draw(rng, G * m).tolist(), "bias_hh": draw(rng, G * m).tolist()}
                else:
                    w = {"kernel": draw(rng, n, G * m).tolist(), "recurrent_kernel": draw(rng, m, G * m).tolist(),
                         "bias": (draw(rng, 2, G * m) if ra else draw(rng, G * m)).tolist()}
                init = {"h": draw(rng, m).tolist(), **({"c": draw(rng, m).tolist()} if cell == "lstm" else {})}
                base = {"kind": cell, "layout": layout, "inputs": X.tolist(), "weights": w, "initial": init}
                if ra is False:
                    base["reset_after"] = False
                name = f"{cell}_{layout}" + ("" if ra is None else f"_reset_after_{str(ra).lower()}")
                up = dict(base, upstream={"h": draw(rng, T, m).tolist()})
                c = case(name + "_upstream", up)
                if layout == "pytorch":
                    check_with_module(up, {**c["expected"], **c["expected_nested"]})
                out_.append(c)
                out_.append(case(name + "_softmax", dict(base, **head_keys(rng, T, m, "every", "softmax",
                                                                             "cross_entropy", 3),
                                                         learning_rate=0.1)))
    return out_


def stacked_cases(rng):
    """Two layers, m₁ = 3 then m₂ = 2."""
    out_ = []
    for cell, gates, G in (("lstm", LSTM_GATES, 4), ("gru", GRU_GATES, 3)):
        T, n, m1, m2 = 3, 2, 3, 2
        for layout in ("notes", "pytorch"):
            X = draw(rng, T, n, scale=1.5)
            if layout == "notes":
                layers = [notes_weights(rng, gates, n, m1, cell == "gru"), notes_weights(rng, gates, m1, m2, cell == "gru")]
                conv = {"convention": "pytorch"} if cell == "gru" else {}
            else:
                layers = [{"weight_ih": draw(rng, G * m, k).tolist(), "weight_hh": draw(rng, G * m, m).tolist(),
                           "bias_ih": draw(rng, G * m).tolist(), "bias_hh": draw(rng, G * m).tolist()}
                          for k, m in ((n, m2), (m2, m2))]
                conv = {"layout": "pytorch"}
            mm = (m1, m2) if layout == "notes" else (m2, m2)
            init = [{"h": draw(rng, m).tolist(), **({"c": draw(rng, m).tolist()} if cell == "lstm" else {})}
                    for m in mm]
            base = {"kind": cell, **conv, "inputs": X.tolist(), "layers": layers, "initial": init}
            up = dict(base, upstream={"h": draw(rng, T, mm[1]).tolist()})
            c = case(f"{cell}_stacked_{layout}_upstream", up)
            if layout == "pytorch":
                check_with_module(up, {**c["expected"], **c["expected_nested"]})
            out_.append(c)
            out_.append(case(f"{cell}_stacked_{layout}_sigmoid",
                             dict(base, **head_keys(rng, T, mm[1], "every", "sigmoid", "bce", 2), learning_rate=0.1)))
    return out_


def file_cases():
    import yaml
    root = HERE.parent.parent / "problems"
    return [case("file_" + name, yaml.safe_load((root / name).read_text(encoding="utf-8"))) for name in FILES
            if (root / name).exists()]


def main():
    data = {"about": "lstm/gru backward pass (recurrent.md) by torch autograd, float64; "
                     "written by tests/reference/make_gated.py", "torch": torch.__version__,
            "cases": cases() + file_cases()}
    (HERE / "gated.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"{len(data['cases'])} cases")


if __name__ == "__main__":
    main()
