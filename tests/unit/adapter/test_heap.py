"""freeze_startup_heap: start-up objects leave the collector's walks; new cycles still go."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Iterator

import pytest

from adapter.heap import YOUNG_THRESHOLD, freeze_startup_heap


@pytest.fixture
def restored_collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restored_collector")
def test_startup_objects_are_frozen_and_later_cycles_still_collected() -> None:
    """After the call the live heap is frozen, the young threshold raised, and a cycle made
    afterwards is still reclaimed by a collection."""
    gc.unfreeze()
    freeze_startup_heap()
    assert gc.get_freeze_count() > 1000
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD > 700

    class Node:
        other: object

    a, b = Node(), Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    del a, b
    gc.collect()
    assert gone() is None


@pytest.mark.usefixtures("restored_collector")
def test_a_thread_other_than_the_main_one_freezes_nothing() -> None:
    """On a service's feed thread the call leaves the collector as it was."""
    gc.unfreeze()
    threshold = gc.get_threshold()
    worker = threading.Thread(target=freeze_startup_heap)
    worker.start()
    worker.join()
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == threshold
