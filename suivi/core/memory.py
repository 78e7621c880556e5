"""Handing freed memory back to the system between the steps of a large load.

pyarrow's allocator (mimalloc) and glibc's keep the pages of freed objects for reuse: after a
national Parquet file was read into categories (63 MB of frame), 250 MB of decoding buffers
stayed in the process through the whole validation; after the staged frames were dropped,
85 MB more stayed while DuckDB computed the statuses. The init's peak memory was their sum
with the engine's work (bench/README.md, stop 24).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools


@functools.cache
def _malloc_trim():
    """glibc's malloc_trim, or None elsewhere (musl, macOS)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


#: Rows of data just let go of below which handing pages back is not worth its few ms.
WORTH_IT_ROWS = 100_000


def give_back(rows: int) -> None:
    """Return the pages the allocators keep to the system (a few milliseconds), after
    `rows` rows of data were let go of: below WORTH_IT_ROWS, nothing to gain."""
    if rows < WORTH_IT_ROWS:
        return
    try:
        import pyarrow
    except ImportError:
        pyarrow = None
    if pyarrow is not None:
        pyarrow.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
