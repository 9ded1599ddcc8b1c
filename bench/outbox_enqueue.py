"""Benchmark: how many records per second the outbox queues into SQLite.

Target (issue 5): at least 20,000 records/s into the embedded SQLite store.

What is measured, into a freshly migrated SQLite store (WAL, ``synchronous=FULL``), in
transactions of 5,000 records as the delta engine commits them, for realistic records (a child
with identifiers, an address, a parent, a school, a GP and an involvement, as the synthetic
generator makes them):

* ``prepared``: ``enqueue_prepared`` of records already serialised to canonical XML (the delta
  engine serialises each record anyway, to hash it): messageId check, AES-GCM encryption, the
  supersession check and the insert. This is the outbox's own cost, and the figure the target
  is about.
* ``models``: ``enqueue`` of ``Record`` models, which adds serialisation by the contract's codec
  (:mod:`ldi.xmlcodec`) to the above, for comparison.

Records (and, for ``prepared``, their XML) are built before the clock starts.

Run: ``.venv/bin/python -m bench.outbox_enqueue [--records 100000]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from hub.synthetic import national_children, record_for
from ldi.models import Record
from outbox import migrations
from outbox.crypto import KeyRing, generate_key
from outbox.entries import enqueue, enqueue_prepared, message_id, prepare
from outbox.store import create_store_engine

SOURCE = "FWK891"
CHUNK = 5000


def build_records(count: int) -> list[Record]:
    """Realistic records with outbox message ids (built before timing)."""
    children = national_children(count, seed=5, on=date.today())
    out = []
    for i, child in enumerate(children):
        out.append(
            record_for(
                child,
                message_id=message_id(SOURCE, f"S-{i}", 1),
                source_record_id=f"S-{i}",
                version=1,
            )
        )
    return out


def _store() -> tuple[tempfile.TemporaryDirectory[str], Engine]:
    directory = tempfile.TemporaryDirectory()
    engine = create_store_engine(f"sqlite:///{Path(directory.name) / 'bench.db'}")
    migrations.upgrade(engine)
    return directory, engine


def main() -> None:
    """Queue ``--records`` records both ways and print records/s."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    print(f"building {args.records} records ...")
    records = build_records(args.records)
    prepared = [prepare(SOURCE, r) for r in records]
    keys = KeyRing([generate_key()])
    for mode in ("prepared", "models"):
        directory, engine = _store()
        started = time.perf_counter()
        for start in range(0, len(records), CHUNK):
            with engine.begin() as conn:
                if mode == "prepared":
                    enqueue_prepared(conn, keys, SOURCE, prepared[start : start + CHUNK])
                else:
                    enqueue(conn, keys, SOURCE, records[start : start + CHUNK])
        elapsed = time.perf_counter() - started
        engine.dispose()
        directory.cleanup()
        print(
            f"{mode:>8}: {len(records)} records in {elapsed:.2f} s -> "
            f"{len(records) / elapsed:,.0f} records/s (target >= 20,000 for prepared)"
        )


if __name__ == "__main__":
    main()
