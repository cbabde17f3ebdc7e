"""One router per resource; app.py mounts them all under /api/v1 (health also at /healthz)."""
