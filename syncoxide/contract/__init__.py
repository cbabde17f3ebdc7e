"""The Temporal contract, said once: every payload type (payloads.py) and every workflow, activity,
signal and query with its types, task queue, timeouts and retry policy (temporal.py).

Workflows, activities, the worker's registration and the clients all read it, so a rename or a type
change breaks at import, not at run time. Nothing here starts, runs or connects to anything.
"""
