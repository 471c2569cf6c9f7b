"""The app lets go of an idle store and opens it again: the page caches keyed on its content stay warm."""

from __future__ import annotations

from pathlib import Path

from cimic_geo.auth import Actor
from cimic_geo.store.content_stamp import content_stamp, raw_stamp
from cimic_geo.store.shared import SharedStore
from cimic_geo.store.users import record_sign_in


def test_closing_a_store_keeps_its_content_stamp(demo_db_copy: Path) -> None:
    # linger 0: the file is closed as soon as the run ends (the app does so after 10 s without runs)
    shared = SharedStore(demo_db_copy, linger_s=0)
    cursor = shared.acquire()
    record_sign_in(cursor, Actor("duty", "user", "editor"))  # a commit: the write-ahead log holds it
    content, raw = content_stamp(demo_db_copy), raw_stamp(demo_db_copy)
    shared.release(cursor)
    assert not shared.is_open()
    # the close checkpointed the log into the database file (a new file stamp) ...
    assert raw_stamp(demo_db_copy) != raw
    # ... for the same content: the stamp the caches are keyed on holds, and holds when the file is opened again
    assert content_stamp(demo_db_copy) == content
    cursor = shared.acquire()
    try:
        assert content_stamp(demo_db_copy) == content
        assert len(cursor.read("settlements")) > 0
    finally:
        shared.release(cursor)
    # a data write after it still moves the stamp
    cursor = shared.acquire()
    try:
        one = cursor.read("settlements").head(1)
        one["population"] = one["population"] + 1
        cursor.write("settlements", one, mode="upsert")
        assert content_stamp(demo_db_copy) != content
    finally:
        shared.release(cursor)
    assert content_stamp(demo_db_copy) != content
