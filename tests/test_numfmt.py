"""Numbers as a careful hand writes them (the rendering bugs handcalcs users report most)."""
import numpy as np
import pytest

from nnsolve import expr as E
from nnsolve.notation import to_unicode
from nnsolve.numfmt import NumberFormat
from nnsolve.render.formula import FormulaPrinter

U4 = NumberFormat(4, "unicode")
L4 = NumberFormat(4, "latex")


def sub(e, fmt=U4):
    return to_unicode(FormulaPrinter(fmt).substituted(e))


def test_negative_number_in_a_formula_gets_parentheses():
    assert sub(E.Sym("a", 0.5) * E.Sym("b", -1)) == "0.5 · (−1)"
    assert sub(E.Sym("a", 2) + E.Sym("b", -0.25)) == "2 + (−0.25)"
    assert FormulaPrinter(L4).substituted(E.Sym("a", 0.5) * E.Sym("b", -1)) == r"0.5 \cdot \left(-1\right)"
    # standing alone or as a function's whole argument it needs none
    assert U4.value(-1) == "−1"
    assert sub(E.sigma(E.Sym("v", -1.5))) == "σ(−1.5)"


@pytest.mark.parametrize("x", [3.2e-5, -4e-9, 1e-300, 4.9e-5])
def test_small_values_never_show_as_zero(x):
    for p in range(0, 8):
        text = NumberFormat(p, "unicode").scalar(x)
        assert text.strip("−0.") != "", (p, text)
        assert "×" in text or float(text.replace("−", "-")) != 0


def test_scientific_forms():
    assert U4.scalar(3.2e-5) == "3.200 × 10⁻⁵"
    assert L4.scalar(3.2e-5) == r"3.200 \times 10^{-5}"
    assert U4.scalar(-2.5e9) == "−2.500 × 10⁹"


def test_given_values_as_given_computed_values_at_precision():
    assert U4.scalar(0.7) == "0.7" and U4.scalar(2.0) == "2" and U4.scalar(-0.5) == "−0.5"
    assert U4.scalar(1 / (1 + np.exp(-1.75))) == "0.8520"
    assert U4.scalar(0.7 + 0.9 + 0.15) == "1.75"  # 1.7500000000000002: round-off is not shown
    assert NumberFormat(2).scalar(0.8519528) == "0.85" and NumberFormat(6).scalar(0.8519528) == "0.851953"
    assert NumberFormat(0).scalar(2.6) == "3"


def test_vectors_and_matrices_in_brackets():
    assert U4.value([1, -2, 0.5]) == "[1, −2, 0.5]"
    assert U4.value([[1, 2], [3, 4]]) == "[1, 2; 3, 4]"  # rows by ";" (issue #14: not a Python list)
    assert L4.value([1, 2]) == r"\begin{bmatrix}1 \\ 2\end{bmatrix}"
    assert U4.value([0.25]) == "0.25"  # a length-1 vector reads as a scalar


def test_precision_option_reaches_every_format(run_cli):
    for fmt in ("terminal", "markdown", "json"):
        code, out, _ = run_cli("run", "problems/mlp_published_222.yaml", "--precision", "7", "--format", fmt)
        assert code == 0 and "0.5932700" in out, fmt  # y₁ = σ(0.3775) = 0.59326999…
