"""Charts as inline SVG, drawn on the server: no charting JavaScript, readable without colour.

Each chart has a <title> and <desc> it is named by (role="img"), every bar or point its own
<title>, axis labels, and series told apart by pattern (solid, hatched, dotted, crossed) or by
line dash and marker shape and a label at the line's end, as well as by colour. Pure: strings
in, a string out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 80, 150, 20, 70
#: Colours with at least 4.5:1 contrast on white; never the only carrier of meaning.
COLOURS = ("#1f4e79", "#8a3b00", "#2e6b30", "#5b2a86", "#424242", "#7a1f3d")
PATTERNS = ("solid", "hatch", "dots", "cross")
DASHES = ("", "6 3", "2 3", "8 3 2 3")
MARKERS = ("circle", "square", "triangle", "diamond")
#: At most this many category labels on the x axis; the others are in the table.
MAX_X_LABELS = 12
#: Values are written on bars only when there are this few bars (else they would overlap).
MAX_BAR_VALUES = 24


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[float, ...]


def nice_scale(top: float, ticks: int = 4) -> tuple[int, int]:
    """The axis maximum and tick step for whole numbers (counts, minor units): round steps
    (1, 2, 5 × 10ⁿ, at least 1) covering `top`; an empty chart still has an axis."""
    if top <= 0:
        return ticks, 1
    raw = top / ticks
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = max(1, next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw))
    return step * math.ceil(top / step), step


def value_range(values: Sequence[float]) -> tuple[int, int, int]:
    """The axis's bottom, top and step: zero always shown, negatives (money given back) below."""
    high, low = max([0, *values]), min([0, *values])
    if high == low:  # nothing to draw: an axis of 0 to 4
        return 0, 4, 1
    _top, step = nice_scale(high - low)
    return step * math.floor(low / step), max(step * math.ceil(high / step), step), step


def label_positions(count: int, most: int = MAX_X_LABELS) -> list[int]:
    """Which of `count` categories get an x-axis label: evenly spread, the first always."""
    if count <= most:
        return list(range(count))
    every = math.ceil(count / most)
    return list(range(0, count, every))


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _defs(chart_id: str) -> str:
    parts = []
    for i, colour in enumerate(COLOURS):
        for pattern in PATTERNS[1:]:
            pid = f"{chart_id}-{pattern}-{i}"
            if pattern == "hatch":
                body = f'<path d="M0,6 L6,0" stroke="{colour}" stroke-width="2"/>'
            elif pattern == "dots":
                body = f'<circle cx="3" cy="3" r="1.6" fill="{colour}"/>'
            else:
                body = (f'<path d="M0,0 L6,6 M6,0 L0,6" stroke="{colour}" '
                        f'stroke-width="1.4"/>')
            parts.append(f'<pattern id="{pid}" width="6" height="6" '
                         f'patternUnits="userSpaceOnUse"><rect width="6" height="6" '
                         f'fill="#ffffff"/>{body}</pattern>')
    return "<defs>" + "".join(parts) + "</defs>"


def _fill(chart_id: str, index: int) -> str:
    colour = COLOURS[index % len(COLOURS)]
    pattern = PATTERNS[index % len(PATTERNS)]
    return colour if pattern == "solid" else f"url(#{chart_id}-{pattern}-{index % len(COLOURS)})"


def _frame(chart_id: str, title: str, description: str, body: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
            f'aria-labelledby="{chart_id}-title {chart_id}-desc" id="{chart_id}">'
            f'<title id="{chart_id}-title">{_e(title)}</title>'
            f'<desc id="{chart_id}-desc">{_e(description)}</desc>'
            f'{_defs(chart_id)}{body}</svg>')


def _y(bottom: int, top: int) -> Callable[[float], float]:
    """Where a value sits, from the top of the plot down."""
    plot_h = HEIGHT - TOP - BOTTOM
    return lambda value: TOP + plot_h * (top - value) / (top - bottom)


def _scaled(series: Sequence[Series]) -> tuple[tuple[int, int, int], Callable[[float], float]]:
    """The value axis every series fits on, and where a value sits on it."""
    scale = value_range([v for s in series for v in s.values])
    return scale, _y(scale[0], scale[1])


def _axes(categories: Sequence[str], scale: tuple[int, int, int], y_title: str,
          label: Callable[[float], str], x_of: Callable[[int], float]) -> str:
    bottom, top, step = scale
    plot_h = HEIGHT - TOP - BOTTOM
    y_of = _y(bottom, top)
    out = ['<g class="axis" font-size="11" fill="#222222">']
    tick = bottom
    while tick <= top:
        y = y_of(tick)
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                   f'stroke="#cccccc" stroke-width="1"/>'
                   f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                   f'{_e(label(tick))}</text>')
        tick += step
    zero, base = y_of(0), TOP + plot_h
    out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{zero:.1f}" y2="{zero:.1f}" '
               f'stroke="#222222" stroke-width="1"/>')
    for i in label_positions(len(categories)):
        x = x_of(i)
        out.append(f'<text x="{x:.1f}" y="{base + 14}" text-anchor="end" '
                   f'transform="rotate(-35 {x:.1f} {base + 14})">{_e(categories[i])}</text>')
    out.append(f'<text x="14" y="{TOP + plot_h / 2:.1f}" text-anchor="middle" '
               f'transform="rotate(-90 14 {TOP + plot_h / 2:.1f})">{_e(y_title)}</text>')
    out.append("</g>")
    return "".join(out)


