"""Small, accessible SVG charts rendered on the server (no JavaScript, no CDN)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

from digiden.domain.quantities import format_number

SERIES_COLORS = ("#0017c1", "#e25100", "#115a36", "#927200")


@dataclass(frozen=True)
class ChartSeries:
    label: str
    points: tuple[tuple[date, float], ...]
    forecast: tuple[date, float] | None = None      # where the trend reaches the next milestone
    milestones: tuple[tuple[date, float, str], ...] = ()   # (deadline, value, label)
    point_labels: dict[date, str] | None = None    # how each value is written (1,000団体超)


def _scale(d0: float, d1: float, r0: float, r1: float):  # type: ignore[no-untyped-def]
    span = (d1 - d0) or 1.0
    return lambda v: r0 + (v - d0) / span * (r1 - r0)


def _nice_max(v: float, unit: str) -> float:
    if unit == "%" and v <= 100:
        return 100.0
    if v <= 0:
        return 1.0
    mag: int = 10 ** (len(str(int(v))) - 1)
    for m in (1, 2, 2.5, 5, 10):
        if v <= m * mag:
            return m * mag
    return 10 * mag


def line_chart(series: list[ChartSeries], *, unit: str, title: str, width: int = 640,
               height: int = 280, compact: bool = False) -> Markup:
    """Observations as lines, milestones as diamonds, the trajectory from the first observation
    to each milestone dashed, and the forecast dotted."""
    dates = [d for s in series for d, _ in s.points] + [d for s in series for d, _, _ in
                                                        s.milestones]
    dates += [s.forecast[0] for s in series if s.forecast]
    values = [v for s in series for _, v in s.points] + [v for s in series for _, v, _ in
                                                         s.milestones]
    if not dates:
        return Markup(f'<p class="muted">{escape(title)}: 表示できるデータがありません。</p>')
    pad_l, pad_r, pad_t, pad_b = (4, 4, 4, 4) if compact else (64, 16, 16, 36)
    d0 = min(dates).toordinal() - 30
    d1 = max(dates).toordinal() + 30
    ymax = _nice_max(max(values + [0.0]) * (1.0 if unit == "%" else 1.08), unit)
    x = _scale(d0, d1, pad_l, width - pad_r)
    y = _scale(0, ymax, height - pad_b, pad_t)
    out = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
           f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
           f"<title>{escape(title)}</title>"]
    if not compact:
        for i in range(5):
            v = ymax * i / 4
            yy = y(v)
            out.append(f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{yy:.1f}" y2="{yy:.1f}" '
                       f'class="grid"/>')
            out.append(f'<text x="{pad_l - 6}" y="{yy + 4:.1f}" text-anchor="end" '
                       f'class="tick">{escape(format_number(round(v, 2)))}{escape(unit)}</text>')
        first, last = date.fromordinal(d0 + 30).year, date.fromordinal(d1 - 30).year
        step = max(1, (last - first) // 6 + 1)
        for yr in range(first, last + 2, step):
            xx = x(date(yr, 4, 1).toordinal())
            if pad_l <= xx <= width - pad_r:
                out.append(f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{pad_t}" '
                           f'y2="{height - pad_b}" class="grid"/>')
                out.append(f'<text x="{xx:.1f}" y="{height - pad_b + 16}" text-anchor="middle" '
                           f'class="tick">{yr}年度</text>')
    for i, s in enumerate(series):
        color = SERIES_COLORS[i % len(SERIES_COLORS)]
        pts = sorted(s.points)
        if pts:
            base = pts[0]
            for dl, v, _ in s.milestones:  # trajectory to each target
                out.append(f'<line x1="{x(base[0].toordinal()):.1f}" y1="{y(base[1]):.1f}" '
                           f'x2="{x(dl.toordinal()):.1f}" y2="{y(v):.1f}" class="trajectory" '
                           f'stroke="{color}"/>')
            if s.forecast:
                cur = pts[-1]
                out.append(f'<line x1="{x(cur[0].toordinal()):.1f}" y1="{y(cur[1]):.1f}" '
                           f'x2="{x(s.forecast[0].toordinal()):.1f}" '
                           f'y2="{y(s.forecast[1]):.1f}" class="forecast" stroke="{color}"/>')
            path = " ".join(f"{x(d.toordinal()):.1f},{y(v):.1f}" for d, v in pts)
            out.append(f'<polyline points="{path}" fill="none" stroke="{color}" '
                       f'stroke-width="{2 if compact else 2.5}"/>')
            for d, v in pts:
                shown = (s.point_labels or {}).get(d) or f"{format_number(v)}{unit}"
                out.append(f'<circle cx="{x(d.toordinal()):.1f}" cy="{y(v):.1f}" '
                           f'r="{2.5 if compact else 4}" fill="{color}"><title>'
                           f'{escape(s.label)} {d.isoformat()}: {escape(shown)}</title></circle>')
        for dl, v, lab in s.milestones:
            cx, cy = x(dl.toordinal()), y(v)
            r = 4 if compact else 7
            out.append(f'<path d="M{cx:.1f},{cy - r:.1f}L{cx + r:.1f},{cy:.1f}L{cx:.1f},'
                       f'{cy + r:.1f}L{cx - r:.1f},{cy:.1f}Z" class="milestone" '
                       f'stroke="{color}"><title>目標 {escape(lab)}</title></path>')
    out.append("</svg>")
    if not compact and len(series) > 1:
        legend = "".join(f'<span class="legend-item"><span class="swatch" style="background:'
                         f'{SERIES_COLORS[i % len(SERIES_COLORS)]}"></span>{escape(s.label)}</span>'
                         for i, s in enumerate(series))
        out.append(f'<p class="legend">{legend}</p>')
    return Markup("".join(out))
