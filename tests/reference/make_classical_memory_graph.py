"""PyTorch reference values for kind: competitive, kind: nearest_neighbour and kind: graph
(classical.md), written as tests/reference/classical_memory_graph.json.

Like make_reference.py, run it by hand in the separate torch environment (never the project's
venv); its output is committed and the tests need no torch::

    /work/torchvenv/bin/python tests/reference/make_classical_memory_graph.py

Everything is float64; nothing here imports nnsolve. Each case is ``{"id", "problem",
"expected", "objects"}``: ``problem`` the dict of the YAML file nnsolve reads, ``expected``
the results that tests/test_reference.py compares generically (numbers, lists, labels), and
``objects`` the results that are mappings or lists of mappings (graph: ``gradients`` and
``nodes``; competitive: ``history``), compared by tests/test_classical_memory_graph.py.

- graph: each expression is written here a second time, by hand, as torch operations, one
  tensor per node of the graph in forward order (a subexpression written twice in the text is
  one tensor used twice, as nnsolve makes it one node); every variable is a leaf with
  requires_grad=True, every node keeps its gradient (retain_grad), and one backward() of the
  output gives ∂a/∂node and ∂a/∂variable. A loss L(d, y) is the library's (target first):
  ½(d − y)², (d − y)², −[d ln y + (1 − d) ln(1 − y)], −d ln y.
- competitive: the loop written with torch: scores ‖x − w_j‖ (√ of the sum of squares) or
  w_j·x, the winner by torch.argmin / torch.argmax (the first of a tie), every row with
  |j − c| ≤ radius moved by η (x − w_j); the clusters with the final weights.
- nearest_neighbour: distances √Σ(z − x_i)² or Σ|z − x_i| to every stored sample, the k
  nearest by a stable torch.sort, a majority vote (a tie to the class of the nearest).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
DT = torch.float64
torch.set_default_dtype(DT)


def num(x) -> float:
    return float(x.detach().reshape(-1)[0])


# -- graph ---------------------------------------------------------------------------------------

def half_sse(d, y):
    return 0.5 * (d - y) ** 2


def mse(d, y):
    return (d - y) ** 2


def bce(d, y):
    return -(d * torch.log(y) + (1 - d) * torch.log(1 - y))


def cross_entropy(d, y):
    return -(d * torch.log(y))


def g_seed(x, w, b):
    u = w * x
    v = u + b
    a = torch.relu(v)
    return [u, v, a]


def g_sharing(x, w_1, y):
    u = w_1 * x
    v = torch.relu(u)
    p = torch.tanh(u)
    q = v + p
    r = torch.sigmoid(q)
    L = half_sse(y, r)
    return [u, v, p, q, r, L]


def g_fully_connected(x, w_1, w_2, u_11, u_12, u_21, u_22, v_1, v_2, y):
    z_1 = w_1 * x
    a_1 = torch.sigmoid(z_1)
    m_11 = u_11 * a_1
    z_2 = w_2 * x
    a_2 = torch.sigmoid(z_2)
    m_12 = u_12 * a_2
    z_3 = m_11 + m_12
    a_3 = torch.sigmoid(z_3)
    m_31 = v_1 * a_3
    m_21 = u_21 * a_1
    m_22 = u_22 * a_2
    z_4 = m_21 + m_22
    a_4 = torch.sigmoid(z_4)
    m_42 = v_2 * a_4
    z_5 = m_31 + m_42
    a = torch.sigmoid(z_5)
    J = half_sse(y, a)
    return [z_1, a_1, m_11, z_2, a_2, m_12, z_3, a_3, m_31, m_21, m_22, z_4, a_4, m_42, z_5, a, J]


def g_logistic_bce(x_1, x_2, w_1, w_2, b, y):
    u = w_1 * x_1
    v = w_2 * x_2
    p = u + v
    q = p + b
    r = torch.sigmoid(q)
    L = bce(y, r)
    return [u, v, p, q, r, L]


def g_polynomial(x):
    u = x * x
    v = 3 * x
    p = u + v
    q = 2 / x
    a = p - q
    return [u, v, p, q, a]


def g_functions(x, y):
    u = -x
    v = torch.exp(u)
    p = torch.log(y)
    q = v * p
    r = x * y
    s = torch.sqrt(r)
    t = q + s
    g = x - y
    h = torch.abs(g)
    a = t - h
    return [u, v, p, q, r, s, t, g, h, a]


def g_constants(x, w, b):
    u = w * x
    v = u + b
    p = v ** 3
    q = p / (1 + math.e ** 2)
    a = q + math.pi
    return [u, v, p, q, a]


def g_activations(x):
    u = F.gelu(x)
    v = -x
    p = F.leaky_relu(v, 0.01)
    q = u + p
    r = F.softplus(x)
    s = q + r
    t = F.silu(x)
    g = s + t
    h = F.elu(v)
    k = g + h
    m = torch.sigmoid(x)
    n = torch.tanh(x)
    z = m * n
    a = k + z
    return [u, v, p, q, r, s, t, g, h, k, m, n, z, a]


def g_losses(x, w, d):
    u = w * x
    v = torch.tanh(u)
    p = mse(d, v)
    q = torch.sigmoid(u)
    r = cross_entropy(d, q)
    a = p + r
    return [u, v, p, q, r, a]


def g_square_sub(x, y):
    # (x - y)**2 / x - x: the difference x − y is one node, squared; x feeds three nodes
    u = x - y
    v = u ** 2
    p = v / x
    a = p - x
    return [u, v, p, a]


GRAPHS = [
    ("seed relu", "relu(w*x + b)", g_seed, {"x": 3, "w": 2, "b": 1}, ["w", "b"]),
    ("relu at its kink", "relu(w*x + b)", g_seed, {"x": 1, "w": 1, "b": -1}, None),
    ("weight sharing", "half_sse(y, sigmoid(relu(w_1*x) + tanh(w_1*x)))", g_sharing,
     {"x": 1.5, "w_1": 0.4, "y": 1}, ["w_1"]),
    ("fully connected",
     "half_sse(y, sigmoid(v_1*sigmoid(u_11*sigmoid(w_1*x) + u_12*sigmoid(w_2*x)) + "
     "v_2*sigmoid(u_21*sigmoid(w_1*x) + u_22*sigmoid(w_2*x))))", g_fully_connected,
     {"x": 1, "w_1": 0.5, "w_2": -0.3, "u_11": 0.8, "u_12": -0.4, "u_21": 0.3, "u_22": 0.9,
      "v_1": 1.2, "v_2": -0.7, "y": 1}, None),
    ("logistic bce", "bce(y, sigmoid(w_1*x_1 + w_2*x_2 + b))", g_logistic_bce,
     {"x_1": 2, "x_2": -1, "w_1": 0.3, "w_2": 0.8, "b": 0.1, "y": 1}, None),
    ("polynomial", "x*x + 3*x - 2/x", g_polynomial, {"x": 2}, None),
    ("exp log sqrt abs", "exp(-x)*log(y) + sqrt(x*y) - abs(x - y)", g_functions, {"x": 1.5, "y": 2.5}, None),
    ("constants", "(w*x + b)^3 / (1 + e^2) + pi", g_constants, {"x": 1, "w": 0.5, "b": -0.2}, None),
    ("activations", "gelu(x) + leaky_relu(-x) + softplus(x) + silu(x) + elu(-x) + sigmoid(x)*tanh(x)",
     g_activations, {"x": 0.3}, None),
    ("losses with the target's gradient", "mse(d, tanh(w*x)) + cross_entropy(d, sigmoid(w*x))", g_losses,
     {"x": 0.7, "w": -1.3, "d": 0.8}, None),
    ("a node and a variable used several times", "(x - y)**2 / x - x", g_square_sub, {"x": 1.7, "y": -0.4}, None),
]


def graph_case(name, text, fn, values, wrt, tag=""):
    leaves = {k: torch.tensor([float(v)], dtype=DT, requires_grad=True) for k, v in values.items()}
    nodes = fn(**leaves)
    for n in nodes:
        n.retain_grad()
    nodes[-1].backward()
    grads = {k: num(t.grad) if t.grad is not None else 0.0 for k, t in leaves.items()}
    problem = {"kind": "graph", "expression": text, "values": values}
    if wrt:
        problem["wrt"] = wrt
    want = wrt or list(values)
    return {"id": f"graph: {name}{tag}", "problem": problem,
            "expected": {"value": num(nodes[-1])},
            "objects": {"gradients": {k: grads[k] for k in want},
                        "nodes": [{"value": num(n), "grad": num(n.grad)} for n in nodes]}}


def graph_cases():
    out = [graph_case(*g) for g in GRAPHS]
    rng = np.random.default_rng(3003)
    for name, text, fn, values, wrt in GRAPHS:
        if name in ("relu at its kink", "seed relu"):
            continue
        for rep in range(2):
            v = {k: round(float(rng.uniform(-2, 2)), 6) for k in values}
            for k in ("y", "d"):
                if k in v:
                    v[k] = round(float(rng.uniform(0.05, 0.95)), 6)
            if name == "exp log sqrt abs":
                v = {k: round(float(rng.uniform(0.2, 3)), 6) for k in values}
            if name == "polynomial" or name == "a node and a variable used several times":
                v["x"] = round(float(rng.uniform(0.5, 2)), 6) * (1 if rep == 0 else -1)
            out.append(graph_case(name, text, fn, v, wrt, f" (random {rep + 1})"))
    return out


# -- competitive -----------------------------------------------------------------------------------

def competitive_case(name, problem):
    W = torch.tensor(problem["weights"], dtype=DT)
    X = torch.tensor(problem["samples"], dtype=DT)
    eta = float(problem["learning_rate"])
    dist = problem.get("similarity", "distance") == "distance"
    radius = int(problem.get("radius", 0))
    k = W.shape[0]

    def scores(x, W):
        return torch.sqrt(((x - W) ** 2).sum(dim=1)) if dist else W @ x

    history = []
    for epoch in range(1, int(problem.get("epochs", 1)) + 1):
        for s, x in enumerate(X, start=1):
            sc = scores(x, W)
            c = int(torch.argmin(sc) if dist else torch.argmax(sc))
            W = W.clone()
            for j in range(k):
                if abs(j - c) <= radius:
                    W[j] = W[j] + eta * (x - W[j])
            history.append({"epoch": epoch, "sample": s, "scores": sc.tolist(), "winner": c + 1,
                            "weights": W.tolist()})
    clusters = []
    for x in X:
        sc = scores(x, W)
        clusters.append(int(torch.argmin(sc) if dist else torch.argmax(sc)) + 1)
    return {"id": f"competitive: {name}", "problem": {"kind": "competitive", **problem},
            "expected": {"weights": W.tolist(), "clusters": clusters},
            "objects": {"history": history}}


def competitive_cases():
    out = [
        competitive_case("the spec's example", {"weights": [[0.2, 0.6], [0.8, 0.4]], "learning_rate": 0.5,
                                                "similarity": "distance", "radius": 0, "epochs": 1,
                                                "samples": [[0.1, 0.9], [0.9, 0.2]]}),
        competitive_case("Problems on SOM", {"weights": [[0.2, 0.3, 0.15, 0.3], [0.3, 0.25, 0.2, 0.2]],
                                             "learning_rate": 0.5,
                                             "samples": [[1, 0, 0, 1], [0, 1, 1, 0], [0, 1, 1, 1], [1, 0, 1, 1]]}),
        competitive_case("1-D map, radius 1", {"weights": [[0.1, 0.1], [0.5, 0.2], [0.9, 0.6], [0.3, 0.9]],
                                               "learning_rate": 0.4, "radius": 1, "epochs": 2,
                                               "samples": [[1, 1], [0, 0.2], [0.6, 0.4]]}),
        competitive_case("dot products", {"weights": [[1, 0], [0.6, 0.8], [0, 1]], "learning_rate": 0.5,
                                          "similarity": "dot", "epochs": 2,
                                          "samples": [[0.8, 0.6], [0.28, 0.96], [0.96, -0.28]]}),
    ]
    rng = np.random.default_rng(1530)
    for rep, (k, n, radius, sim, epochs) in enumerate([(5, 3, 2, "distance", 3), (4, 2, 0, "dot", 2),
                                                       (6, 4, 1, "distance", 2), (3, 5, 1, "dot", 3)]):
        problem = {"weights": np.round(rng.uniform(-1, 1, (k, n)), 4).tolist(),
                   "learning_rate": round(float(rng.uniform(0.1, 0.9)), 3), "similarity": sim, "radius": radius,
                   "epochs": epochs, "samples": np.round(rng.uniform(-1, 1, (5, n)), 4).tolist()}
        out.append(competitive_case(f"random {rep + 1}", problem))
    return out


# -- nearest neighbour ------------------------------------------------------------------------------

def nn_case(name, problem):
    X = torch.tensor([s["x"] for s in problem["samples"]], dtype=DT)
    labels = [s["d"] for s in problem["samples"]]
    Z = torch.tensor(problem["queries"], dtype=DT)
    k = int(problem.get("k", 1))
    manhattan = problem.get("metric", "euclidean") == "manhattan"
    distances, neighbours, predictions = [], [], []
    for z in Z:
        d = (z - X).abs().sum(dim=1) if manhattan else torch.sqrt(((z - X) ** 2).sum(dim=1))
        order = torch.sort(d, stable=True).indices[:k].tolist()
        votes = {}
        for i in order:
            votes[labels[i]] = votes.get(labels[i], 0) + 1
        top = max(votes.values())
        pred = next(labels[i] for i in order if votes[labels[i]] == top)
        distances.append(d.tolist())
        neighbours.append([i + 1 for i in order])
        predictions.append(pred)
    return {"id": f"nearest_neighbour: {name}", "problem": {"kind": "nearest_neighbour", **problem},
            "expected": {"distances": distances, "neighbours": neighbours, "prediction": predictions},
            "objects": {}}


def nn_cases():
    out = [
        nn_case("the spec's example", {"samples": [{"x": [1, 2], "d": "A"}, {"x": [3, 4], "d": "B"},
                                                   {"x": [1, 1], "d": "A"}],
                                       "queries": [[2, 2], [4, 4]], "k": 1, "metric": "euclidean"}),
        nn_case("k = 3, Manhattan, ties", {"samples": [{"x": [0, 0], "d": 1}, {"x": [2, 0], "d": 2},
                                                       {"x": [0, 3], "d": 3}, {"x": [3, 3], "d": 2},
                                                       {"x": [1, 1], "d": 3}, {"x": [4, 1], "d": 1}],
                                           "queries": [[1, 0], [2, 2], [4, 0]], "k": 3, "metric": "manhattan"}),
    ]
    rng = np.random.default_rng(142)
    for rep, (N, n, k, metric) in enumerate([(8, 2, 3, "euclidean"), (10, 3, 5, "manhattan"),
                                             (6, 4, 2, "euclidean")]):
        samples = [{"x": np.round(rng.uniform(-3, 3, n), 3).tolist(), "d": str(rng.choice(["cat", "dog", "fox"]))}
                   for _ in range(N)]
        queries = np.round(rng.uniform(-3, 3, (4, n)), 3).tolist()
        out.append(nn_case(f"random {rep + 1}", {"samples": samples, "queries": queries, "k": k,
                                                 "metric": metric}))
    return out


def main():
    cases = graph_cases() + competitive_cases() + nn_cases()
    data = {"about": "kind: graph (torch autograd, float64), competitive and nearest_neighbour (the loops in "
                     "torch); made by tests/reference/make_classical_memory_graph.py",
            "torch": torch.__version__, "cases": cases}
    path = HERE / "classical_memory_graph.json"
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path} ({len(cases)} cases)")


if __name__ == "__main__":
    main()
