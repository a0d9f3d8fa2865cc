"""The table: printed, and written into ``docs/benchmarks.md`` between two markers, so the
hand-written parts of that page (before/after notes, what holds a goal back) stay."""

from __future__ import annotations

from pathlib import Path

from bench.core import Row

START = "<!-- bench:results:start -->"
END = "<!-- bench:results:end -->"
COLUMNS = ("benchmark", "measure", "value", "same-run baseline", "ratio", "goal", "met")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(rows: list[Row]) -> str:
    lines = [
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join("---" for _ in COLUMNS) + "|",
    ]
    for r in rows:
        cells = (r.bench, r.measure, r.value, r.baseline, r.ratio, r.goal, r.met)
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def section(rows: list[Row], machine: dict[str, str], command: str, when: str) -> str:
    desc = "\n".join(f"- **{k}**: {v}" for k, v in machine.items())
    return (
        f"{START}\n"
        f"Measured {when} with:\n\n```\n{command}\n```\n\n"
        f"Machine:\n\n{desc}\n\n{table(rows)}\n{END}"
    )


def write(path: Path, text: str) -> None:
    """Replace the results section of ``path`` (or append one; create the page if needed)."""
    if path.exists():
        old = path.read_text()
        if START in old and END in old:
            head, rest = old.split(START, 1)
            tail = rest.split(END, 1)[1]
            path.write_text(head + text + tail)
            return
        path.write_text(old.rstrip("\n") + "\n\n" + text + "\n")
        return
    path.write_text(f"# Benchmarks\n\n{text}\n")
