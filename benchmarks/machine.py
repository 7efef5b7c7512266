"""The "Machine: ... Date: ..." line that bench_api.py and bench_store.py open their Markdown sections with."""

from __future__ import annotations

import datetime
import os
import platform


def machine_and_date() -> str:
    """Cores, architecture, physical memory and today's date, as RESULTS.md records them."""
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"Machine: {os.cpu_count()}-core {platform.machine()} CPU, {memory_gib:.0f} GiB. Date: {datetime.date.today()}."
    )
