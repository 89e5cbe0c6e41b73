"""`python -m accountability.cli`: the same as the `accountability` command."""

from accountability.cli.commands import main

main()
