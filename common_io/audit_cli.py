"""``dossier-audit``: the inspectorate's standalone, offline verifier of audit bundles.

Depends only on ``common``, ``common_io``, ``cryptography`` and ``click``: no database, no
network, no Flask. The bundle is streamed line by line with a bounded line length, so a
huge, truncated or hostile file yields findings or a clean error, never unbounded memory.

Exit status: 0 every check holds; 1 the bundle was read and there are findings; 2 the input
cannot be used (unreadable file, not a bundle, bad ``--hub-key`` or ``--checkpoint``).
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path

import click

from common.audit.bundle import (
    CLASSES,
    BundleError,
    LineError,
    Policy,
    Report,
    Verifier,
    read_checkpoint,
)
from common.audit.labels import CONTROL, escape
from common_io.audit_pool import default_jobs, read_lines, verify_file

__all__ = ["main", "read_lines"]

EXIT_OK, EXIT_FINDINGS, EXIT_UNUSABLE = 0, 1, 2
MAX_CHECKPOINT_FILE = 64 * 1024


def _fail(message: str) -> None:
    click.echo(f"dossier-audit: {message}", err=True)
    sys.exit(EXIT_UNUSABLE)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Check an audit bundle exported by a dossier hub, offline, without trusting the hub.

    \b
    Example:
        dossier-audit verify audit-2026-11.jsonl \\
            --hub-key 45be15ded57aaeba448832e6b6b1642bc56724a0fc04e7e9eee02260b36e5f5a \\
            --checkpoint checkpoint-from-commune.json
    """


@main.command()
@click.argument("bundle", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A checkpoint file you obtained separately (JSON with checkpoint.signed: written by "
    "'commune-node checkpoint export', or the hub's /sync/v1/hello answer); the bundle must "
    "contain it with the same root.",
)
@click.option("--hub-key", help="The hub's public key in hex (64 digits), obtained separately.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--max-offline-days",
    type=click.FloatRange(min=0),
    default=7.0,
    show_default=True,
    help="Flag records written after a node had been out of contact longer than this.",
)
@click.option(
    "--tolerance-minutes",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    help="Slack on every comparison of times.",
)
@click.option(
    "--min-cosignatures",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Require a checkpoint cosigned by at least this many nodes.",
)
@click.option(
    "--max-findings",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="List at most this many findings (all are counted).",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1, max=512),
    default=None,
    help="Processes checking record signatures in parallel (default: the number of cores). "
    "The report is the same for every value.",
)
def verify(
    bundle: Path,
    checkpoint_file: Path | None,
    hub_key: str | None,
    as_json: bool,
    max_offline_days: float,
    tolerance_minutes: float,
    min_cosignatures: int,
    max_findings: int,
    jobs: int | None,
) -> None:
    """Verify BUNDLE: signatures, chains, key history, inclusion and consistency proofs,
    time bounds. Prints a summary and every finding; exit 0 only if everything holds.

    \b
    Example:
        dossier-audit verify audit-2026-11.jsonl --hub-key 45be15de…5f5a
        dossier-audit verify audit-2026-11.jsonl --checkpoint cp.json --json > report.json
    """
    pinned = None
    if hub_key is not None:
        try:
            pinned = bytes.fromhex(hub_key.strip())
        except ValueError:
            pinned = b""
        if len(pinned) != 32:
            _fail("--hub-key must be the 64 hex digits of the hub's Ed25519 public key")
    trusted = None
    if checkpoint_file is not None:
        try:
            with checkpoint_file.open("rb") as f:
                data = f.read(MAX_CHECKPOINT_FILE + 1)
            trusted = read_checkpoint(data)
        except OSError as exc:
            _fail(f"cannot read {checkpoint_file}: {exc.strerror}")
        except LineError as exc:
            _fail(f"{checkpoint_file} holds no checkpoint: {exc.en}")
    policy = Policy(
        clock_tolerance=timedelta(minutes=tolerance_minutes),
        max_offline=timedelta(days=max_offline_days),
        min_cosignatures=min_cosignatures,
        max_findings=max_findings,
    )
    try:
        verifier = Verifier(
            policy,
            trusted_checkpoint=None if trusted is None else trusted.signed,
            trusted_cosignature=None if trusted is None else trusted.cosignature,
            trusted_enrolment=None if trusted is None else trusted.enrolment,
            hub_public_key=pinned,
        )
        report = verify_file(
            bundle, verifier, jobs=jobs or default_jobs(), limit=policy.max_line_bytes
        )
    except OSError as exc:
        _fail(f"cannot read {bundle}: {exc.strerror}")
    except BundleError as exc:
        _fail(f"{bundle} cannot be verified: {exc.en}")
    if as_json:
        click.echo(safe_json(report))
    else:
        print_report(report)
    sys.exit(EXIT_OK if report.ok else EXIT_FINDINGS)


