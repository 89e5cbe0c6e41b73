"""Application shell: command line, settings and the glue the CLI needs.

Domain logic lives in `rules/`, I/O in `connectors/` and `storage/`, orchestration in `flows/`.
"""
