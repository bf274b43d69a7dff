"""What an import reports: its problems (errors block it, warnings do not), the township names it
could not match, and the result the page, the CLI and the report read. No database, no parsing."""
from dataclasses import asdict, dataclass, field

import pandas as pd

from importer import messages

MAX_LISTED = 50_000          # problems listed in full; beyond this only counted


@dataclass
class Issue:
    row: int | None
    column: str | None
    value: str | None
    message: str
    expected: str
    code: str
    severity: str = "error"   # error blocks the import; warning does not

    def to_json(self) -> dict:
        return {"row": self.row, "column": self.column, "value": self.value, "message": self.message,
                "expected": self.expected, "code": self.code}


@dataclass
class Unmatched:
    name: str | None
    county: str | None
    code: str | None
    problem: str
    rows: list[int]
    count: int
    candidates: list[dict]

    def to_json(self) -> dict:
        # a "township" column may hold household ids (headers written over the wrong columns)
        return {**asdict(self), "name": messages.echoed(self.name)}


@dataclass
class Result:
    file: str
    kind: str | None = None
    status: str = "rejected"          # imported | unchanged | rejected | dry_run
    rows: int = 0                     # data rows read (blank, total and note rows not counted)
    accepted: int = 0
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    unmatched: list[Unmatched] = field(default_factory=list)
    left_out: list[Unmatched] = field(default_factory=list)  # boundary features not imported, with proposals
    errors_total: int = 0
    replaced: int = 0
    # what the import would replace, per township and span of months: township_code, township,
    # first and last month (YYYY-MM, None for kinds without periods), rows, and the rows the file
    # brings for the same township and months
    replacements: list[dict] = field(default_factory=list)
    needs_replace: bool = False       # it would replace more than it brings: asks for --replace
    duplicates_dropped: int = 0       # the same record twice in the file: kept once
    townships: int = 0
    periods: list[str] = field(default_factory=list)
    skipped: dict = field(default_factory=dict)      # total rows, note rows, blank rows
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)  # every worksheet of a workbook, to pick from
    encoding: str | None = None
    headers: list[str] = field(default_factory=list)
    mapping: dict = field(default_factory=dict)      # header as written -> field name
    remembered: bool = False                          # the mapping came from an earlier file
    unmapped: list[dict] = field(default_factory=list)
    duplicate_headers: list[dict] = field(default_factory=list)  # [{field, header, columns: [{header, letter}]}]
    header_row: int | None = None                     # the Excel row (CSV line) the headers were read from
    township: dict | None = None      # the whole file's township (--township): code, name, county_name
    township_missing: bool = False    # no column names the township: the page offers to name it
    preview: pd.DataFrame | None = None
    file_hash: str = ""
    import_id: int | None = None
    previous_import: dict | None = None
    seconds: float = 0.0

    def to_json(self) -> dict:
        return {
            "file": self.file, "kind": self.kind, "status": self.status, "rows": self.rows,
            "accepted": self.accepted, "errors": [e.to_json() for e in self.errors],
            "errors_total": self.errors_total,
            "warnings": [w.to_json() for w in self.warnings],
            "unmatched": [u.to_json() for u in self.unmatched],
            "left_out": [u.to_json() for u in self.left_out], "replaced": self.replaced,
            "replacements": self.replacements, "needs_replace": self.needs_replace,
            "duplicates_dropped": self.duplicates_dropped,
            "townships": self.townships, "periods": self.periods, "skipped": self.skipped,
            "sheet": self.sheet, "sheets": self.sheets, "encoding": self.encoding, "mapping": self.mapping,
            "unmapped": self.unmapped, "duplicate_headers": self.duplicate_headers,
            "header_row": self.header_row, "township": self.township, "township_missing": self.township_missing,
            "file_hash": self.file_hash, "import_id": self.import_id,
            "previous_import": self.previous_import, "seconds": round(self.seconds, 2),
        }


class Problems:
    """Collects issues, listing the first MAX_LISTED errors and counting the rest."""

    def __init__(self, result: Result):
        self.result = result

    def add(self, code: str, row=None, column=None, value=None, detail: str = "", severity="error"):
        code, carried = messages.split(code)  # a cell parser's "bad_month|13"
        detail = detail or messages.echoed(carried)
        why, expected = messages.describe(code, detail)
        if value is not None and not isinstance(value, str):
            value = str(value)
        value = messages.echoed(value)  # never a household id, whatever header it was under
        issue = Issue(None if row is None else int(row), column, value, why, expected, code, severity)
        if severity == "warning":
            if len(self.result.warnings) < MAX_LISTED:
                self.result.warnings.append(issue)
            return
        self.result.errors_total += 1
        if len(self.result.errors) < MAX_LISTED:
            self.result.errors.append(issue)
