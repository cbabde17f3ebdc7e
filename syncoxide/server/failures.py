"""Failed attempts per client address, so guessing a token or a password is slowed to a halt: after
``allowed`` failures within ``window_s`` an address is refused (429) until the oldest one ages out.

The table is bounded: past ``max_addresses`` the addresses with no failure left in the window go
first, then the oldest, so a flood from many addresses costs memory once, not forever.
"""

from __future__ import annotations

import time
from collections import deque

MAX_ADDRESSES = 10_000


class FailureThrottle:
    def __init__(self, allowed: int, window_s: float, max_addresses: int = MAX_ADDRESSES):
        self.allowed = allowed
        self.window_s = window_s
        self.max_addresses = max_addresses
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, address: str) -> deque[float]:
        failures = self._failures.get(address)
        if failures is None:
            return deque()
        horizon = time.monotonic() - self.window_s
        while failures and failures[0] < horizon:
            failures.popleft()
        if not failures:
            del self._failures[address]
        return failures

    def blocked(self, address: str) -> bool:
        return len(self._recent(address)) >= self.allowed

    def retry_after_s(self, address: str) -> int:
        """Seconds until this address may try again (0: now)."""
        failures = self._recent(address)
        if len(failures) < self.allowed:
            return 0
        return max(1, int(failures[0] + self.window_s - time.monotonic()) + 1)

    def failed(self, address: str) -> None:
        if address not in self._failures and len(self._failures) >= self.max_addresses:
            self._make_room()
        self._failures.setdefault(address, deque()).append(time.monotonic())

    def _make_room(self) -> None:
        for address in list(self._failures):
            self._recent(address)
        while len(self._failures) >= self.max_addresses:
            del self._failures[next(iter(self._failures))]
