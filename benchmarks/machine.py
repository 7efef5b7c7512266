"""The "Machine: ... Date: ..." line that bench_api.py and bench_store.py open their Markdown sections with."""

from __future__ import annotations

import datetime
import os
import platform


def cpu_model() -> str:
    """The processor's model name as Linux reports it (results differ severalfold between machine classes),
    else the architecture."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            names = [line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")]
    except OSError:
        names = []
    return names[0] if names else f"{platform.machine()} CPU"


def machine_and_date() -> str:
    """Cores, processor, physical memory and today's date, as RESULTS.md records them."""
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"Machine: {os.cpu_count()}-core {cpu_model()}, {memory_gib:.0f} GiB. Date: {datetime.date.today()}."
