import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from relay_contracts.publish import DEFAULT_OUT, main, published_files, render

UPSERTED = "schemas/ingestion.activity.upserted.v1.json"


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """A copy of the committed catalog version directory."""
    copy = tmp_path / "v1"
    shutil.copytree(DEFAULT_OUT, copy)
    return copy


def rewrite_upserted_data(out: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    """Rewrites the published `ingestion.activity.upserted` v1 file as if it had promised otherwise."""
    path = out / UPSERTED
    schema = json.loads(path.read_text())
    edit(schema["properties"]["data"])
    path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")


def without_health_bridge(data: dict[str, Any]) -> None:
    data["properties"]["provider"]["enum"].remove("health_bridge")


def described_otherwise(data: dict[str, Any]) -> None:
    data["description"] = "An activity."


def test_publish_refuses_to_write_a_render_that_breaks_what_is_published(out: Path) -> None:
    rewrite_upserted_data(out, without_health_bridge)
    before = published_files(out)

    result = subprocess.run(
        [sys.executable, "-m", "relay_contracts.publish", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 1
    assert '  ingestion.activity.upserted v1: data.provider: enum adds "health_bridge"\n' in result.stderr
    assert "version + 1" in result.stderr
    assert "Nothing was written." in result.stderr
    assert published_files(out) == before


def test_publish_keeps_the_files_of_an_event_version_no_longer_in_the_catalogue(
    out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    retired = out / "schemas/ingestion.activity.archived.v1.json"
    shutil.copyfile(out / UPSERTED, retired)

    assert main([str(out)]) == 1

    assert "  ingestion.activity.archived v1: removed\n" in capsys.readouterr().err
    assert retired.exists()


def test_publish_writes_a_compatible_render_and_only_the_files_that_changed(
    out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rewrite_upserted_data(out, described_otherwise)

    assert main([str(out)]) == 0

    assert capsys.readouterr().out == f"{out / UPSERTED}\n"
    assert published_files(out) == render()


def test_publish_into_an_empty_directory_writes_the_whole_render(tmp_path: Path) -> None:
    assert main([str(tmp_path / "v1")]) == 0
    assert published_files(tmp_path / "v1") == render()


def test_check_passes_on_the_committed_files(out: Path) -> None:
    assert main(["--check", str(out)]) == 0


def test_check_fails_on_stale_files_and_writes_nothing(out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rewrite_upserted_data(out, described_otherwise)
    before = published_files(out)

    assert main(["--check", str(out)]) == 1

    assert f"  {UPSERTED}\n" in capsys.readouterr().err
    assert published_files(out) == before


def test_check_fails_on_a_render_that_breaks_what_is_published(
    out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rewrite_upserted_data(out, without_health_bridge)

    assert main(["--check", str(out)]) == 1

    assert (
        '  ingestion.activity.upserted v1: data.provider: enum adds "health_bridge"\n'
        in capsys.readouterr().err
    )
