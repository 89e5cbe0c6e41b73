"""The web app of SPEC §13: read views and signed, one-click governance actions."""
