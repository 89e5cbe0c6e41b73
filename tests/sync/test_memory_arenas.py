"""What a sync sets for memory while it runs (accountability/memory.py): the malloc-arena cap
before its threads start, the cycle collector's thresholds."""

from __future__ import annotations

import gc
import platform
import sys

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


def test_the_sync_relaxes_the_cycle_collector_only_while_it_runs() -> None:
    before = gc.get_threshold()
    with memory.relaxed_gc():
        assert gc.get_threshold() == memory.SYNC_GC_THRESHOLDS
    assert gc.get_threshold() == before
    with pytest.raises(RuntimeError), memory.relaxed_gc():
        raise RuntimeError("a partition failed")
    assert gc.get_threshold() == before  # restored after a failure too
