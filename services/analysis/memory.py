"""Give memory that the process freed back to the operating system.

glibc keeps freed heap memory for reuse instead of returning it, and a worker runs two memory-hungry
stages side by side (the voice embeddings in one thread, Whisper in another), each in its own malloc
arena. What one stage freed then stays in the process's resident size while the other grows, and the
worker's peak is the sum of both stages' high-water marks. Trimming after each stage's large
temporary buffers are freed lowers the peak of a 60-minute recording by about 150 MB
(docs/BENCHMARKS.md, "Memory"). On other C libraries (musl, macOS) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


def release_freed_memory() -> bool:
    """Return the heap's free pages to the OS (``malloc_trim``); False where the C library has none.

    Costs a few milliseconds, so call it after a stage or a batch, never per item.
    """
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
