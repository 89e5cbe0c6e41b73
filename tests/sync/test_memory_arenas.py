"""The malloc settings a sync makes before its threads start (accountability/memory.py)."""

from __future__ import annotations

import gc
import platform
import sys
from pathlib import Path
from typing import Any

import pytest

from accountability import memory

glibc = pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="mallopt(M_ARENA_MAX) is glibc's; elsewhere the cap is a no-op by design",
)


@glibc
def test_the_cap_is_applied_on_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert memory.limit_malloc_arenas() is True


def test_an_operators_malloc_arena_max_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Set in the environment, glibc read it at start: the sync must not override it."""
    monkeypatch.setenv("MALLOC_ARENA_MAX", "8")
    assert memory.limit_malloc_arenas() is False


def test_off_linux_nothing_is_called(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    monkeypatch.setattr(memory.sys, "platform", "darwin")
    monkeypatch.setattr(memory.ctypes, "CDLL", lambda *_: pytest.fail("libc was loaded"))
    assert memory.limit_malloc_arenas() is False



@pytest.mark.parametrize("operator_set", [False, True])
def test_the_mmap_threshold_is_fixed_unless_the_operator_set_it(
    monkeypatch: pytest.MonkeyPatch, operator_set: bool
) -> None:
    calls: list[tuple[int, int]] = []

    def mallopt(parameter: int, value: int) -> int:
        calls.append((parameter, value))
        return 1

    monkeypatch.setattr(memory, "_mallopt", lambda: mallopt)
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    if operator_set:
        monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "1048576")
    else:
        monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    assert memory.limit_malloc_arenas() is True
    fixed = (memory.M_MMAP_THRESHOLD, memory.SYNC_MMAP_THRESHOLD)
    assert (fixed in calls) is not operator_set
    assert (memory.M_ARENA_MAX, memory.SYNC_ARENAS) in calls


def test_the_imports_are_frozen_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test suite runs the CLI's entry point many times in one process: only the first
    call may freeze, or every later one would keep what the tests left from collection."""
    calls: list[None] = []
    monkeypatch.setattr(memory, "_frozen", False)
    monkeypatch.setattr(memory.gc, "freeze", lambda: calls.append(None))
    memory.freeze_imports()
    memory.freeze_imports()
    assert len(calls) == 1


def test_a_sync_collects_young_objects_less_often_and_puts_it_back() -> None:
    """Inside the block the youngest generation waits for SYNC_YOUNG_THRESHOLD allocations;
    the thresholds come back when the last block (of parallel ones) ends."""
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        with memory.fewer_collections():
            assert gc.get_threshold() == (memory.SYNC_YOUNG_THRESHOLD, 10, 10)
            with memory.fewer_collections():  # a second run in the same process
                pass
            assert gc.get_threshold() == (memory.SYNC_YOUNG_THRESHOLD, 10, 10)
        assert gc.get_threshold() == (700, 10, 10)
        with pytest.raises(RuntimeError), memory.fewer_collections():
            raise RuntimeError("a failed sync")
        assert gc.get_threshold() == (700, 10, 10)
    finally:
        gc.set_threshold(*before)


@pytest.mark.parametrize("operators", [(0, 10, 10), (100_000, 5, 5)], ids=["off", "higher"])
def test_an_operators_collector_setting_is_left_alone(operators: tuple[int, int, int]) -> None:
    before = gc.get_threshold()
    try:
        gc.set_threshold(*operators)
        with memory.fewer_collections():
            assert gc.get_threshold() == operators
        assert gc.get_threshold() == operators
    finally:
        gc.set_threshold(*before)


def test_run_sync_reads_with_fewer_collections(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The partitions run inside `fewer_collections`; the threshold is back after the run."""
    from accountability import pipeline
    from accountability.config.registry_file import EXAMPLE_REGISTRY, load_registry_file
    from accountability.config.settings import load_settings

    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setattr(pipeline, "check_credentials", lambda *_: None)
    monkeypatch.setattr(pipeline, "check_sources", lambda *_: (0, 0))
    seen: list[tuple[int, int, int]] = []

    def execute(plan: Any, window: Any) -> list[Any]:
        seen.append(gc.get_threshold())
        return [pipeline.PartitionResult([]) for _ in plan]

    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        registry = load_registry_file(EXAMPLE_REGISTRY).registry
        pipeline.run_sync(load_settings(), registry, execute)
        assert seen == [(memory.SYNC_YOUNG_THRESHOLD, 10, 10)]
        assert gc.get_threshold() == (700, 10, 10)
    finally:
        gc.set_threshold(*before)
