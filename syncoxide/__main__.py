"""`python -m syncoxide`, the same as the `syncoxide` command."""

from syncoxide.entry import main

main()
