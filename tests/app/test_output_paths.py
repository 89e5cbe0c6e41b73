"""Issue 15 item 7: a file named after a registry id or a week stays inside its folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from accountability.config.errors import UsageError
from accountability.config.registry_file import load_registry_file
from accountability.private_files import inside
from accountability.usecases.digest.service import write_file
from accountability.usecases.maps import map_file
from flows.registry_check import write_map
from rules.registry import LoadedRegistry

ROOT = Path(__file__).resolve().parents[2]


def with_workflow_id(loaded: LoadedRegistry, new_id: str) -> LoadedRegistry:
    """The example registry with one workflow renamed, bypassing validation (which refuses
    such ids): the path check must hold on its own."""
    registry = loaded.registry
    old_id, workflow = next(iter(registry.workflows.items()))
    workflows = dict(registry.workflows)
    del workflows[old_id]
    workflows[new_id] = workflow.model_copy(update={"id": new_id})
    changed = registry.model_copy(update={"workflows": workflows})
    return LoadedRegistry(changed, [], loaded.content_hash, loaded.source, loaded.text)


def test_the_registry_check_flow_never_writes_a_map_outside_its_folder(tmp_path: Path) -> None:
    loaded = with_workflow_id(load_registry_file(ROOT / "examples" / "registry.yaml"),
                              "../../elsewhere/evil")
    maps = tmp_path / "a" / "b" / "maps"
    with pytest.raises(UsageError, match="would land outside"):
        write_map.fn(loaded, "../../elsewhere/evil", str(maps))
    assert not (tmp_path / "a" / "elsewhere").exists()
    assert list(tmp_path.rglob("*.html")) == []


def test_the_registry_check_flow_writes_ordinary_maps(tmp_path: Path) -> None:
    loaded = load_registry_file(ROOT / "examples" / "registry.yaml")
    written = Path(write_map.fn(loaded, "support", str(tmp_path / "maps")))
    assert written == tmp_path / "maps" / "support.html" and written.is_file()


@pytest.mark.parametrize("name", ["../x.html", "a/b.html", "..", ".", "", "a\\b.html"])
def test_names_that_leave_the_folder_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(UsageError, match="would land outside"):
        inside(tmp_path, name)


def test_a_link_leading_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "support.html").symlink_to(tmp_path / "elsewhere.html")
    with pytest.raises(UsageError):
        map_file(tmp_path / "maps", "support")
    assert map_file(tmp_path / "maps", "renewals") == tmp_path / "maps" / "renewals.html"


def test_the_digest_page_is_written_inside_its_folder(tmp_path: Path) -> None:
    assert write_file(tmp_path / "digest.html", "<p>x</p>").read_text() == "<p>x</p>"
    with pytest.raises(UsageError):
        write_file(tmp_path / "sub" / "..", "<p>x</p>")
