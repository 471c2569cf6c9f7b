"""APP-6 symbols in the PNG/PDF brief: the COP's milsymbol SVGs drawn with matplotlib.

The SVGs of every SIDC of :mod:`cimic_geo.maps.symbols` are rendered once by milsymbol (the same
library the COP uses in the browser) into ``cimic_geo/maps/app6_symbols.json``
(``python -m cimic_geo.maps.assets symbols``). This module turns each SVG (paths with
M/L/H/V/C/A/Z commands, circles, text, translate/scale groups: what milsymbol writes) into
matplotlib paths once, and draws a symbol at many points with one ``scatter`` per part: every
part's path carries the symbol's full bounding square as invisible move-to points, so matplotlib's
marker normalisation scales all parts of a symbol alike and they stay aligned.

The file is the package's own (not user data); it is parsed with the standard XML parser.
"""

from __future__ import annotations

import functools
import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.font_manager import FontProperties
from matplotlib.path import Path
from matplotlib.textpath import TextPath

from cimic_geo.maps.symbols import SYMBOL_FILE

_NUM = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_TOKEN = re.compile(r"[MmLlHhVvCcAaZz]|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_ARGS = {"M": 2, "L": 2, "H": 1, "V": 1, "C": 6, "A": 7, "Z": 0}


@dataclass(frozen=True)
class SymbolPart:
    """One filled and/or stroked path of a symbol (SVG units, y up)."""

    path: Path
    fill: str | None
    stroke: str | None
    width: float


def _colour(value: str | None) -> str | None:
    if not value or value == "none":
        return None
    m = re.fullmatch(r"rgb\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\)", value.strip())
    if m:
        return "#{:02x}{:02x}{:02x}".format(*(int(v) for v in m.groups()))
    return value


def _arc(p0: np.ndarray, rx: float, ry: float, phi_deg: float, large: bool, sweep: bool,
         p1: np.ndarray) -> list[np.ndarray]:
    """Points along an SVG elliptical arc from p0 to p1 (endpoint parameterisation, SVG 1.1 F.6.5)."""
    if rx == 0 or ry == 0 or np.allclose(p0, p1):
        return [p1]
    phi = math.radians(phi_deg)
    c, s = math.cos(phi), math.sin(phi)
    dx, dy = (p0 - p1) / 2
    x1, y1 = c * dx + s * dy, -s * dx + c * dy
    rx, ry = abs(rx), abs(ry)
    lam = x1**2 / rx**2 + y1**2 / ry**2
    if lam > 1:
        rx, ry = rx * math.sqrt(lam), ry * math.sqrt(lam)
    num = rx**2 * ry**2 - rx**2 * y1**2 - ry**2 * x1**2
    den = rx**2 * y1**2 + ry**2 * x1**2
    k = math.sqrt(max(num / den, 0.0)) * (-1 if large == sweep else 1)
    cx1, cy1 = k * rx * y1 / ry, -k * ry * x1 / rx
    centre = np.array([c * cx1 - s * cy1, s * cx1 + c * cy1]) + (p0 + p1) / 2
    ang = lambda ux, uy: math.atan2(uy, ux)  # noqa: E731
    t0 = ang((x1 - cx1) / rx, (y1 - cy1) / ry)
    t1 = ang((-x1 - cx1) / rx, (-y1 - cy1) / ry)
    dt = t1 - t0
    if sweep and dt < 0:
        dt += 2 * math.pi
    elif not sweep and dt > 0:
        dt -= 2 * math.pi
    ts = t0 + dt * np.linspace(0, 1, max(4, int(abs(dt) / (math.pi / 12)) + 1))[1:]
    return [centre + np.array([c * rx * math.cos(t) - s * ry * math.sin(t),
                               s * rx * math.cos(t) + c * ry * math.sin(t)]) for t in ts]


def parse_path(d: str) -> Path:
    """A matplotlib Path (SVG coordinates) from an SVG path's ``d`` (M L H V C A Z, absolute or relative)."""
    tokens = _TOKEN.findall(d)
    verts: list[np.ndarray] = []
    codes: list[int] = []
    cur, start = np.zeros(2), np.zeros(2)
    i, cmd = 0, ""
    while i < len(tokens):
        if tokens[i].isalpha():
            cmd = tokens[i]
            i += 1
            if cmd in "Zz":
                verts.append(start.copy())
                codes.append(Path.CLOSEPOLY)
                cur = start.copy()
                continue
        elif not cmd:
            raise ValueError(f"path data starts with a number: {d[:30]!r}")
        up, rel = cmd.upper(), cmd.islower()
        n = _ARGS[up]
        args = [float(t) for t in tokens[i:i + n]]
        i += n
        base = cur if rel else np.zeros(2)
        if up == "M":
            cur = base + args
            start = cur.copy()
            verts.append(cur.copy())
            codes.append(Path.MOVETO)
            cmd = "l" if rel else "L"  # further pairs are line-tos
        elif up == "L":
            cur = base + args
            verts.append(cur.copy())
            codes.append(Path.LINETO)
        elif up in "HV":
            axis = 0 if up == "H" else 1
            cur = cur.copy()
            cur[axis] = (cur[axis] if rel else 0.0) + args[0]
            verts.append(cur.copy())
            codes.append(Path.LINETO)
        elif up == "C":
            pts = [base + args[0:2], base + args[2:4], base + args[4:6]]
            verts.extend(pts)
            codes.extend([Path.CURVE4] * 3)
            cur = pts[2]
        elif up == "A":
            end = base + args[5:7]
            for p in _arc(cur, args[0], args[1], args[2], bool(args[3]), bool(args[4]), end):
                verts.append(p)
                codes.append(Path.LINETO)
            cur = end
    return Path(np.array(verts, dtype=float).reshape(-1, 2), codes)


def _transform(attr: str | None) -> np.ndarray:
    m = np.eye(3)
    for name, args in re.findall(r"(translate|scale)\(([^)]*)\)", attr or ""):
        v = [float(x) for x in _NUM.findall(args)]
        if name == "translate":
            t = np.array([[1, 0, v[0]], [0, 1, v[1] if len(v) > 1 else 0.0], [0, 0, 1]])
        else:
            sy = v[1] if len(v) > 1 else v[0]
            t = np.array([[v[0], 0, 0], [0, sy, 0], [0, 0, 1]])
        m = m @ t
    return m


def _apply(path: Path, m: np.ndarray) -> Path:
    v = path.vertices @ m[:2, :2].T + m[:2, 2]
    return Path(v, path.codes)


def _text_path(el: ET.Element) -> Path:
    size = float(el.get("font-size", "20"))
    prop = FontProperties(family="DejaVu Sans", weight="bold" if el.get("font-weight") == "bold" else "normal")
    tp = TextPath((0, 0), el.text or "", size=size, prop=prop)
    ext = tp.get_extents()
    x, y = float(el.get("x", "0")), float(el.get("y", "0"))
    dx = {"middle": -ext.width / 2, "end": -ext.width}.get(el.get("text-anchor", ""), 0.0) - ext.x0
    dy = ext.height / 2 if el.get("dominant-baseline") == "middle" else 0.0
    # TextPath is y-up; in SVG (y-down) the glyphs are flipped about the baseline
    v = tp.vertices * [1, -1] + [x + dx, y + dy]
    return Path(v, tp.codes)


def _circle(el: ET.Element) -> Path:
    c = Path.circle((float(el.get("cx", "0")), float(el.get("cy", "0"))), float(el.get("r", "0")))
    return c


def parse_svg(svg: str) -> tuple[list[SymbolPart], tuple[float, float, float, float]]:
    """The parts of a milsymbol SVG (y flipped up) and its view box (x0, y0, width, height)."""
    root = ET.fromstring(svg)
    vb = tuple(float(v) for v in root.get("viewBox", "0 0 100 100").split())
    parts: list[SymbolPart] = []

    def walk(el: ET.Element, m: np.ndarray, style: dict[str, str]) -> None:
        tag = el.tag.rsplit("}", 1)[-1]
        m = m @ _transform(el.get("transform"))
        st = {**style, **{k: el.get(k) for k in ("fill", "stroke", "stroke-width") if el.get(k) is not None}}
        path = None
        if tag == "path" and el.get("d"):
            path = parse_path(el.get("d"))
        elif tag == "circle":
            path = _circle(el)
        elif tag == "text" and (el.text or "").strip():
            path = _text_path(el)
        if path is not None and len(path.vertices):
            flip = np.array([[1, 0, 0], [0, -1, 0], [0, 0, 1]]) @ m
            parts.append(SymbolPart(_apply(path, flip), _colour(st.get("fill", "black")), _colour(st.get("stroke")),
                                    float(st.get("stroke-width", "1") or 1)))
        for child in el:
            walk(child, m, st)

    walk(root, np.eye(3), {})
    return parts, vb  # type: ignore[return-value]


@functools.lru_cache(maxsize=1)
def _symbols() -> dict[str, str]:
    return json.loads(SYMBOL_FILE.read_text(encoding="utf-8"))["symbols"]


@functools.lru_cache(maxsize=128)
def symbol_parts(sidc: str) -> tuple[tuple[SymbolPart, ...], float]:
    """The parts of one SIDC's symbol centred on (0, 0), each padded to the symbol's bounding
    square (see the module text), and the half-size of that square; empty for an unknown SIDC."""
    svg = _symbols().get(sidc)
    if svg is None:
        return (), 0.0
    parts, (x0, y0, w, h) = parse_svg(svg)
    cx, cy = x0 + w / 2, -(y0 + h / 2)
    half = max(w, h) / 2
    out = []
    for p in parts:
        v = p.path.vertices - [cx, cy]
        codes = p.path.codes if p.path.codes is not None else [Path.MOVETO] + [Path.LINETO] * (len(v) - 1)
        pad = np.array([[-half, -half], [half, half]])
        out.append(SymbolPart(Path(np.vstack([pad, v]), [Path.MOVETO, Path.MOVETO, *codes]),
                              p.fill, p.stroke, p.width))
    return tuple(out), half


def draw_symbols(ax: Any, x: Sequence[float], y: Sequence[float], sidcs: Sequence[str], *, size_pt: float = 14.0,
                 zorder: float = 9) -> int:
    """Draw the APP-6 symbol of each point (``sidcs[i]`` at ``x[i], y[i]``); return how many were drawn.

    ``size_pt`` is the width of a symbol's bounding square in points.
    """
    x, y, codes = np.asarray(x, dtype=float), np.asarray(y, dtype=float), np.asarray(sidcs, dtype=object)
    drawn = 0
    for code in dict.fromkeys(codes.tolist()):
        parts, half = symbol_parts(str(code))
        if not parts:
            continue
        mask = codes == code
        drawn += int(mask.sum())
        for j, part in enumerate(parts):
            ax.scatter(x[mask], y[mask], marker=part.path, s=size_pt**2,
                       facecolors=part.fill or "none", edgecolors=part.stroke or "none",
                       linewidths=part.width * size_pt / (2 * half) * 0.6 if part.stroke else 0,
                       zorder=zorder + j * 1e-3)
    return drawn
