"""The local filesystem as every layer must treat it: names are bytes (``names``), and nothing below a folder
the user named is reached through a symlink (``nofollow``). Standard library only: the CLI's fast path uses it."""
