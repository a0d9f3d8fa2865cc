"""Charts drawn as inline SVG on the server: no script, no library, nothing fetched.

Each function returns SVG markup as a string; every piece of text in it is escaped here, so a
template may insert it unescaped. Charts carry ``role="img"``, an ``aria-label`` and a
``<title>`` per bar, and print in black and white too (the bars are also labelled in text).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from html import escape

COLOURS = {"early": "#1e7a3c", "on_time": "#2f6db5", "late": "#b3261e", "bar": "#0b5394"}
FONT = 'font-family="system-ui, Arial, sans-serif" font-size="12"'


@dataclass(frozen=True)
class Stack:
    label: str
    early: int
    on_time: int
    late: int
    href: str = ""  # drill-down link for the row


def _pct(value: Fraction | None) -> str:
    return "—" if value is None else f"{float(value) * 100:.1f}".replace(".", ",") + "\u00a0%"


def _clip(text: str, n: int = 38) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def timeliness_bars(rows: Sequence[Stack], *, title: str, legend: Sequence[str]) -> str:
    """Horizontal stacked bars: early / on time / late per row, with the 2.1 share at the end.
    ``legend`` gives the three series names (Vietnamese)."""
    label_w, bar_w, share_w, row_h, top = 260, 420, 70, 24, 46
    width = label_w + bar_w + share_w
    height = top + row_h * max(len(rows), 1) + 10
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}" {FONT}>',
        f'<text x="0" y="16" font-weight="700" font-size="14">{escape(title)}</text>',
    ]
    x = 0
    for key, name in zip(("early", "on_time", "late"), legend, strict=True):
        out.append(f'<rect x="{x}" y="26" width="12" height="12" fill="{COLOURS[key]}"/>')
        out.append(f'<text x="{x + 16}" y="36">{escape(name)}</text>')
        x += 20 + 8 * len(name)
    biggest = max((r.early + r.on_time + r.late for r in rows), default=0) or 1
    for i, r in enumerate(rows):
        y = top + i * row_h
        total = r.early + r.on_time + r.late
        share = Fraction(r.early + r.on_time, total) if total else None
        label = escape(_clip(r.label))
        if r.href:
            label = f'<a href="{escape(r.href)}">{label}</a>'
        out.append(f'<text x="0" y="{y + 16}">{label}</text>')
        cx = float(label_w)
        for key, n in (("early", r.early), ("on_time", r.on_time), ("late", r.late)):
            if n:
                w = max(bar_w * n / biggest, 1.5)
                out.append(
                    f'<rect x="{cx:.1f}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" '
                    f'fill="{COLOURS[key]}"><title>{escape(r.label)}: {n}</title></rect>'
                )
                cx += w
        out.append(f'<text x="{label_w + bar_w + 6}" y="{y + 16}">{_pct(share)}</text>')
    if not rows:
        out.append(f'<text x="{label_w}" y="{top + 16}" fill="#5b6775">—</text>')
    out.append("</svg>")
    return "".join(out)


def share_bars(items: Sequence[tuple[str, Fraction | None]], *, title: str) -> str:
    """Horizontal bars from 0 to 100 % for a few indicators (2.1, 3.3, 4.1, 4.2, …)."""
    label_w, bar_w, row_h, top = 260, 420, 26, 30
    width = label_w + bar_w + 70
    height = top + row_h * len(items) + 10
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}" {FONT}>',
        f'<text x="0" y="16" font-weight="700" font-size="14">{escape(title)}</text>',
    ]
    for i, (label, share) in enumerate(items):
        y = top + i * row_h
        out.append(f'<text x="0" y="{y + 17}">{escape(_clip(label))}</text>')
        out.append(
            f'<rect x="{label_w}" y="{y + 5}" width="{bar_w}" height="{row_h - 10}" '
            f'fill="#e9edf2"/>'
        )
        if share:
            out.append(
                f'<rect x="{label_w}" y="{y + 5}" width="{bar_w * float(share):.1f}" '
                f'height="{row_h - 10}" fill="{COLOURS["bar"]}">'
                f"<title>{escape(label)}: {_pct(share)}</title></rect>"
            )
        out.append(f'<text x="{label_w + bar_w + 6}" y="{y + 17}">{_pct(share)}</text>')
    out.append("</svg>")
    return "".join(out)
