"""Keeping freed memory for the next run, where the C library allows it (glibc's malloc).

A training step allocates and frees the same arrays every run. glibc's ``malloc`` gives
memory at the top of its heap back to the system as soon as a large enough block there is
freed, so the next run asks for it again and the system hands it out page by page, each first
touch a page fault: a recurrent network's step (a loop keeping every iteration's values for
its gradient, then freeing them all) spent a fifth of its time that way. The first session
therefore asks ``malloc`` to keep ``PAD_BYTES`` at the top of the heap (``M_TOP_PAD``): that
memory stays with the process, ready for the next run. Set the environment variable
``CHAINRULE_HEAP_PAD=0`` to leave ``malloc`` as it is.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys
import threading

__all__ = ["ENV_VAR", "PAD_BYTES", "keep_freed_memory"]

#: environment variable that leaves malloc's settings alone when set to 0
ENV_VAR = "CHAINRULE_HEAP_PAD"

#: how much freed memory at the top of the heap malloc keeps for the process
PAD_BYTES = 64 << 20

#: ``mallopt``'s parameter for the top pad (glibc's ``malloc.h``)
M_TOP_PAD = -2

_lock = threading.Lock()
_asked = False


def keep_freed_memory() -> bool:
    """Once per process, ask glibc's malloc to keep freed memory for the next run; whether
    it agreed (False elsewhere, or when ``CHAINRULE_HEAP_PAD=0``)."""
    global _asked
    with _lock:
        if _asked:
            return False
        _asked = True
    if os.environ.get(ENV_VAR, "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        return bool(libc.mallopt(ctypes.c_int(M_TOP_PAD), ctypes.c_int(PAD_BYTES)))
    except (OSError, AttributeError):
        return False
