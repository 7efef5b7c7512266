"""Holding Ctrl-C and SIGTERM back for the few milliseconds in which a finished visit changes hands.

A visit leaves the visit builder and enters the durable outbox in one step; a signal in between would
lose it. Inside :func:`signals_deferred` the two signals are only noted, and delivered as soon as the
block ends, so the run still stops at once, just never in the middle of that step.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

DEFERRED = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Note SIGINT and SIGTERM during the block and raise them again right after it.

    Only the main thread receives Python signal handlers; elsewhere this does nothing.

    >>> import os
    >>> previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C raises KeyboardInterrupt
    >>> try:
    ...     with signals_deferred():
    ...         os.kill(os.getpid(), signal.SIGINT)
    ...         finished = True
    ... except KeyboardInterrupt:
    ...     print("interrupted after the block, finished =", finished)
    interrupted after the block, finished = True
    >>> _ = signal.signal(signal.SIGINT, previous)
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {number: signal.signal(number, lambda received, _frame: caught.append(received)) for number in DEFERRED}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        for number in dict.fromkeys(caught):
            signal.raise_signal(number)
