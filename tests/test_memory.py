"""Freed heap memory goes back to the operating system (glibc's malloc_trim), as the worker's peak needs."""

from __future__ import annotations

import ctypes
import ctypes.util
import platform

import psutil
import pytest

from services.analysis.memory import release_freed_memory

BLOCK = 4096
BLOCKS = 50_000  # 200 MB in blocks small enough for malloc's heap (not its own mmap)


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_freed_heap_pages_are_returned() -> None:
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
    rss = psutil.Process().memory_info
    blocks = [libc.malloc(BLOCK) for _ in range(BLOCKS)]
    for block in blocks:
        libc.memset(block, 1, BLOCK)  # touch the pages, so they are resident
    pin = libc.malloc(BLOCK)  # above the rest: glibc cannot give the heap back by shrinking it
    for block in blocks:
        libc.free(block)
    held = rss().rss

    assert release_freed_memory()
    assert held - rss().rss > 100 * 2**20
    libc.free(pin)
