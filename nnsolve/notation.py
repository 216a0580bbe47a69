"""Notation in one place.

Symbols are written once, in a small LaTeX subset (``\\sigma``, ``\\delta_{j}``, ``W_f``,
``\\tilde{h}_{t}``, ``\\odot``); :func:`to_unicode` turns that into what the terminal shows,
and the Markdown renderer uses it as it is. The two can't drift apart.
"""
from __future__ import annotations

import re
from functools import lru_cache

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


def _script(text: str, table: dict, mark: str, plain: bool = False, misses: list | None = None) -> str:
    u = to_unicode(text, plain_scripts=plain, _misses=misses)
    if mark == "_" and plain:
        return f"_{u}" if len(u) <= 1 or re.fullmatch(r"[A-Za-z0-9]+", u) else f"_({u})"
    if u and all(ch in table for ch in u):
        return "".join(table[ch] for ch in u)
    if misses is not None and mark == "_":
        misses.append(u)
    if mark == "^" and len(u) > 1:
        return f"^({u})"
    return f"{mark}{u}"


@lru_cache(maxsize=8192)
def needs_plain_scripts(tex: str) -> bool:
    """Whether some subscript of TEX has no Unicode form (W_f: there is no subscript f), so
    that a line showing it writes all its subscripts with _ rather than mix the two."""
    misses: list = []
    to_unicode(tex, _misses=misses)
    return bool(misses)


def to_unicode(tex: str, plain_scripts: bool | None = None, _misses: list | None = None) -> str:
    """Turn the LaTeX subset used by nnsolve into readable Unicode text. ``plain_scripts``:
    write every subscript with _ (x_t, h_(t−1)), for a line where one of them has no
    Unicode form (see needs_plain_scripts)."""
    if _misses is None and isinstance(tex, str):
        return _cached(tex, bool(plain_scripts))
    return _to_unicode(tex, plain_scripts, _misses)


@lru_cache(maxsize=16384)
def _cached(tex: str, plain: bool) -> str:
    return _to_unicode(tex, plain, None)


def _to_unicode(tex: str, plain_scripts: bool | None = None, _misses: list | None = None) -> str:
    plain = bool(plain_scripts)
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
                base = to_unicode(arg, plain_scripts, _misses)
                out.append(base[:1] + ACCENT[name] + base[1:] if base else "")
            elif name == "frac":
                a, i = _group(tex, i)
                b, i = _group(tex, i)
                ua, ub = to_unicode(a, plain_scripts, _misses), to_unicode(b, plain_scripts, _misses)
                wrap = lambda u: u if re.fullmatch(r"[^\s+\-−*/()]+", u) else f"({u})"
                out.append(f"{wrap(ua)}/{wrap(ub)}")
            elif name == "sqrt":
                a, i = _group(tex, i)
                ua = to_unicode(a, plain_scripts=plain_scripts, _misses=_misses)
                out.append(f"√{ua}" if re.fullmatch(r"[\w.]+", ua) else f"√({ua})")
            elif name in ("text", "mathrm", "operatorname", "mathbf", "boldsymbol"):
                a, i = _group(tex, i)
                out.append(to_unicode(a, plain_scripts, _misses) if name != "text" else a)
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
            out.append(_script(arg, SUB, "_", plain, _misses))
        elif ch == "^":
            arg, i = _group(tex, i + 1)
            out.append(_script(arg, SUP, "^", plain, None))
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
