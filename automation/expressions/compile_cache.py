"""A least-recently-used cache of compiled expressions and templates, bounded by the memory its entries are
estimated to hold rather than by their number: 4,096 entries of 50,000-character templates were 8 GB.

The estimate is per source character (a compiled template held 11–60 bytes per character of its source,
measured with tracemalloc; short ones cost most per character) plus a fixed part, so it errs high. A failure
(the source does not parse) is cached too: a document repeating one broken template 1,000 times compiles it
once. Thread-safe: a web process serves requests from threads.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable

BYTES_PER_CHARACTER = 64
BYTES_PER_ENTRY = 4096


def estimated_bytes(text: str) -> int:
    return BYTES_PER_ENTRY + BYTES_PER_CHARACTER * len(text)


class CompileCache:
    """`get(key, text, build)`: the cached value of `build()`, or the exception it raised, re-raised."""

    def __init__(self, budget: Callable[[], int], cached_errors: tuple):
        self._budget = budget  # read at each insert, so a test's settings override applies
        self._cached_errors = cached_errors
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.bytes = 0
        self.builds = 0  # how many times `build` ran: a test counts compilations through this

    def get(self, key, text: str, build: Callable):
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
        if entry is None:
            entry = self._build(build)
            self._insert(key, entry, estimated_bytes(text))
        ok, value = entry[0], entry[1]
        if not ok:
            raise value
        return value

    def _build(self, build: Callable) -> tuple:
        self.builds += 1
        try:
            return (True, build())
        except self._cached_errors as exc:
            return (False, exc.with_traceback(None))

    def _insert(self, key, entry: tuple, size: int) -> None:
        budget = self._budget()
        if size > budget:
            return  # larger than the whole cache: used once, not kept
        with self._lock:
            if key in self._entries:
                return
            self._entries[key] = (*entry, size)
            self.bytes += size
            while self.bytes > budget:
                _, evicted = self._entries.popitem(last=False)
                self.bytes -= evicted[2]

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.bytes = 0
