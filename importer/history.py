"""Every import can be undone. Rows an import writes carry its import_id; rows it deletes or
rewrites are moved to <table>_replaced (replaced_by = the import), so undoing it deletes what it
wrote and puts back, exactly, what it replaced. An import whose every row a later import has
replaced is superseded: its kept rows are dropped, and it can no longer be undone on its own."""
from datetime import datetime

import duckdb

from db import schema

# Tables with data of their own, which keep a township in the atlas.
_DATA = {"rooms": "township_code", "screenings": "township_code", "cases": "township_code",
         "screening_summaries": "township_code", "screening_targets": "township_code",
         "case_summaries": "township_code",
         "boundaries": "region_code"}


class UndoRefused(Exception):
    """`code` is a key of messages.PROBLEMS, `detail` fills it in."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(f"{code}: {detail}")
        self.code, self.detail = code, detail


def next_import_id(con) -> int:
    return con.execute("select coalesce(max(import_id), 0) + 1 from imports").fetchall()[0][0]


def replace(con, table: str, where: str, import_id: int, params: dict | None = None) -> int:
    """Move the rows of `table` that `where` selects (the table is aliased t) to its _replaced
    twin, for undo. Returns how many. `table` is one of schema.UNDOABLE, never user input."""
    assert table in schema.UNDOABLE
    bound = {"import_id": import_id, **(params or {})}
    moved = con.execute(f"""insert into {table}_replaced by name
                            select t.*, $import_id as replaced_by from {table} as t where {where}""",
                        bound).fetchall()[0][0]
    if moved:
        con.execute(f"delete from {table} as t where {where}", {k: v for k, v in bound.items()
                                                                  if f"${k}" in where})
    return int(moved)


def join_atlas(con, codes_sql: str, import_id: int) -> None:
    """Bring the townships `codes_sql` selects into the atlas, remembering which were new."""
    con.execute(f"""insert into atlas_joins
                    select $import_id, region_code from regions
                    where level = 'township' and not in_atlas and region_code in ({codes_sql})""",
                {"import_id": import_id})
    con.execute("update regions set in_atlas = true where region_code in "
                "(select region_code from atlas_joins where import_id = $import_id)", {"import_id": import_id})


def supersede(con, import_id: int) -> list[int]:
    """Earlier imports none of whose rows are left after `import_id`: drop what they kept."""
    touched = set()
    for table in schema.UNDOABLE:
        touched |= {r[0] for r in con.execute(
            f"select distinct import_id from {table}_replaced where replaced_by = ? and import_id is not null",
            [import_id]).fetchall()}
    gone = []
    for earlier in sorted(touched):
        if any(con.execute(f"select 1 from {table} where import_id = ? limit 1", [earlier]).fetchall()
               for table in schema.UNDOABLE):
            continue
        for table in schema.UNDOABLE:
            con.execute(f"delete from {table}_replaced where replaced_by = ?", [earlier])
        con.execute("update imports set superseded_by = ? where import_id = ?", [import_id, earlier])
        gone.append(earlier)
    return gone


def blockers(con, import_id: int) -> list[int]:
    """Later imports that replaced some of this import's rows (to be undone first)."""
    later = set()
    for table in schema.UNDOABLE:
        later |= {r[0] for r in con.execute(
            f"select distinct replaced_by from {table}_replaced where import_id = ?", [import_id]).fetchall()}
    return sorted(later)


def undo(db, import_id: int, user: str, wait: float = 120.0, scope: list[str] | None = None) -> dict:
    """Undo one committed import: its rows go, the rows it replaced come back, the data version
    moves on. Raises UndoRefused (nothing written) when it cannot, or when the import holds rows of
    a township outside ``scope`` (the person's regions, code prefixes; None: everything)."""
    with schema.open_waiting(db, read_only=False, wait=wait) as con:
        found = con.execute("select file_name, kind, undone_at, superseded_by from imports where import_id = ?",
                            [import_id]).fetchall()
        if not found:
            raise UndoRefused("undo_no_such_import", str(import_id))
        file_name, kind, undone_at, superseded_by = found[0]
        if undone_at is not None:
            raise UndoRefused("undo_already", f"{import_id}（{str(undone_at)[:16]}）")
        if superseded_by is not None:
            raise UndoRefused("undo_superseded", f"{import_id}|{superseded_by}")
        if scope and list(scope) != [""]:
            from queries import runner

            runner.define_rules(con)  # import_in_scope: the one rule of whose an import is
            if not con.execute("select import_in_scope($id, $scope)",
                               {"id": import_id, "scope": list(scope)}).fetchall()[0][0]:
                raise UndoRefused("undo_outside_viewer", str(import_id))
        later = blockers(con, import_id)
        if later:
            raise UndoRefused("undo_later_first", f"{import_id}|{'、'.join(map(str, later))}")
        removed = restored = 0
        try:
            with schema.transaction(con, f"undo import {import_id}: {file_name}"):
                for table in schema.UNDOABLE:
                    removed += con.execute(f"delete from {table} where import_id = ?", [import_id]).fetchall()[0][0]
                    restored += con.execute(f"""insert into {table} by name
                                                select * exclude (replaced_by) from {table}_replaced
                                                where replaced_by = ?""", [import_id]).fetchall()[0][0]
                    con.execute(f"delete from {table}_replaced where replaced_by = ?", [import_id])
                # townships it brought into the atlas leave it again when no data of theirs is left
                left = " and ".join(f"not exists (select 1 from {t} where {t}.{c} = j.region_code)"
                                    for t, c in _DATA.items())
                con.execute(f"""update regions set in_atlas = false where region_code in (
                                    select j.region_code from atlas_joins as j
                                    where j.import_id = ? and {left})""", [import_id])
                con.execute("delete from atlas_joins where import_id = ?", [import_id])
                con.execute("update imports set undone_at = ?, undone_by = ? where import_id = ?",
                            [datetime.now(), user, import_id])
        except duckdb.ConstraintException as error:  # a later import holds the same records
            raise UndoRefused("undo_conflict", str(error)[:160]) from None
        con.execute("checkpoint")
    return {"import_id": import_id, "file": file_name, "kind": kind, "removed": int(removed),
            "restored": int(restored)}
