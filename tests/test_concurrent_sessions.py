"""Acceptance (issue 14): 20 logged-in sessions reading while an import commits: no error, no torn
read. Each session logs in (accounts.authenticate, as the login page does) and rereads the county's
township indicators the way the pages do (ui.data's short read-only connection, the viewer's
scope), with a pause between reruns like a person's; meanwhile importer.pipeline.run commits a
ledger that changes three townships at once. Every read must equal the table before the import or
the table after it, never a mix."""
import random
import threading
import time

import duckdb

from access import accounts
from importer import pipeline
from queries import indicators
from tests.test_import_files import LIANYUN, TODAY, XUGOU, assert_imported, atlas, city_db, write_csv  # noqa: F401
from ui import data

SESSIONS = 20
PASSWORD = "correct horse 1"
BANQIAO = "320703004000"  # 板桥街道, 连云区


def read_table(db: str, viewer, period: str):
    with data._connect(db) as con:  # the pages' own read door: read-only, waits for a writer
        return indicators.table(con, "township", period, viewer.scope)


def fingerprint(frame) -> str:
    return frame.sort_values("region_code").to_json(orient="records", force_ascii=False)


def test_twenty_sessions_read_while_an_import_commits(atlas, tmp_path):  # noqa: F811
    db = str(atlas)
    with duckdb.connect(db) as con:
        accounts.add_user(con, "ana", PASSWORD, "analyst", ["320703000000"])  # 连云区
    with data._connect(db) as con:
        period = indicators.latest_month(con, ["320703"])
    ledger = write_csv(tmp_path / "regions.csv", [["乡镇", "户数"], ["墟沟街道", "12001"], ["连云街道", "12002"],
                                                  ["板桥街道", "12003"]])

    seen: list[list[str]] = [[] for _ in range(SESSIONS)]
    errors: list[BaseException] = []
    started = threading.Barrier(SESSIONS + 1)
    imported = threading.Event()

    def session(n: int) -> None:
        try:
            viewer = accounts.authenticate(db, "ana", PASSWORD)
            rng = random.Random(n)
            seen[n].append(fingerprint(read_table(db, viewer, period)))
            started.wait(timeout=120)
            while not imported.is_set():
                time.sleep(rng.uniform(0.02, 0.15))  # a person's rerun, not a busy loop
                seen[n].append(fingerprint(read_table(db, viewer, period)))
            seen[n].append(fingerprint(read_table(db, viewer, period)))  # once more, after the commit
        except BaseException as error:  # noqa: BLE001 - reported below, with the thread's number
            errors.append(error)
            started.abort()

    threads = [threading.Thread(target=session, args=(n,)) for n in range(SESSIONS)]
    for thread in threads:
        thread.start()
    try:
        started.wait(timeout=120)  # every session has logged in and read once
        time.sleep(0.3)
        result = pipeline.run(ledger, db, today=TODAY)
    finally:
        imported.set()
        for thread in threads:
            thread.join(timeout=120)
    assert not errors, errors
    assert_imported(result)

    viewer = accounts.viewer_for(duckdb.connect(db, read_only=True), "ana")
    after = fingerprint(read_table(db, viewer, period))
    before = seen[0][0]
    assert before != after
    for n, reads in enumerate(seen):
        assert set(reads) <= {before, after}, f"session {n} read a table that is neither before nor after"
        assert reads[0] == before and reads[-1] == after
    assert sum(len(reads) for reads in seen) > 3 * SESSIONS  # they really were reading meanwhile
    assert {XUGOU, LIANYUN, BANQIAO} <= set(read_table(db, viewer, period)["region_code"])
