"""A cache of rows that change rarely (an institution's code and level, a jurisdiction's
local parameters), one per application, so that a settlement spends no query on them.

Entries expire after `seconds`, so a change made through another worker process reaches
this one within that time; a change made through this one clears the cache at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import TypeVar, cast

V = TypeVar("V")
SECONDS = 5.0


class TtlCache:
    def __init__(self, seconds: float = SECONDS, size: int = 4096) -> None:
        self.seconds = seconds
        self.size = size
        self._entries: dict[Hashable, tuple[float, object]] = {}

    def get(self, key: Hashable, load: Callable[[], V]) -> V:
        now = time.monotonic()
        found = self._entries.get(key)
        if found is not None and found[0] > now:
            return cast(V, found[1])
        value = load()
        if self.seconds > 0:
            if len(self._entries) >= self.size:
                self._entries.clear()
            self._entries[key] = (now + self.seconds, value)
        return value

    def forget(self, key: Hashable) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()