def _legend(chart_id: str, series: Sequence[Series], lines: bool) -> str:
    out = ['<g class="legend" font-size="12" fill="#222222">']
    for i, s in enumerate(series):
        y = TOP + 8 + i * 20
        x = WIDTH - RIGHT + 12
        if lines:
            out.append(_marker(i, x + 9, y, COLOURS[i % len(COLOURS)])
                       + f'<line x1="{x}" x2="{x + 18}" y1="{y}" y2="{y}" '
                       f'stroke="{COLOURS[i % len(COLOURS)]}" stroke-width="2" '
                       f'stroke-dasharray="{DASHES[i % len(DASHES)]}"/>')
        else:
            out.append(f'<rect x="{x}" y="{y - 7}" width="18" height="14" '
                       f'fill="{_fill(chart_id, i)}" stroke="{COLOURS[i % len(COLOURS)]}"/>')
        out.append(f'<text x="{x + 24}" y="{y + 4}">{_e(s.name)}</text>')
    out.append("</g>")
    return "".join(out)


def bar_chart(chart_id: str, title: str, description: str, categories: Sequence[str],
              series: Sequence[Series], y_title: str,
              label: Callable[[float], str] = lambda v: f"{v:g}") -> str:
    """Grouped bars: one group per category, one bar per series, each with its own pattern."""
    plot_w = WIDTH - LEFT - RIGHT
    scale, y_of = _scaled(series)
    slot = plot_w / max(len(categories), 1)
    bar = slot * 0.8 / max(len(series), 1)
    show_values = len(categories) * len(series) <= MAX_BAR_VALUES
    body = [_axes(categories, scale, y_title, label, lambda i: LEFT + slot * (i + 0.5))]
    for si, s in enumerate(series):
        colour = COLOURS[si % len(COLOURS)]
        for ci, value in enumerate(s.values):
            y, h = min(y_of(value), y_of(0)), abs(y_of(value) - y_of(0))
            x = LEFT + slot * ci + slot * 0.1 + bar * si
            body.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(bar - 1, 1):.1f}" '
                        f'height="{h:.1f}" fill="{_fill(chart_id, si)}" stroke="{colour}">'
                        f'<title>{_e(categories[ci])}, {_e(s.name)}: {_e(label(value))}'
                        f'</title></rect>')
            if show_values:
                body.append(f'<text x="{x + bar / 2:.1f}" y="{y - 3:.1f}" font-size="11" '
                            f'text-anchor="middle" fill="#222222">{_e(label(value))}</text>')
    body.append(_legend(chart_id, series, lines=False))
    return _frame(chart_id, title, description, "".join(body))


def _marker(index: int, x: float, y: float, colour: str) -> str:
    shape = MARKERS[index % len(MARKERS)]
    if shape == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"/>'
    if shape == "square":
        return f'<rect x="{x - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" height="7" fill="{colour}"/>'
    if shape == "triangle":
        return (f'<path d="M{x:.1f},{y - 4.5:.1f} L{x + 4:.1f},{y + 3:.1f} '
                f'L{x - 4:.1f},{y + 3:.1f} Z" fill="{colour}"/>')
    return (f'<path d="M{x:.1f},{y - 4.5:.1f} L{x + 4.5:.1f},{y:.1f} L{x:.1f},{y + 4.5:.1f} '
            f'L{x - 4.5:.1f},{y:.1f} Z" fill="{colour}"/>')


def line_chart(chart_id: str, title: str, description: str, categories: Sequence[str],
               series: Sequence[Series], y_title: str,
               label: Callable[[float], str] = lambda v: f"{v:g}") -> str:
    """Lines, one per series: each its own dash and marker, and named at its last point."""
    plot_w = WIDTH - LEFT - RIGHT
    scale, y_of = _scaled(series)
    count = max(len(categories), 1)

    def x_of(i: int) -> float:
        return LEFT + (plot_w * i / (count - 1) if count > 1 else plot_w / 2)

    body = [_axes(categories, scale, y_title, label, x_of)]
    for si, s in enumerate(series):
        colour = COLOURS[si % len(COLOURS)]
        points = [(x_of(ci), y_of(v)) for ci, v in enumerate(s.values)]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2" '
                    f'stroke-dasharray="{DASHES[si % len(DASHES)]}"/>')
        for ci, (x, y) in enumerate(points):
            body.append(f'<g>{_marker(si, x, y, colour)}<title>{_e(categories[ci])}, '
                        f'{_e(s.name)}: {_e(label(s.values[ci]))}</title></g>')
        if points:
            x, y = points[-1]
            body.append(f'<text x="{x + 6:.1f}" y="{y + 4:.1f}" font-size="11" '
                        f'fill="{colour}">{_e(s.name)}</text>')
    body.append(_legend(chart_id, series, lines=True))
    return _frame(chart_id, title, description, "".join(body))
