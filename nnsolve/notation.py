"""Notation in one place.

Symbols are written once, in a small LaTeX subset (``\\sigma``, ``\\delta_{j}``, ``W_f``,
``\\tilde{h}_{t}``, ``\\odot``); :func:`to_unicode` turns that into what the terminal shows,
and the Markdown renderer uses it as it is. The two can't drift apart.
"""
from __future__ import annotations

import re

GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "eta": "η",
    "theta": "θ", "lambda": "λ", "mu": "μ", "sigma": "σ", "tau": "τ", "phi": "φ",
    "varphi": "φ", "psi": "ψ", "omega": "ω", "Delta": "Δ", "Sigma": "Σ", "partial": "∂",
    "nabla": "∇", "pi": "π", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω", "xi": "ξ", "rho": "ρ", "kappa": "κ", "chi": "χ", "zeta": "ζ", "nu": "ν",
}
OPERATORS = {
    "odot": "⊙", "cdot": "·", "times": "×", "otimes": "⊗", "sum": "Σ", "to": "→",
    "leftarrow": "←", "rightarrow": "→", "geq": "≥", "leq": "≤", "neq": "≠", "approx": "≈",
    "ge": "≥", "le": "≤", "infty": "∞", "quad": "  ", "qquad": "    ", "ldots": "…", "dots": "…",
    "cdots": "⋯", "in": "∈", "lVert": "‖", "rVert": "‖", "|": "‖", "top": "ᵀ", ",": " ", ";": " ",
    "!": "", " ": " ", "prime": "′", "log": "log", "ln": "ln", "exp": "exp", "tanh": "tanh",
    "max": "max", "min": "min", "mid": "|", "hat": "", "tilde": "", "bar": "", "mathrm": "",
    "text": "", "operatorname": "", "mathbf": "", "boldsymbol": "", "left": "", "right": "",
    "big": "", "Big": "", "frac": "", "sqrt": "√", "pm": "±", "neg": "¬", "lfloor": "⌊",
    "rfloor": "⌋", "ell": "ℓ", "star": "⋆", "circ": "∘", "sim": "∼",
}
SUB = dict(zip("0123456789+-=()aehijklmnoprstuvx,−", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ,₋"))
SUP = dict(zip("0123456789+-=()nijTt−ᵀ′", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱʲᵀᵗ⁻ᵀ′"))
ACCENT = {"tilde": "\u0303", "hat": "\u0302", "bar": "\u0304"}
SUP_EXTRA = {"x": "ˣ"}  # e^{-x} -> e⁻ˣ (added for nnsolve derive)
SUP.update(SUP_EXTRA)


def _group(s: str, i: int) -> tuple[str, int]:
    """Read one argument at s[i]: {…} or a single char/command; return (text, next index)."""
    if i >= len(s):
        return "", i
    if s[i] == "{":
        depth, j = 1, i + 1
        while j < len(s) and depth:
            depth += {"{": 1, "}": -1}.get(s[j], 0)
            j += 1
        return s[i + 1:j - 1], j
    if s[i] == "\\":
        m = re.match(r"\\([A-Za-z]+|.)", s[i:])
        return m.group(0), i + len(m.group(0))
    return s[i], i + 1


def _script(text: str, table: dict, mark: str) -> str:
    u = to_unicode(text)
    if u and all(ch in table for ch in u):
        return "".join(table[ch] for ch in u)
    if mark == "^" and len(u) > 1:
        return f"^({u})"
    return f"{mark}{u}"


def to_unicode(tex: str) -> str:
    """Turn the LaTeX subset used by nnsolve into readable Unicode text."""
    out: list[str] = []
    i = 0
    cases = 0  # inside \begin{cases}: a & b \\ c & d -> { a, b; c, d }
    while i < len(tex):
        ch = tex[i]
        if ch == "\\":
            m = re.match(r"\\([A-Za-z]+|.)", tex[i:])
            name = m.group(1)
            i += len(m.group(0))
            if name in ("Delta", "partial", "nabla") and i < len(tex) and tex[i] == " ":
                i += 1  # a prefix operator binds to what follows: Δw, ∂L
            if name in ACCENT:
                arg, i = _group(tex, i)
                base = to_unicode(arg)
                out.append(base[:1] + ACCENT[name] + base[1:] if base else "")
            elif name == "frac":
                a, i = _group(tex, i)
                b, i = _group(tex, i)
                ua, ub = to_unicode(a), to_unicode(b)
                wrap = lambda u: u if re.fullmatch(r"[^\s+\-−*/()]+", u) else f"({u})"
                out.append(f"{wrap(ua)}/{wrap(ub)}")
            elif name == "sqrt":
                a, i = _group(tex, i)
                out.append(f"√({to_unicode(a)})")
            elif name in ("text", "mathrm", "operatorname", "mathbf", "boldsymbol"):
                a, i = _group(tex, i)
                out.append(to_unicode(a) if name != "text" else a)
            elif name in GREEK:
                out.append(GREEK[name])
            elif name in OPERATORS:
                out.append(OPERATORS[name])
            elif name in ("{", "}"):
                out.append(name)
            elif name in ("begin", "end") and tex.startswith("{cases}", i):
                # \begin{cases} a & \text{if } c \\ b & … \end{cases} -> { a, if c; b, … }
                i += len("{cases}")
                cases += 1 if name == "begin" else -1
                out.append("{ " if name == "begin" else " }")
            elif name == "\\" and cases:
                out.append("; ")
            else:
                out.append(name)
        elif ch == "_":
            arg, i = _group(tex, i + 1)
            out.append(_script(arg, SUB, "_"))
        elif ch == "^":
            arg, i = _group(tex, i + 1)
            out.append(_script(arg, SUP, "^"))
        elif ch in "{}":
            i += 1
        elif ch == "-":
            out.append("−")
            i += 1
        elif ch == "&" and cases:
            out.append(", ")
            i += 1
        elif ch == "~":
            out.append(" ")
            i += 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def layer(base: str, l) -> str:
    """A per-layer quantity in the notes' style: W^{(1)}."""
    return f"{base}^{{({l})}}"
