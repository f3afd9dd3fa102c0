"""Shared fixtures: a fresh inventory per test and a CliRunner bound to it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from scanner.cli import cli

DATA = Path(__file__).parent / "data"
PCAP = DATA / "pcap"


class App:
    """`appradar` against one database, in-process."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.runner = CliRunner()

    def __call__(self, *arguments: str, expect: int = 0) -> Result:
        database = [] if arguments[0] in ("signatures", "config") or arguments[:2] == (
            "privacy", "statement") else ["--db", str(self.database)]
        result = self.runner.invoke(cli, [*arguments, *database])
        assert result.exit_code == expect, (result.exit_code, result.output, result.exception)
        return result

    def json(self, *arguments: str) -> list[dict]:
        return json.loads(self(*arguments, "--format", "json").stdout)


@pytest.fixture
def app(tmp_path: Path) -> App:
    return App(tmp_path / "inventory.db")


def truth() -> dict[str, dict]:
    lines = (PCAP / "truth.jsonl").read_text().splitlines()
    return {record["file"]: record for record in map(json.loads, lines)}


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path_factory: pytest.TempPathFactory,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see neither this machine's signature updates nor its appradar settings, and
    keep their cache of parsed signatures to themselves (one for the whole session)."""
    monkeypatch.setenv("APPRADAR_UPDATE_DIR", str(tmp_path_factory.mktemp("updates")))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "cache"))
    for name in ("APPRADAR_CONFIG", "APPRADAR_DB", "APPRADAR_SIGNATURES", "CACHE_DIRECTORY"):
        monkeypatch.delenv(name, raising=False)
