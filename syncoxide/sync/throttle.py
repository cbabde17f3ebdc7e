"""An optional bandwidth limit shared by every transfer of a run (a token bucket)."""

from __future__ import annotations

import threading
import time


class Limiter:
    def __init__(self, bytes_per_s: int | None):
        self.rate = bytes_per_s
        self._lock = threading.Lock()
        self._allowance = float(bytes_per_s or 0)
        self._last = time.monotonic()

    def take(self, n: int) -> None:
        if not self.rate or n <= 0:
            return
        with self._lock:
            now = time.monotonic()
            self._allowance = min(float(self.rate), self._allowance + (now - self._last) * self.rate)
            self._last = now
            self._allowance -= n
            wait = -self._allowance / self.rate if self._allowance < 0 else 0.0
        if wait > 0:
            time.sleep(wait)
