"""Pausing the cyclic garbage collector around bulk work.

Building millions of small dicts and tuples triggers a full collection again and again,
each one walking every live object; the bulk paths create no reference cycles, so pausing
the collector there is safe and more than halves their time (measured: validating a
100,000-ONT document, 7.4 s with the collector running, 3.1 s paused).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic collector inside the block (re-entrant; restores the old state).

    Examples
    --------
    >>> import gc
    >>> with gc_paused():
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
