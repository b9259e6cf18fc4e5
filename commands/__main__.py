"""`python -m commands` runs the `myctl` CLI."""

from commands.cli.main import main

main()
