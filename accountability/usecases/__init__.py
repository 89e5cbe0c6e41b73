"""What the product does, one module per use case (sync, evaluate, dispatch, governance,
digest), as plain functions the CLI, the flows, the web app and the tests share."""
