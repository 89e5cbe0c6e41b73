"""Prefect flows: orchestration only; the work is done by `accountability`, `rules`, `storage`."""
