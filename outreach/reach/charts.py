"""Charts as server-side SVG: no script, no CDN (the CSP allows neither), readable when printed.

Each chart is ``role="img"`` with a ``<title>`` and ``<desc>`` (referenced by ``aria-labelledby``)
that says in words what the picture shows, so a screen reader gets the numbers too. Text is
escaped; labels and numbers are passed in already translated.
"""
from __future__ import annotations

import itertools

from markupsafe import Markup, escape

COLORS = ("#c0392b", "#e67e22", "#f1c40f", "#27ae60", "#2980b9", "#8e44ad")
INK, MUTED, GRID = "#222", "#666", "#ddd"
_ids = itertools.count(1)


def _svg(width: int, height: int, title: str, desc: str, body: list[str]) -> Markup:
    n = next(_ids)
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-labelledby="chart-t{n} chart-d{n}" style="max-width:{width}px">'
        f'<title id="chart-t{n}">{escape(title)}</title><desc id="chart-d{n}">{escape(desc)}</desc>'
        + "".join(body) + "</svg>")


def _text(x, y, text, *, anchor="start", size=13, fill=INK, weight="normal") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{fill}" text-anchor="{anchor}" '
            f'font-weight="{weight}">{escape(text)}</text>')


def funnel(steps: list[tuple[str, int]], title: str) -> Markup:
    """Horizontal bars, widest first: e.g. targeted → delivered → heard → acknowledged."""
    width, label_w, bar_h, gap = 640, 170, 30, 10
    top = max((v for _, v in steps), default=0) or 1
    height = len(steps) * (bar_h + gap) + gap
    body, words = [], []
    for i, (label, value) in enumerate(steps):
        y = gap + i * (bar_h + gap)
        w = (width - label_w - 90) * value / top
        share = f"{100 * value / top:.0f}%" if i else ""  # of the first bar (everyone)
        body.append(_text(label_w - 8, y + bar_h / 2 + 5, label, anchor="end"))
        body.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" rx="3" '
                    f'fill="{COLORS[i % len(COLORS)]}"/>')
        shown = f"{value} ({share})" if share else str(value)
        body.append(_text(label_w + w + 6, y + bar_h / 2 + 5, shown, weight="bold"))
        words.append(f"{label} {value}" + (f" ({share})" if share else ""))
    return _svg(width, height, title, "; ".join(words), body)


def stacked_bars(items: list[dict], series: list[tuple[str, str]], title: str, *, total_key: str = "targeted") \
        -> Markup:
    """One bar per item (village or grid), split into shares of ``total_key``: series = [(key, label)].

    Shares are of the whole, so the bars of villages of different sizes compare as rates.
    """
    width, label_w, bar_h, gap, legend_h = 640, 130, 22, 8, 28
    height = legend_h + len(items) * (bar_h + gap) + gap + 16
    body, words = [], []
    x = label_w
    for i, (_key, label) in enumerate(series):  # legend
        body.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{COLORS[(i * 2 + 3) % len(COLORS)]}"/>')
        body.append(_text(x + 16, 17, label, size=12))
        x += 24 + 13 * len(label) + 20
    plot_w = width - label_w - 60
    for row_i, item in enumerate(items):
        y = legend_h + gap + row_i * (bar_h + gap)
        total = item.get(total_key) or 0
        body.append(_text(label_w - 8, y + bar_h / 2 + 5, item["label"], anchor="end", size=12))
        body.append(f'<rect x="{label_w}" y="{y}" width="{plot_w}" height="{bar_h}" fill="#f1ece6"/>')
        x, parts = float(label_w), []
        for i, (key, label) in enumerate(series):
            share = (item.get(key) or 0) / total if total else 0
            w = plot_w * share
            body.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                        f'fill="{COLORS[(i * 2 + 3) % len(COLORS)]}"/>')
            x += w
            parts.append(f"{label} {100 * share:.0f}%")
        first = (item.get(series[0][0]) or 0) / total if total else 0
        body.append(_text(label_w + plot_w + 6, y + bar_h / 2 + 5, f"{100 * first:.0f}%", size=12, weight="bold"))
        words.append(f"{item['label']}: " + ", ".join(parts))
    return _svg(width, height, title, "; ".join(words) or title, body)


def trend(days: list[dict], series: list[tuple[str, str]], title: str) -> Markup:
    """Lines over days: series = [(key, label)]; x labels are MM-DD."""
    width, height, left, right, top, bottom = 640, 240, 44, 16, 30, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([d.get(k) or 0 for d in days for k, _ in series] + [1])
    body, words = [], []
    for frac in (0, 0.5, 1):  # gridlines with their values
        y = top + plot_h * (1 - frac)
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(_text(left - 6, y + 4, f"{round(peak * frac)}", anchor="end", size=11, fill=MUTED))
    step = plot_w / max(len(days) - 1, 1)
    for i, d in enumerate(days):
        if i % max(len(days) // 7, 1) == 0 or i == len(days) - 1:
            body.append(_text(left + i * step, height - 12, d["day"][5:], anchor="middle", size=11, fill=MUTED))
    x = left
    for s_i, (key, label) in enumerate(series):
        color = COLORS[(s_i * 2 + 3) % len(COLORS)] if s_i else COLORS[0]
        points = " ".join(f"{left + i * step:.1f},{top + plot_h * (1 - (d.get(key) or 0) / peak):.1f}"
                          for i, d in enumerate(days))
        body.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2.5"/>')
        body.append(f'<rect x="{x}" y="8" width="12" height="4" fill="{color}"/>')
        body.append(_text(x + 16, 14, label, size=12))
        x += 24 + 13 * len(label) + 20
        if days:
            words.append(f"{label}: " + ", ".join(f"{d['day'][5:]} {d.get(key) or 0}" for d in days))
    return _svg(width, height, title, "; ".join(words) or title, body)
