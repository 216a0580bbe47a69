"""kind: iou — intersection over union (the Jaccard index) of boxes or of masks.

Boxes, as torchvision's box_iou (continuous coordinates, no +1 pixel): for a predicted box
R̂ = [x̂₁, ŷ₁, x̂₂, ŷ₂] and a true box R = [x₁, y₁, x₂, y₂],

    Δx = min(x̂₂, x₂) − max(x̂₁, x₁),  Δy = min(ŷ₂, y₂) − max(ŷ₁, y₁)
    I = max(0, Δx) max(0, Δy),  U = Â + A − I,  IoU = I / U

for every pair (predicted × truth). Masks (0/1 pixels): I = Σ_p R̂_p R_p, U = |R̂| + |R| − I.
Seed 004 writes the Jaccard similarity (R ∩ R̂)/(R ∪ R̂); R̂ is the prediction there too.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import ops
from ..given import Field, title

SUMMARY = "intersection over union (Jaccard) of boxes, every predicted × true pair, or of two 0/1 masks"
HEADLINE = "intersection over union of boxes or masks"

MAX_PAIRS = 10_000
MAX_PIXELS = 250_000
SHOW_BOXES = 4      # boxes whose corners and areas are worked in full; a table has them all
SHOW_GRID = 16      # masks up to this many rows and columns are drawn pixel by pixel

BOXES = "one box per row"
GIVEN = (
    title("My boxes"),
    Field("format", "choice", "corners: [x1, y1, x2, y2] | center: [cx, cy, w, h]", choices=("corners", "center"),
          default="corners", example="corners"),
    Field("predicted", "matrix", f"the predicted boxes R̂, {BOXES} (one box: a flat list)", shape=("P", "4"),
          instead=("predicted_mask", "truth_mask"), example=[[0, 0, 2, 2], [1, 1, 4, 3]],
          what="the predicted boxes, a list of [x1, y1, x2, y2] (or [cx, cy, w, h])"),
    Field("truth", "matrix", f"the true boxes R, {BOXES} (one box: a flat list)", shape=("T", "4"),
          instead=("predicted_mask", "truth_mask"), example=[[1, 1, 3, 3]],
          what="the true boxes, a list of [x1, y1, x2, y2] (or [cx, cy, w, h])"),
    Field("predicted_mask", "matrix", "the predicted region R̂ as a 0/1 mask", shape=("H", "W"), default=None,
          template="comment", example=[[0, 1, 1], [0, 1, 1], [0, 0, 0]],
          lead="or, instead of predicted and truth, two 0/1 masks of one shape:",
          what="a 0/1 mask, a matrix of zeros and ones (a list of rows)"),
    Field("truth_mask", "matrix", "the true region R as a 0/1 mask, the shape of predicted_mask", shape=("H", "W"),
          default=None, template="comment", example=[[0, 1, 1], [0, 1, 0], [0, 0, 0]],
          what="a 0/1 mask, a matrix of zeros and ones (a list of rows)"),
)


@dataclass
class Problem:
    masks: bool
    fmt: str = "corners"
    P: np.ndarray | None = None      # predicted boxes, as given (P × 4)
    T: np.ndarray | None = None      # true boxes, as given (T × 4)
    single_p: bool = False           # one predicted box given as a flat list: no row dimension
    single_t: bool = False
    pm: np.ndarray | None = None     # masks (H × W)
    tm: np.ndarray | None = None


def _flat(value) -> bool:
    return isinstance(value, list) and not any(isinstance(v, list) for v in value)


def _corners(B: np.ndarray, fmt: str) -> np.ndarray:
    if fmt == "corners":
        return B
    cx, cy, w, h = B.T
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)


def _boxes(r, key, fmt):
    what = r.fields[key].what
    single = _flat(r.raw(key, what=what))
    if single:  # one box, [x1, y1, x2, y2]: its results have no row for it
        B = r.vector(key, length=4, what="one box, 4 numbers " + ("[x1, y1, x2, y2]" if fmt == "corners"
                                                                  else "[cx, cy, w, h]"))[None, :]
    else:
        B = r.matrix(key, shape=(None, 4), what=what + " (4 numbers each)")
    for i, b in enumerate(B):
        where = (key,) if single else (key, i)
        name = "the box" if single else f"box {i + 1}"
        if fmt == "corners":
            for lo, hi, axis in ((0, 2, "x"), (1, 3, "y")):
                if b[hi] < b[lo]:
                    raise r.error(where, f"{name} has {axis}2 = {b[hi]:g} < {axis}1 = {b[lo]:g}: corners are "
                                         f"[x1, y1, x2, y2] with x1 ≤ x2 and y1 ≤ y2 (for [cx, cy, w, h] "
                                         "write format: center)")
        else:
            for k, word in ((2, "width w"), (3, "height h")):
                if b[k] < 0:
                    raise r.error(where, f"{name} has {word} = {b[k]:g} < 0: center boxes are [cx, cy, w, h] "
                                         "with w, h ≥ 0")
    return B, single


def _mask(r, key, shape=None):
    what = r.fields[key].what
    M = r.matrix(key, shape=shape, what=what if shape is None else
                 f"a 0/1 mask of the shape of predicted_mask, {shape[0]} × {shape[1]}")
    if M.size > MAX_PIXELS:
        raise r.error((key,), f"expected at most {MAX_PIXELS} pixels, got {M.shape[0]} × {M.shape[1]}")
    bad = np.argwhere((M != 0) & (M != 1))
    if len(bad):
        i, j = bad[0]
        raise r.error((key, int(i), int(j)), f"expected a 0/1 mask: row {i + 1}, column {j + 1} is {M[i, j]:g}")
    return M


def read(r, kind):
    fmt = r.field("format")
    if r.has("predicted_mask") or r.has("truth_mask"):
        for key in ("predicted", "truth"):
            if r.has(key):
                raise r.error((key,), f"give either boxes (predicted and truth) or masks (predicted_mask and "
                                      f"truth_mask), not both: '{key}' is a list of boxes")
        if r.has("format"):
            raise r.error(("format",), "format is for boxes; masks are given pixel by pixel")
        for key in ("predicted_mask", "truth_mask"):
            if not r.has(key):
                raise r.error((), f"missing key '{key}': masks come in pairs (predicted_mask and truth_mask)")
        pm = _mask(r, "predicted_mask")
        tm = _mask(r, "truth_mask", pm.shape)
        if not pm.any() and not tm.any():
            raise r.error(("truth_mask",), "both masks are empty (no pixel is 1): the union is empty and "
                                           "IoU = 0/0 is undefined")
        return Problem(True, pm=pm, tm=tm)
    P, single_p = _boxes(r, "predicted", fmt)
    T, single_t = _boxes(r, "truth", fmt)
    if len(P) * len(T) > MAX_PAIRS:
        raise r.error(("predicted",), f"expected at most {MAX_PAIRS} pairs of boxes, got {len(P)} × {len(T)}")
    cp, ct = _corners(P, fmt), _corners(T, fmt)
    ap = (cp[:, 2] - cp[:, 0]) * (cp[:, 3] - cp[:, 1])
    at = (ct[:, 2] - ct[:, 0]) * (ct[:, 3] - ct[:, 1])
    for i in np.flatnonzero(ap == 0):
        for k in np.flatnonzero(at == 0):
            raise r.error(("predicted",) if single_p else ("predicted", int(i)),
                          f"predicted box {i + 1} and true box {k + 1} both have zero area: their union is "
                          "empty and IoU = 0/0 is undefined")
    return Problem(False, fmt, P, T, single_p, single_t)


# -- the formulas, each stated once ------------------------------------------------------------

def pair(page, tex, a, b):
    """Two numbers side by side, for max and min."""
    return page.sym(tex, np.array([a, b], dtype=float))


def biggest(x):
    return ops.func(r"\max", np.max, x, elementwise=False)


def smallest(x):
    return ops.func(r"\min", np.min, x, elementwise=False)


def corners_of(page, hat: str, box):
    """[x1, y1, x2, y2] of a [cx, cy, w, h] box (hat: r"\\hat" for a predicted box, "" for a true one)."""
    h = (lambda s: rf"\hat{{{s}}}") if hat else (lambda s: s)
    cx, cy = page.sym(h("c") + "_{x}", box[0]), page.sym(h("c") + "_{y}", box[1])
    w, hh = page.sym(h("w"), box[2]), page.sym(h("h"), box[3])
    two = ops.const(2.0, "2", like=cx)
    return [page.step(None, h("x") + "_{1}", cx - w / two, "Corners from centre, width and height"),
            page.step(None, h("y") + "_{1}", cy - hh / two),
            page.step(None, h("x") + "_{2}", cx + w / two),
            page.step(None, h("y") + "_{2}", cy + hh / two)]


def area(page, tex, hat: str, c, label=""):
    h = (lambda s: rf"\hat{{{s}}}") if hat else (lambda s: s)
    x1, y1 = page.sym(h("x") + "_{1}", c[0]), page.sym(h("y") + "_{1}", c[1])
    x2, y2 = page.sym(h("x") + "_{2}", c[2]), page.sym(h("y") + "_{2}", c[3])
    return page.step(None, tex, (x2 - x1) * (y2 - y1), label, scalar=True)


def pair_iou(page, paths, names, cp, ct, a_hat, a):
    """Δx, Δy, I, U and IoU of one predicted box (corners cp, area a_hat) and one true box."""
    dx = page.step(None, r"\Delta x", smallest(pair(page, r"\hat{x}_{2}, x_{2}", cp[2], ct[2]))
                   - biggest(pair(page, r"\hat{x}_{1}, x_{1}", cp[0], ct[0])), "Overlap along x", scalar=True)
    dy = page.step(None, r"\Delta y", smallest(pair(page, r"\hat{y}_{2}, y_{2}", cp[3], ct[3]))
                   - biggest(pair(page, r"\hat{y}_{1}, y_{1}", cp[1], ct[1])), "Overlap along y", scalar=True)
    I = page.step(paths[0], names[0], biggest(pair(page, r"0, \Delta x", 0.0, ops.value(dx)))
                  * biggest(pair(page, r"0, \Delta y", 0.0, ops.value(dy))), "Intersection", scalar=True)
    U = page.step(paths[1], names[1], page.sym(names[3], a_hat) + page.sym(names[4], a) - I, "Union", scalar=True)
    iou = page.step(paths[2], names[2], I / U, "Intersection over union", scalar=True)
    return dx, dy, I, U, iou


# -- the working -------------------------------------------------------------------------------

def solve(p: Problem, sheet) -> None:
    if p.masks:
        return _solve_masks(p, sheet)
    fmt = p.fmt
    nP, nT = len(p.P), len(p.T)
    intro = sheet.section("Problem")
    layout = "[x₁, y₁, x₂, y₂] (corners)" if fmt == "corners" else "[cₓ, c_y, w, h] (centre, width, height)"
    intro.text(f"{nP} predicted box{'es' if nP > 1 else ''} R̂ and {nT} true box{'es' if nT > 1 else ''} R, "
               f"each written {layout}; the IoU of every predicted box with every true box "
               "(continuous coordinates: a box from 0 to 2 is 2 wide, as torchvision's box_iou counts).")
    intro.table(["box", "predicted"], [[i + 1, b] for i, b in enumerate(p.P)], title="Predicted boxes R̂")
    intro.table(["box", "true"], [[k + 1, b] for k, b in enumerate(p.T)], title="True boxes R")

    cp, ct = _corners(p.P, fmt), _corners(p.T, fmt)

    def rules(page):
        if fmt == "center":
            corners_of(page, r"\hat", p.P[0])
        area(page, r"\hat{A}", r"\hat", cp[0], "area of a predicted box")
        area(page, "A", "", ct[0], "area of a true box")
        a_hat = (cp[0, 2] - cp[0, 0]) * (cp[0, 3] - cp[0, 1])
        a = (ct[0, 2] - ct[0, 0]) * (ct[0, 3] - ct[0, 1])
        pair_iou(page, (None,) * 3, ("I", "U", r"\mathrm{IoU}", r"\hat{A}", "A"), cp[0], ct[0], a_hat, a)
        page.text("The intersection of two boxes is the box from the larger of their left (lower) edges to the "
                  "smaller of their right (upper) edges; a negative Δx or Δy means the boxes do not meet along "
                  "that axis, so I = 0.", "note")
    sheet.rules("Rules", rules)

    def name(base, i, k):
        idx = [str(v) for v, single in ((i, p.single_p), (k, p.single_t)) if not single]
        return base + (f"_{{{','.join(idx)}}}" if idx else "")

    def path(base, i, k):
        return (base,) + (() if p.single_p else (i,)) + (() if p.single_t else (k,))

    # corners (format center) and areas of every box
    areas = {}
    for side, boxes, corners, hat, word in (("p", p.P, cp, r"\hat", "predicted"), ("t", p.T, ct, "", "true")):
        sec = sheet.section(f"Areas of the {word} boxes")
        rows = []
        for i, (b, c) in enumerate(zip(boxes, corners), start=1):
            page = sec if i <= SHOW_BOXES else sheet.silent
            if fmt == "center":
                page.text(f"{word.capitalize()} box {i}: $[c_x, c_y, w, h]$ = {list(map(_num, b))}.")
                c = [ops.value(q).item() for q in corners_of(page, hat, b)]
            tex = (r"\hat{A}" if hat else "A") + f"_{{{i}}}"
            areas[side, i] = ops.value(area(page, tex, hat, c, f"{word.capitalize()} box {i}")).item()
            rows.append([i, corners[i - 1], areas[side, i]])
        if len(boxes) > SHOW_BOXES or fmt == "center":
            sec.table(["box", "[x₁, y₁, x₂, y₂]", "area"], rows,
                      title=f"Every {word} box" + (f" (the first {SHOW_BOXES} are worked above)"
                                                   if len(boxes) > SHOW_BOXES else ""))

    def names_of(i, k):
        return (name("I", i, k), name("U", i, k), name(r"\mathrm{IoU}", i, k),
                rf"\hat{{A}}_{{{i}}}", f"A_{{{k}}}")

    def paths_of(i, k):
        return path("intersection", i, k), path("union", i, k), path("iou", i, k)

    def working(i, k):
        def build(page):
            pair_iou(page, paths_of(i, k), names_of(i, k), cp[i - 1], ct[k - 1], areas["p", i], areas["t", k])
        return build

    rows = []
    for i in range(1, nP + 1):
        for k in range(1, nT + 1):
            sheet.section(f"Predicted box {i} {_box(p.P[i - 1])} and true box {k} {_box(p.T[k - 1])}", level=3,
                          detail=True, builder=working(i, k))
            dx, dy, I, U, iou = pair_iou(sheet.silent, paths_of(i, k), names_of(i, k), cp[i - 1], ct[k - 1],
                                         areas["p", i], areas["t", k])
            rows.append([i, k, float(dx), float(dy), float(I), float(U), float(iou)])

    out = sheet.section("Summary")
    out.table(["predicted", "true", r"\Delta x", r"\Delta y", "I", "U", r"\mathrm{IoU}"], rows,
              title="Every pair")
    if nP > 1 and nT > 1:
        M = np.array([r[6] for r in rows]).reshape(nP, nT)
        out.table(["IoU"] + [f"true {k}" for k in range(1, nT + 1)],
                  [[f"predicted {i + 1}"] + list(M[i]) for i in range(nP)], title="IoU matrix (predicted × true)")
    out.text("IoU is 1 for a perfect match and 0 for boxes that do not overlap.", "note")


def _box(b) -> str:
    return "[" + ", ".join(f"{v:g}" for v in b) + "]"


def _num(x):
    return int(x) if float(x).is_integer() else float(x)


def _solve_masks(p: Problem, sheet) -> None:
    H, W = p.pm.shape
    intro = sheet.section("Problem")
    intro.text(f"Two regions given as {H} × {W} masks: the prediction R̂ and the truth R (1 = in the region). "
               "The Jaccard similarity (seed 004) is IoU = |R ∩ R̂| / |R ∪ R̂|, the areas counted in pixels.")
    if H <= SHOW_GRID and W <= SHOW_GRID:
        mark = {(1, 1): "■", (1, 0): "R̂", (0, 1): "R", (0, 0): "·"}
        intro.table([""] + [str(c + 1) for c in range(W)],
                    [[str(r + 1)] + [mark[int(p.pm[r, c]), int(p.tm[r, c])] for c in range(W)] for r in range(H)],
                    title="The two masks", note="■: in both (the intersection); R̂: predicted only; R: true only; "
                                                 "·: in neither. The union is every pixel that is not ·.")
    page = sheet.section("Areas, intersection and union")
    Rh = page.sym(r"\hat{R}_{p}", p.pm.reshape(-1))  # pixel by pixel, p = 1 … H W (row by row)
    R = page.sym(r"R_{p}", p.tm.reshape(-1))
    few = p.pm.size <= 8  # a longer sum is not written out pixel by pixel (the grid above shows them)
    a_hat = page.step(None, r"|\hat{R}|", ops.total(Rh, "p"), "Predicted area (pixels)", scalar=True,
                      substitute=few)
    a = page.step(None, "|R|", ops.total(R, "p"), "True area (pixels)", scalar=True, substitute=few)
    I = page.step(("intersection",), "I", ops.total(Rh * R, "p"), "Intersection: pixels in both", scalar=True,
                  substitute=few)
    U = page.step(("union",), "U", a_hat + a - I, "Union: pixels in either (the intersection counted once)",
                  scalar=True)
    page.step(("iou",), r"\mathrm{IoU}", I / U, "Intersection over union", scalar=True)
    page.text("IoU is 1 for a perfect match and 0 for regions that do not overlap.", "note")
