"""`solid figure`: the paper's Figure 5, the lambda x T sensitivity grid, as a PNG.

Three panels (UAUC, NDCG@10, Recall@10; blue, green, orange as in the paper). In each, x is
lambda and y is T (1, 0.1, 0.01, 0.001 as categories), and every (lambda, T) sweep run we have
is a circle whose radius and colour depth grow with its test metric (scaled min..max within the
panel), labelled with the value. Cells without a run stay empty. Drawn with Pillow only.
"""

from __future__ import annotations

import math
from pathlib import Path

from solidcli._io import atomic_file
from solidcli.errors import SolidError
from solidcli.pipeline.table import (
    BACKBONE_NAMES,
    DATASET_NAMES,
    DSR_NAMES,
    SWEEP_VALUES,
    load_runs,
    sweep_runs,
)

PANELS = (("UAUC", (31, 119, 180)), ("NDCG@10", (44, 160, 44)), ("Recall@10", (255, 127, 14)))
CELL = 110  # pixels per grid category
MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 90, 30, 70, 70
HEADER = 50
R_MIN, R_MAX = 9, CELL // 2 - 6
INK, GRID, WHITE = (33, 33, 33), (215, 215, 215), (255, 255, 255)


def _mix(colour: tuple[int, int, int], depth: float) -> tuple[int, int, int]:
    """colour faded towards white: depth 0 is a light tint, 1 the full colour."""
    a = 0.25 + 0.75 * depth
    return tuple(round(255 + (c - 255) * a) for c in colour)


def _centre(draw, xy: tuple[float, float], text: str, font, fill) -> None:
    draw.text(xy, text, font=font, fill=fill, anchor="mm")


def _panel(draw, x0: int, y0: int, name: str, colour: tuple[int, int, int],
           values: dict[tuple[float, float], float], fonts: dict) -> None:
    n = len(SWEEP_VALUES)
    gx, gy = x0 + MARGIN_L, y0 + MARGIN_T  # top-left of the grid
    size = n * CELL
    _centre(draw, (gx + size / 2, y0 + MARGIN_T / 2), name, fonts["title"], INK)
    draw.rectangle((gx, gy, gx + size, gy + size), outline=INK, width=1)
    for i, v in enumerate(SWEEP_VALUES):
        c = i * CELL + CELL / 2
        draw.line((gx + c, gy + 1, gx + c, gy + size - 1), fill=GRID)
        draw.line((gx + 1, gy + c, gx + size - 1, gy + c), fill=GRID)
        _centre(draw, (gx + c, gy + size + 16), f"{v:g}", fonts["tick"], INK)
        draw.text((gx - 10, gy + c), f"{v:g}", font=fonts["tick"], fill=INK, anchor="rm")
    _centre(draw, (gx + size / 2, gy + size + 44), "lambda", fonts["axis"], INK)
    draw.text((x0 + 12, gy + size / 2), "T", font=fonts["axis"], fill=INK, anchor="lm")
    values = {k: v for k, v in values.items() if math.isfinite(v)}
    lo, hi = min(values.values(), default=0.0), max(values.values(), default=0.0)
    for (lam, t), v in sorted(values.items()):
        depth = (v - lo) / (hi - lo) if hi > lo else 1.0
        r = R_MIN + (R_MAX - R_MIN) * depth
        cx = gx + SWEEP_VALUES.index(lam) * CELL + CELL / 2
        cy = gy + SWEEP_VALUES.index(t) * CELL + CELL / 2
        fill = _mix(colour, depth)
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill, outline=colour, width=2)
        text = f"{v:.4f}"
        width = draw.textlength(text, font=fonts["value"])
        if width + 6 <= 2 * r:
            dark = sum(w * c for w, c in zip((0.299, 0.587, 0.114), fill, strict=True)) < 150
            _centre(draw, (cx, cy), text, fonts["value"], WHITE if dark else INK)
        else:  # too small to hold its label: write it just below the circle
            _centre(draw, (cx, cy + r + 9), text, fonts["value"], INK)


def run(metrics_root: Path, out_path: Path, dataset: str = "scientific",
        backbone: str = "sasrec", dsr: str = "duet") -> list[Path]:
    """Draw Figure 5 from the lambda x T sweep runs of one set-up into `out_path` (PNG)."""
    from PIL import Image, ImageDraw, ImageFont

    grid = sweep_runs(load_runs(metrics_root), dataset, backbone, dsr)
    if not grid:
        raise SolidError(f"no lambda x T sweep metrics under {metrics_root} (tagged scl runs "
                         f"{dataset}/{backbone}/{dsr}); run the pipeline's sweep first")
    fonts = {k: ImageFont.load_default(size=s)
             for k, s in (("title", 20), ("axis", 17), ("tick", 14), ("value", 13))}
    panel_w = MARGIN_L + len(SWEEP_VALUES) * CELL + MARGIN_R
    panel_h = MARGIN_T + len(SWEEP_VALUES) * CELL + MARGIN_B
    image = Image.new("RGB", (len(PANELS) * panel_w, HEADER + panel_h), WHITE)
    draw = ImageDraw.Draw(image)
    setup = (f"{DATASET_NAMES.get(dataset, dataset)}, {BACKBONE_NAMES.get(backbone, backbone)}"
             f" + {DSR_NAMES.get(dsr, dsr)}")
    _centre(draw, (image.width / 2, HEADER / 2 + 4),
            f"Figure 5: lambda x T sensitivity (ours: {setup}; test split)", fonts["title"], INK)
    for i, (name, colour) in enumerate(PANELS):
        values = {key: r.test[name] for key, r in grid.items()}
        _panel(draw, i * panel_w, HEADER, name, colour, values, fonts)
    out_path = Path(out_path)
    with atomic_file(out_path) as tmp:
        image.save(tmp, format="PNG")
    return [out_path]
