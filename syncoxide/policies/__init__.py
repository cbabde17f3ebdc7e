"""Backup policies as code: YAML files declaring repositories, sources and policies."""