def safe_json(report: Report) -> str:
    """The report as JSON, with every control character inside a string written as a
    ``\\uNNNN`` escape (JSON escapes only U+0000–U+001F itself; the line feeds left are
    the layout's)."""
    text = json.dumps(report.as_dict(), ensure_ascii=False, indent=2)
    return CONTROL.sub(lambda m: "\n" if m.group() == "\n" else f"\\u{ord(m.group()):04x}", text)


def print_report(report: Report) -> None:
    """The summary table, the findings by class, then each finding. Every string from the
    bundle is printed escaped (``common.audit.labels.escape``), so no control character in
    it reaches the terminal; labels nothing signs are marked unsigned."""

    def echo(text: str = "") -> None:
        click.echo(escape(text))

    h, c = report.header, report.counts
    period = h.get("period", {})
    echo(f"Bundle       {h.get('format')}  made {h.get('created_at')} (unsigned)")
    echo(
        f"Hub          {h.get('hub_name')} ({h.get('hub_level')}) — name and level unsigned, "
        f"the hub's word; id {h.get('hub_id')}"
    )
    source = "pinned by you" if h.get("hub_key_source") == "pinned" else "read from the bundle"
    echo(f"Hub key      {h.get('hub_key')} ({source})")
    echo(f"Log          {h.get('origin')}")
    start, end = period.get("start"), period.get("end")
    leaves = (
        f"log leaves {start}..{end - 1}" if isinstance(end, int) and end > start else "no leaves"
    )
    since, until = period.get("since") or "the beginning", period.get("until") or "now"
    echo(f"Period       {since} → {until}  ({leaves})")
    trusted = h.get("trusted_checkpoint")
    if trusted:
        state = "linked to the bundle" if trusted.get("linked") else "NOT linked"
        echo(f"Your checkpoint  size {trusted.get('size')}: {state}")
        if trusted.get("cosigned_by"):
            echo(f"                 cosigned by node {trusted['cosigned_by']} (its head checked)")
    echo()
    rows = [
        ("records", f"{c.get('records', 0):,}"),
        ("  verified (signed, included)", f"{c.get('records_verified', 0):,}"),
        ("  stored in the period", f"{c.get('records_in_period', 0):,}"),
        ("chains (nodes)", f"{c.get('nodes', 0):,}"),
        ("keys", f"{c.get('keys', 0):,}"),
        ("checkpoints", f"{c.get('checkpoints', 0):,}"),
        ("cosignatures", f"{c.get('cosignatures', 0):,}"),
        ("findings", f"{report.total_findings:,}"),
    ]
    for name, value in rows:
        echo(f"  {name:<32}{value:>12}")
    chains = h.get("chains", [])
    if chains:
        echo()
        echo(f"  {'chain':<34}{'agency code':<16}{'name':<28}{'records':>9}  kind")
        for ch in chains:
            code = ch.get("agency_code") or "—"
            signed = ch.get("agency_code_signed") or ch.get("enrolled")
            mark = f"{code} ✓" if signed else f"{code} ?"
            name = escape(ch["name"])[:25] + (" ✓" if ch.get("enrolled") else "")
            echo(f"  {ch['node']:<34}{mark:<16}{name:<28}{ch['records']:>9}  {ch['chain']}")
        echo(
            "  ✓ agency code matches dossier codes the chain signed, or code and name match "
            "the hub's signed enrolment in your checkpoint file; ? nothing signed shows it"
        )
    if report.by_class:
        echo()
        echo(f"  {'finding class':<28}{'count':>8}  meaning")
        for cls, n in sorted(report.by_class.items()):
            echo(f"  {cls:<28}{n:>8}  {CLASSES.get(cls, '')}")
        echo()
        for f in report.findings:
            where = [f"line {f.line}"] if f.line is not None else []
            where += [f"node {f.node}"] if f.node else []
            where += [f"seq {f.seq}"] if f.seq is not None else []
            where += [f"leaf {f.leaf}"] if f.leaf is not None else []
            where += [f"record {f.record_id}"] if f.record_id else []
            echo(f"[{f.cls}] {', '.join(where) or 'bundle'}: {f.message}")
        if len(report.findings) < report.total_findings:
            echo(f"… and {report.total_findings - len(report.findings):,} more (see --json).")
    for notice in report.notices:  # shown, not failures (docs/audit.md, declared_gap)
        echo(f"[{notice.cls}] notice, node {notice.node}, seq {notice.seq}: {notice.message}")
    for note in report.notes:
        echo(f"Note: {note}")
    echo()
    if report.ok:
        echo("RESULT: PASSED — every check holds.")
    else:
        echo("RESULT: FAILED — the bundle does not prove the record whole (see findings).")


if __name__ == "__main__":  # pragma: no cover
    main()
