"""The documentation must not fall behind the code: every CLI command has help with an
example and a section in docs/cli.md; every API route is in its OpenAPI document; every
node configuration setting read by the code is documented."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from central_hub.cli import main as hub_cli
from common_io.audit_cli import main as audit_cli
from commune_node.cli import main as node_cli

ROOT = Path(__file__).resolve().parent.parent
CLI_DOC = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str) -> list[tuple[str, click.Command]]:
    out: list[tuple[str, click.Command]] = []
    for name, cmd in sorted(group.commands.items()):
        full = f"{prefix} {name}"
        if isinstance(cmd, click.Group):
            out.extend(_commands(cmd, full))
        else:
            out.append((full, cmd))
    return out


ALL_COMMANDS = (
    _commands(node_cli, "commune-node")
    + _commands(hub_cli, "central-hub")
    + _commands(audit_cli, "dossier-audit")
)


@pytest.mark.parametrize(("name", "command"), ALL_COMMANDS, ids=[n for n, _ in ALL_COMMANDS])
def test_every_command_has_help_with_an_example(name: str, command: click.Command) -> None:
    assert command.help and len(command.help.strip()) > 20, name
    assert "Example:" in command.help, f"{name}: its help has no 'Example:' block"


@pytest.mark.parametrize(("name", "command"), ALL_COMMANDS, ids=[n for n, _ in ALL_COMMANDS])
def test_every_command_is_in_docs_cli(name: str, command: click.Command) -> None:
    assert f"### `{name}`" in CLI_DOC, f"docs/cli.md has no section '### `{name}`'"
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            longest = max(param.opts, key=len)
            assert longest in CLI_DOC, f"{name}: option {longest} is not in docs/cli.md"


def _routes(app, prefix: str) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    out = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(prefix):
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                out.add((method.lower(), path))
    return out


def test_every_node_api_route_is_in_its_openapi_document(tmp_path: Path) -> None:
    from commune_node import create_app
    from commune_node.web.openapi import openapi_document

    app = create_app({"TESTING": True, "SECRET_KEY": "x"}, instance_path=str(tmp_path))
    doc = openapi_document()
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    routes = _routes(app, "/api/v1")
    # action routes are documented one per action name
    actions = {(m, p) for m, p in routes if "{action}" in p}
    for m, p in routes - actions:
        assert (m, p) in documented, f"{m.upper()} {p} is not in /api/v1/openapi.json"
    from common_web.schemas import ACTION_NAMES

    for name in ACTION_NAMES:
        assert ("post", f"/api/v1/dossiers/{{code}}/actions/{name}") in documented


def test_every_hub_sync_route_is_in_its_openapi_document(tmp_path: Path) -> None:
    from central_hub import create_app
    from central_hub.web.openapi import openapi_document

    app = create_app({"TESTING": True, "SECRET_KEY": "x"}, instance_path=str(tmp_path))
    documented = {(m, p) for p, ops in openapi_document()["paths"].items() for m in ops}
    for route in _routes(app, "/sync/v1"):
        assert route in documented, f"{route} is not in /sync/v1/openapi.json"


def test_every_config_setting_read_by_the_apps_is_documented() -> None:
    names: set[str] = set()
    for folder in ("commune_node", "central_hub", "common_web"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            names |= set(re.findall(r"config(?:\.get)?\(\s*\"([A-Z_]+)\"", text))
            names |= set(re.findall(r"config\[\"([A-Z_]+)\"\]", text))
    flask_own = {"TESTING", "SECRET_KEY"}
    for name in sorted(names - flask_own):
        assert f"`{name}`" in CLI_DOC, f"setting {name} is read by the code but not in docs/cli.md"


def test_error_codes_of_the_sync_protocol_are_documented() -> None:
    from central_hub.web.openapi import ERROR_CODES

    doc = (ROOT / "docs" / "sync-protocol.md").read_text(encoding="utf-8")
    for code in ERROR_CODES:
        if code in (
            "bad_request",
            "unsupported_media_type",
            "request_entity_too_large",
            "internal",
        ):
            continue
        assert f"`{code}`" in doc, f"error code {code} is not explained in docs/sync-protocol.md"
