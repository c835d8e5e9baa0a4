"""Small inline-SVG charts for the HTML report (no scripts, no external resources; all text escaped)."""

from __future__ import annotations

from html import escape

from harness.report.flips import FLIP_KINDS, KIND_TITLES, CategoryRow, FlipCounts

RUN_COLORS = ("#6b7280", "#2563eb", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#9333ea")
KIND_COLORS = {"forgotten": "#dc2626", "learned": "#16a34a", "both_right": "#a7d3b5", "both_wrong": "#e5c3c3"}
FONT = "font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif"


def run_color(i: int) -> str:
    return RUN_COLORS[i % len(RUN_COLORS)]


def _text(x: float, y: float, s: str, anchor: str = "start", size: int = 11, fill: str = "#111") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}">{escape(s)}</text>'


def _short(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def category_chart(rows: list[CategoryRow], run_names: list[str], value_title: str) -> str:
    """Grouped horizontal bars: per category one bar per run (0–100 %), with −forgotten / +learned of each
    later run beside its bar."""
    if not rows:
        return ""
    label_w, bar_w, right_w, bar_h, gap = 170, 300, 120, 9, 7
    k = len(run_names)
    group_h = k * bar_h + gap
    top = 22
    height = top + group_h * len(rows) + 6
    width = label_w + bar_w + right_w
    out = [
        f'<svg class="chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" style="{FONT}">',
        f"<title>{escape(value_title)}</title>",
    ]
    for t in (0, 25, 50, 75, 100):
        x = label_w + bar_w * t / 100
        out.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 4}" stroke="#e5e7eb"/>')
        out.append(_text(x, top - 8, str(t), "middle", 10, "#6b7280"))
    for g, row in enumerate(rows):
        y0 = top + g * group_h
        out.append(f"<g><title>{escape(row.name)} ({row.n} items)</title>")
        out.append(_text(label_w - 8, y0 + k * bar_h / 2 + 4, _short(row.name, 26), "end", 11))
        for j, v in enumerate(row.values):
            y = y0 + j * bar_h
            if v is None:
                out.append(_text(label_w + 2, y + bar_h - 1, "–", size=9, fill="#6b7280"))
                continue
            w = max(0.5, bar_w * max(0.0, min(1.0, v)))
            out.append(
                f'<rect x="{label_w}" y="{y:.1f}" width="{w:.1f}" height="{bar_h - 1}" fill="{run_color(j)}">'
                f"<title>{escape(run_names[j])}: {100 * v:.1f}</title></rect>"
            )
            note = f"{100 * v:.1f}"
            if j > 0 and j - 1 < len(row.forgotten):
                note += f"  −{row.forgotten[j - 1]} +{row.learned[j - 1]}"
            out.append(_text(label_w + bar_w + 6, y + bar_h - 1, note, size=10, fill="#374151"))
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)


def flip_bar(counts: FlipCounts, width: int = 220, height: int = 14) -> str:
    """One stacked bar of the four kinds (forgotten, learned, both right, both wrong)."""
    n = max(counts.n, 1)
    out = [f'<svg class="flipbar" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">']
    x = 0.0
    for kind in FLIP_KINDS:
        c = counts.get(kind)
        if not c:
            continue
        w = width * c / n
        out.append(
            f'<rect x="{x:.2f}" y="0" width="{w:.2f}" height="{height}" fill="{KIND_COLORS[kind]}">'
            f"<title>{KIND_TITLES[kind]}: {c}</title></rect>"
        )
        x += w
    out.append("</svg>")
    return "".join(out)
