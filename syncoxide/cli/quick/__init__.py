"""search and scan through the worker's catalog socket, importing nothing beyond the standard library."""
