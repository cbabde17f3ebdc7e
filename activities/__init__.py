"""Temporal activities: heartbeats, cancellation and error classes around calls into the core."""
