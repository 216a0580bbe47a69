"""The perceptron's working (issue #14): a training that cycles says so, with the epoch the
cycle starts and its period; a 2-D perceptron states its decision boundary. The expected
facts come from a perceptron traced here independently (plain Python, no nnsolve)."""
from nnsolve.core import solve_file, solve_text


def trace(w, b, samples, epochs, eta=1.0):
    """Rosenblatt's rule, y = 1 if v ≥ 0: the (epoch, sample) where the state before a
    sample first repeats an earlier one for the same sample, and the final weights."""
    seen, cycle = {}, None
    for epoch in range(1, epochs + 1):
        changed = False
        for k, (x, d) in enumerate(samples, start=1):
            key = (k, tuple(w), b)
            if key in seen and cycle is None:
                cycle = (seen[key], k, epoch - seen[key])
            seen.setdefault(key, epoch)
            v = sum(wi * xi for wi, xi in zip(w, x)) + b
            e = d - (1 if v >= 0 else 0)
            if e:
                changed = True
                w = [wi + eta * e * xi for wi, xi in zip(w, x)]
                b = b + eta * e
        if not changed:
            return w, b, epoch, None
    return w, b, epochs, cycle


XOR = [([0, 0], 0), ([0, 1], 1), ([1, 0], 1), ([1, 1], 0)]
AND = [([0, 0], 0), ([0, 1], 0), ([1, 0], 0), ([1, 1], 1)]


def texts(data):
    return [b["text"] for s in data["sections"] for b in s["blocks"] if "text" in b]


def test_xor_cycle_is_detected_and_named():
    w, b, _, cycle = trace([0, 0], 0, XOR, 10)
    first, k, period = cycle
    assert (first, k, period) == (2, 2, 1)  # by hand: before sample 2, epochs 2 and 3 both have w = [−1, 0], b = −1
    data = solve_file("problems/perceptron_xor.yaml").to_dict(full=True)
    said = [t for t in texts(data) if "repeat with period" in t]
    assert len(said) == 1
    assert f"From sample {k} of epoch {first} on the weights repeat with period {period} epoch " in said[0]
    assert "not linearly separable" in said[0]
    r = solve_file("problems/perceptron_xor.yaml").results
    assert r["weights"] == w and r["bias"] == b and r["converged"] is False  # results unchanged


def test_a_converging_training_has_no_cycle_note():
    data = solve_file("problems/perceptron_and.yaml").to_dict(full=True)
    assert not [t for t in texts(data) if "repeat with period" in t]


def test_and_states_its_decision_boundary():
    w, b, epochs, _ = trace([0, 0], 0, AND, 100)
    assert (w, b) == ([2, 1], -3)  # 2 x₁ + x₂ − 3 = 0
    data = solve_file("problems/perceptron_and.yaml").to_dict(full=True)
    line = [t for t in texts(data) if "Decision boundary" in t]
    assert len(line) == 1 and "$2 x_{1} + x_{2} - 3 = 0$" in line[0] and "separates the two classes" in line[0]


def test_boundary_signs_and_unit_coefficients():
    from nnsolve.kinds.perceptron import boundary
    assert boundary([1, -1], 0.5) == "x_{1} - x_{2} + 0.5 = 0"
    assert boundary([-0.5, 0], -1) == "-0.5 x_{1} - 1 = 0"
    assert boundary([0, 0], 0) == "0 = 0"


def test_three_inputs_state_no_line():
    data = solve_file("problems/perceptron_seed.yaml").to_dict(full=True)
    assert not [t for t in texts(data) if "Decision boundary" in t]


def test_cycle_of_two_epochs():
    # a problem whose state recurs every 2 epochs: traced independently first
    samples = [([2, 2], 1), ([0, 2], 1), ([1, 0], 0), ([1, 2], 0)]  # (1, 2) lies between (0, 2) and (2, 2)
    w, b, _, cycle = trace([0, 0], 0, samples, 30)
    first, k, period = cycle
    assert period == 2
    text = ("kind: perceptron\nweights: [0, 0]\nbias: 0\nlearning_rate: 1\nmax_epochs: 30\nsamples:\n"
            + "".join(f"  - {{x: {x}, d: {d}}}\n" for x, d in samples))
    data = solve_text(text).to_dict(full=True)
    said = [t for t in texts(data) if "repeat with period" in t]
    start = (f"sample {k} of " if k > 1 else "") + f"epoch {first}"
    assert said and f"From {start} on the weights repeat with period {period} epoch" in said[0]
