"""How fast this machine is right now: a fixed CPU loop, timed (not a benchmark itself).

Why: the project's 2-core machine changes speed by up to 2x within a session (other tenants),
so a benchmark figure means little without the machine's speed at the time. Each benchmark that
reports against a target prints this loop's time beside its figures (and the pipeline benchmark
stores it in its results), so two runs can be compared: the same code on a slower moment shows
a proportionally longer loop. Pure Python and lxml element building, the two kinds of work the
adapter does per record; about a second on the machine at its best.
"""

from __future__ import annotations

import time

from lxml import etree


def cpu_loop_seconds() -> float:
    """CPU seconds this process spends on the fixed loop."""
    started = time.process_time()
    total = 0
    for i in range(10_000_000):
        total += i * i % 7
    root = etree.Element("Root")
    for i in range(400_000):
        etree.SubElement(root, "Item").text = str(i)
    return round(time.process_time() - started, 3)
