"""`python -m syncoxide.cli`: the full command line."""

from syncoxide.cli.app import main

main()
