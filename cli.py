"""Federation Atlas command line: build the demo, print indicators, import, export, manage accounts.

    python cli.py demo [--db PATH] [--seed N] [--scale X]
    python cli.py demo --scale national [--db PATH] [--seed N] [--provinces 32,11] [--rows 0.01]
                       (every county and township of China, 10,000,000 screenings, 1,000,000 cases,
                        30,000 rooms; --provinces builds only those provinces, --rows a share of the
                        programme rows, both at the full build's density per township)
    python cli.py indicators [--db PATH] [--level township|county|city|province|nation] [--region CODE] [--period P]
                             [--hotspot-of risk|cases] --json
    python cli.py gaps [--db PATH] [--region CODE] [--period P] [--radius-km R] --json
    python cli.py import PATH... [--db PATH] [--kind K] [--map "SRC=field"]... [--match "名称=代码"]...
                         [--sheet NAME] [--header-row N] [--period P] [--township NAME|CODE] [--within CODE]
                         [--dry-run] [--replace] [--json] [--report FILE.xlsx] [--user NAME]
                         (a ledger of one township with no township column: --township names it for
                          every row; without it, townships named in an address column (纠纷发生地点)
                          are proposed and confirmed with --match "名称=代码"; the address is not kept)
                         (boundary files: --within a city or county code matches and imports only
                          that area; --match "名称=" leaves a feature out)
    python cli.py import --undo ID [--db PATH] [--json]
    python cli.py snapshot --view overview|coverage|screening|hotspots [--region CODE] [--period P]
                           --out FILE.png|.pdf|.pptx|.html|.docx [--db PATH]
    python cli.py snapshot --all --out deck.pptx|deck.pdf|brief.docx [--region CODE] [--period P] [--db PATH]
                           (both: [--risk-levels 中,高] [--room-types A,B] [--risk-types A,B] [--case-sources A,B]
                                  [--scheme quantiles|fisher_jenks|equal_interval|fixed] [--k 3-7] [--lock]
                                  [--unit county|township] [--hotspot-of risk|cases])
    python cli.py user add NAME --role admin|analyst|leader|presenter --region CODE...|all [--sso EMAIL] [--db PATH]
    python cli.py user list [--json] [--db PATH]           (never shows passwords or their hashes)
    python cli.py user disable NAME [--db PATH]
    python cli.py user passwd NAME [--db PATH]
                         (the password is read from stdin when piped, else asked twice; --region all:
                          every region, admins only; each change is written to the audit log)
    python cli.py lake init [--from FILE | --demo [--scale S]] [--db ducklake:postgres:...] [--data-path DIR]
    python cli.py lake status [--json] [--db ...]        (snapshots, and each table's Parquet files)
    python cli.py lake compact [--db ...]                (merge the small files of many small commits)
                         (--db, or ATLAS_DB, may be a DuckLake everywhere: ducklake:postgres:<connection
                          string>, with the data folder in --data-path or ATLAS_DATA_PATH; see the README)

indicators, gaps and snapshot take --user NAME: what that account would see (its regions); an
unknown or disabled account is a usage error. import and import --undo are written to the audit
log (as the --user account when it is one).

import exits 0 when every file imported (or was already imported), 1 when any file was rejected
(nothing of that file written), 2 on a usage error.
"""
import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from db import lake, paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cli.py", description="Federation Atlas (妇联工作地图)")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="build the demo city (连云港市), or all of China, into the database")
    demo.add_argument("--db", help="database path (default: $ATLAS_DB or data/atlas.duckdb)")
    demo.add_argument("--seed", type=int, default=None, help="random seed (same seed, same database)")
    demo.add_argument("--scale", type=_scale, default=1.0,
                      help="household multiplier of the city demo (tests use 0.05), or 'national': every county "
                           "and township of China with 10,000,000 screenings, 1,000,000 cases, 30,000 rooms")
    demo.add_argument("--provinces", type=_provinces, default=None,
                      help="national only: build these provinces (2-digit codes, comma-separated: 32 for 江苏省)")
    demo.add_argument("--rows", type=float, default=None,
                      help="national only: the share of the programme rows to generate (0.01 for a quick build)")

    ind = sub.add_parser("indicators", help="print indicators per region for one period",
                         description="screening_rate is the period's own; screening_rate_ytd (本年累计) runs from "
                                     "1 January to the period's end, and screening_rate_added is what the period "
                                     "added to it (a 0-1 difference: percentage points / 100).")
    ind.add_argument("--db", help="database path (default: $ATLAS_DB or data/atlas.duckdb)")
    ind.add_argument("--level", choices=["township", "county", "city", "province", "nation"], default="township")
    ind.add_argument("--region", help="12-digit code of a city, county or township to limit to")
    ind.add_argument("--period", help="2024, 2024Q1 or 2024-03 (default: latest complete month with data)")
    ind.add_argument("--json", action="store_true", help="print a JSON array (the stable interface)")
    ind.add_argument("--user", help="print what this account would see (its regions; small counts suppressed "
                                    "unless an admin); default: the demo view, small counts suppressed")
    ind.add_argument("--hotspot-of", choices=["risk", "cases"], default="risk",
                     help="what the hotspot fields describe: risk per 1,000 screened (default) or cases per 10,000 households")

    gap = sub.add_parser("gaps", help="list coverage gaps (盲区): townships and villages without a room")
    gap.add_argument("--db", help="database path (default: $ATLAS_DB or data/atlas.duckdb)")
    gap.add_argument("--region", help="12-digit code of a city, county or township to limit to")
    gap.add_argument("--period", help="2024, 2024Q1 or 2024-03 (default: latest complete month with data)")
    gap.add_argument("--radius-km", type=float, help="also list villages farther than this from every active room")
    gap.add_argument("--json", action="store_true", help="print a JSON array")
    gap.add_argument("--user", help="list only what this account would see (its regions)")

    imp = sub.add_parser("import", help="import ledgers and boundary files (all or nothing per file)")
    imp.add_argument("paths", nargs="*", metavar="PATH", help=".xlsx/.xls/.csv ledgers, .geojson/.zip/.gpkg boundaries")
    imp.add_argument("--db", help="database path (created with the division register if missing)")
    imp.add_argument("--kind", choices=["boundaries", "regions", "rooms", "screening", "screening_summary", "cases",
                                        "targets", "cases_summary"],
                     help="the kind of file (default: detected from the headers)")
    imp.add_argument("--map", action="append", default=[], metavar="SRC=field",
                     help='map a column: "原列名=field" (field names as in the templates; empty field ignores it); '
                          'a column by its letter (CSV: its number) "F=field", or both "发生时间@F=field" '
                          '(a header written twice must be named so); for boundary files "PROPERTY=name|code|county"')
    imp.add_argument("--match", action="append", default=[], metavar="NAME=CODE",
                     help='confirm a township: "禄脿街=320703001000" (stored and reused); for a boundary '
                          'file "名称=" leaves that feature out')
    imp.add_argument("--within", metavar="CODE",
                     help="boundary files: match and import only townships of this city or county "
                          "(12-digit code, or its 4- or 6-digit prefix)")
    imp.add_argument("--sheet", help="the worksheet to read (default: the one with recognisable headers)")
    imp.add_argument("--header-row", type=int, metavar="N",
                     help="the Excel row number (CSV line) of the header, when it is not found on its own; "
                          "columns are then mapped from there (with --map)")
    imp.add_argument("--township", metavar="NAME|CODE",
                     help="ledgers: every row belongs to this township (a file from one 司法所 with no township "
                          "column); a name is matched like any other, a 12-digit code is exact")
    imp.add_argument("--dry-run", action="store_true", help="check and report what would change; write nothing")
    imp.add_argument("--json", action="store_true", help="print one JSON object per file")
    imp.add_argument("--report", help="write the problems as an .xlsx report to this path")
    imp.add_argument("--user", help="who is importing (default: the login name)")
    imp.add_argument("--period", help="the period (2025-04, 2025Q2) of a statistical return (纠纷统计表) whose "
                                      "title and 填报 lines do not say it")
    imp.add_argument("--replace", action="store_true",
                     help="agree to replace more existing rows than a file brings (a partial list); "
                          "without it such a file is rejected and what it would replace is listed")
    imp.add_argument("--undo", type=int, metavar="ID",
                     help="undo import ID (see the import history): its rows go, the rows it replaced come back")

    user = sub.add_parser("user", help="accounts: add, list, disable, change a password")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser("add", help="create an account (the password is read from stdin, or asked twice)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=["admin", "analyst", "leader", "presenter"])
    add.add_argument("--region", nargs="+", required=True, metavar="CODE",
                     help="12-digit codes of cities, counties or townships the account sees; "
                          "'all' for every region (admins only)")
    add.add_argument("--sso", metavar="EMAIL|SUBJECT", help="the single-sign-on identity mapped to this account")
    for name, what in (("list", "list the accounts (never their passwords)"), ("disable", "stop an account logging in"),
                       ("passwd", "set a new password (read from stdin, or asked twice); clears a lock")):
        one = user_sub.add_parser(name, help=what)
        if name != "list":
            one.add_argument("name")
    for one in user_sub.choices.values():
        one.add_argument("--db", help="database path (default: $ATLAS_DB or data/atlas.duckdb)")
    user_sub.choices["list"].add_argument("--json", action="store_true", help="print a JSON array")

    lake_cmd = sub.add_parser("lake", help="the atlas on a DuckLake (PostgreSQL catalog, Parquet files): "
                                           "create it, show its snapshots and files, merge small files")
    lake_sub = lake_cmd.add_subparsers(dest="lake_command", required=True)
    init = lake_sub.add_parser("init", help="create the atlas's tables in an empty lake (with the division "
                                            "register, or every row of an atlas file with --from)")
    source = init.add_mutually_exclusive_group()
    source.add_argument("--from", dest="source", metavar="FILE", help="copy this atlas database file into the lake")
    source.add_argument("--demo", action="store_true", help="the demo city (built first, then copied in)")
    init.add_argument("--scale", type=_scale, default=1.0, help="with --demo: the city demo's household multiplier")
    lake_sub.add_parser("status", help="the current snapshot, the last snapshots and each table's data files"
                        ).add_argument("--json", action="store_true", help="print one JSON object")
    lake_sub.add_parser("compact", help="merge the small Parquet files of many small commits")
    for one in lake_sub.choices.values():
        one.add_argument("--db", help="the lake: ducklake:postgres:<connection string> (default: $ATLAS_DB)")
        one.add_argument("--data-path", help="the lake's shared data folder (default: $ATLAS_DATA_PATH; needed by init)")

    snap = sub.add_parser("snapshot", help="export a view (or the whole deck) as PNG, PDF, PPTX, HTML or a .docx brief")
    what = snap.add_mutually_exclusive_group(required=True)
    what.add_argument("--view", choices=["overview", "coverage", "screening", "hotspots"])
    what.add_argument("--all", action="store_true", help="every view: a whole deck (.pptx or .pdf)")
    snap.add_argument("--region", help="12-digit code of the city or a county (default: the city)")
    snap.add_argument("--period", help="2024, 2024Q1 or 2024-03 (default: latest complete month with data)")
    snap.add_argument("--out", required=True, help="the file to write; its suffix picks the format")
    snap.add_argument("--db", help="database path (default: $ATLAS_DB or data/atlas.duckdb)")
    snap.add_argument("--risk-levels", help="risk levels counted as risk, comma-separated (default: 中,高)")
    snap.add_argument("--room-types", help="room types to count, comma-separated (default: all)")
    snap.add_argument("--risk-types", help="risk types to count, comma-separated (default: all)")
    snap.add_argument("--case-sources", help="case sources to count, comma-separated (default: all)")
    snap.add_argument("--scheme", choices=["quantiles", "fisher_jenks", "equal_interval", "fixed"],
                      help="map classes of the overview and coverage maps (default: quantiles)")
    snap.add_argument("--k", type=int, choices=range(3, 8), metavar="3-7", help="number of classes (default: 5)")
    snap.add_argument("--lock", action="store_true", help="one set of breaks for every period of the same kind")
    snap.add_argument("--unit", choices=["county", "township"],
                      help="what the city's overview and coverage maps colour, as the page's 全市地图单元 (default: county)")
    snap.add_argument("--hotspot-of", choices=["risk", "cases"],
                      help="what the hotspot view tests, as the page's 地图指标: risk per 1,000 screened "
                           "(default) or cases per 10,000 households")
    snap.add_argument("--user", help="export what this account would see (its regions; small counts suppressed "
                                     "unless an admin)")

    args = parser.parse_args(argv)
    from db import schema

    try:
        if args.command == "snapshot":
            return _snapshot(args)
        if args.command == "gaps":
            return _gaps(args)
        if args.command == "demo":
            return _demo(args)
        if args.command == "import":
            return _import(args, parser)
        if args.command == "user":
            return _user(args)
        if args.command == "lake":
            return _lake(args)
        return _indicators(args)
    except lake.NoLake as error:  # the catalog cannot be reached, or holds no atlas yet
        print(f"error: {error}", file=sys.stderr)
        return 2
    except schema.NewerDuckDB as newer:  # a newer DuckDB's file: said plainly, the file untouched
        print(_newer_message(newer.written_by, target_of(args)), file=sys.stderr)
        return 2
    except schema.NotAnAtlas as error:  # said at once: not a lock to wait for, not a traceback
        print(f"not an atlas database: {error} is not a DuckDB database file; point --db at an atlas "
              "database, or at a path that does not exist yet to create one", file=sys.stderr)
        return 2


def target_of(args):
    return paths.db_path(getattr(args, "db", None))


def _newer_message(written_by: str | None, target, kept=None) -> str:
    """What the CLI says of a database written by a newer DuckDB, in Chinese then English: what it
    is, and either that the demo can be built again (or was, `kept` naming the old file) or how
    to move the data. The app says the same words (i18n/text.py)."""
    import duckdb

    from i18n import text

    lines = []
    for lang in ("zh", "en"):
        writer = written_by or text.t("DB_WRITER_UNKNOWN", lang)
        said = text.t("DB_NEWER", lang, name=str(target), writer=writer, ours=duckdb.__version__)
        if kept is not None:
            then = text.t("DB_NEWER_REBUILT", lang, kept=kept)
        elif paths.is_default(target):
            then = text.t("DB_NEWER_DEMO_CLI", lang, kept=target.name + paths.NEWER_SUFFIX)
        else:
            then = text.t("DB_NEWER_KEPT", lang, writer=writer, ours=duckdb.__version__)
        lines.append(f"{said}\n{then}")
    return "error: " + "\n\n".join(lines)


def _set_aside_newer(target) -> None:
    """`cli.py demo` into a newer DuckDB's file: rename that file out of the way (never deleted),
    then build. Any other file at the target is replaced by the build, as always."""
    from db import schema

    found = schema.unreadable(target, wait=0)
    if found is not None and found[0] == "newer":
        kept = paths.set_aside(target)
        print(_newer_message(found[1], target, kept=kept.name).replace("error: ", "note: ", 1), file=sys.stderr)


def _user(args) -> int:
    """user add | list | disable | passwd; each change is written to the audit log."""
    import getpass

    from access import accounts
    from db import schema
    from queries import runner

    target = paths.db_path(args.db)
    if not target.exists():
        print(f"error: no database at {target}; build one with `python cli.py demo` or `cli.py import`",
              file=sys.stderr)
        return 2
    schema.upgrade(target)
    operator = f"{getpass.getuser()}（命令行）"
    try:
        if args.user_command == "list":
            with runner.connect(target) as con:
                frame = accounts.list_users(con)
            frame["regions"] = frame["regions"].map(lambda r: "all" if "" in list(r) else ",".join(r))
            _print_rows(frame, args.json)
            return 0
        password = _new_password() if args.user_command in ("add", "passwd") else None
        with schema.open_waiting(target, read_only=False, wait=accounts.WRITE_WAIT) as con:
            if args.user_command == "add":
                accounts.add_user(con, args.name, password, args.role, args.region, operator, args.sso)
            elif args.user_command == "passwd":
                accounts.set_password(con, args.name, password, operator)
            else:
                accounts.disable(con, args.name, operator)
    except ValueError as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    print(f"{args.user_command}: {args.name}")
    return 0


def _new_password() -> str:
    """The password from stdin when piped (its first line), else asked twice without echo."""
    import getpass

    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise ValueError("the two passwords differ")
    return first


def _pairs(items: list[str], what: str, parser) -> dict:
    out = {}
    for item in items:
        if "=" not in item:
            parser.error(f"{what} expects SRC=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def _import(args, parser) -> int:
    from pathlib import Path

    from access import audit
    from importer import fields, pipeline, report

    if args.undo is not None:
        if args.paths:
            parser.error("--undo takes no files")
        return _undo(args)
    if not args.paths:
        parser.error("import: give one or more files, or --undo ID")
    mapping = _pairs(args.map, "--map", parser)
    matches = _pairs(args.match, "--match", parser)
    known = {f.name for fs in fields.KINDS.values() for f in fs} | {"code", "county", "layer"}
    for field_name in mapping.values():
        if field_name and field_name not in known:
            parser.error(f"--map: unknown field {field_name!r}; known: {', '.join(sorted(known))}")
    if args.header_row is not None and args.header_row < 1:
        parser.error("--header-row: an Excel row number, 1 or more")
    for path in args.paths:
        if not Path(path).is_file():
            parser.error(f"no such file: {path}")
    if args.report:  # checked before anything is written: exit 1 must mean "rejected, nothing written"
        report_path = Path(args.report)
        existed = report_path.exists()
        try:
            with open(report_path, "ab"):
                pass
        except OSError as error:
            parser.error(f"--report: cannot write {report_path}: {error.strerror or error}")
        if not existed:
            report_path.unlink(missing_ok=True)
    if args.within is not None and not (args.within.isdigit() and len(args.within) in (4, 6, 12)):
        parser.error(f"--within expects a city or county code (4, 6 or 12 digits), got {args.within!r}")
    target = paths.db_path(args.db)
    try:
        scope = _importer_scope(args, target)
    except ValueError as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    results = []
    for path in args.paths:
        result = pipeline.run(
            path, target, kind=args.kind, mapping=mapping, matches=matches, sheet=args.sheet,
            header_row=args.header_row, township=args.township,
            dry_run=args.dry_run, user=args.user, replace=args.replace, within=args.within, period=args.period,
            scope=scope,
            progress=None if args.json else (lambda f, step: print(f"[{f:4.0%}] {step}", file=sys.stderr)),
        )
        results.append(result)
        if not args.dry_run and target.exists():  # a new database is made by a file that imports
            audit.record_import(target, _actor(args, target), result)
        if args.json:
            print(json.dumps(result.to_json(), ensure_ascii=False, default=str))
        else:
            print(report.text_summary(result))
    if args.report:
        report.write_xlsx(results, args.report)
    return 1 if any(r.status == "rejected" for r in results) else 0


def _undo(args) -> int:
    from access import audit
    from importer import history, messages, pipeline

    target = paths.db_path(args.db)
    if not target.exists():
        print(f"no database at {target}", file=sys.stderr)
        return 2
    actor = _actor(args, target)
    try:
        scope = _importer_scope(args, target)
    except ValueError as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        done = history.undo(target, args.undo, args.user or pipeline.who(), scope=scope)
    except history.UndoRefused as refused:
        why, expected = messages.describe(refused.code, refused.detail)
        audit.record(target, actor, "undo", {"import_id": args.undo, "refused": refused.code}, "refused")
        if args.json:
            print(json.dumps({"undo": args.undo, "status": "refused", "message": why, "expected": expected},
                             ensure_ascii=False))
        else:
            print(f"{why}；{expected}", file=sys.stderr)
        return 1
    audit.record(target, actor, "undo", done)
    if args.json:
        print(json.dumps({"undo": args.undo, "status": "undone", **done}, ensure_ascii=False))
    else:
        print(messages.undone(done))
    return 0


def _scale(text: str) -> float | str:
    """--scale: 'national', or a positive household multiplier of the city demo."""
    if text == "national":
        return text
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'national', not {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("the scale must be positive")
    return value


def _provinces(text: str) -> list[str]:
    codes = [c.strip() for c in text.split(",") if c.strip()]
    if not codes or not all(c.isdigit() and len(c) == 2 for c in codes):
        raise argparse.ArgumentTypeError(f"expected 2-digit province codes such as 32 or 32,11, not {text!r}")
    return codes


def _lake(args) -> int:
    """cli.py lake init | status | compact (db/lake.py)."""
    from db import schema

    if args.data_path:
        os.environ[lake.DATA_PATH_ENV] = args.data_path
    target = paths.db_path(args.db)
    if not lake.is_lake(target):
        print(f"error: {target} is not a lake: give --db (or ATLAS_DB) as ducklake:postgres:<connection string>",
              file=sys.stderr)
        return 2
    if args.lake_command == "init":
        if not os.environ.get(lake.DATA_PATH_ENV):
            print("note: no --data-path (ATLAS_DATA_PATH): the lake's catalog must already name its data folder",
                  file=sys.stderr)
        source = args.source
        try:
            if args.demo:
                from data import demo

                with tempfile.TemporaryDirectory(prefix="atlas-lake-demo-") as folder:
                    built = Path(folder) / "demo.duckdb"
                    demo.build(built, seed=demo.DEFAULT_SEED, scale=args.scale)
                    done = lake.init(target, built)
            else:
                if source is not None and not Path(source).is_file():
                    print(f"error: no atlas database at {source}", file=sys.stderr)
                    return 2
                if source is not None:
                    schema.upgrade(source)  # an older file's tables brought up to date before copying
                done = lake.init(target, source)
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(json.dumps(done, ensure_ascii=False))
        return 0
    if args.lake_command == "status":
        found = lake.status(target)
        if args.json:
            print(json.dumps(found, ensure_ascii=False))
            return 0
        print(f"lake {found['lake']}\ndata path {found['data_path']}\n"
              f"snapshot {found['snapshot']} ({found['snapshots']:,} snapshots kept)")
        for snap in found["last"]:
            print(f"  #{snap['snapshot']:<6} {snap['at']}  {snap['note'] or ''}  {snap['changes']}")
        print(f"{'table':<24}{'files':>8}{'rows':>14}{'MB':>10}")
        for row in found["tables"]:
            print(f"{row['table']:<24}{row['files']:>8,}{row['rows']:>14,}{row['bytes'] / 1e6:>10.1f}")
        return 0
    done = lake.compact(target)
    print(json.dumps(done, ensure_ascii=False))
    return 0


def _demo(args) -> int:
    from data import demo

    target = paths.db_path(args.db)
    if lake.is_lake(target):
        print("error: a lake's demo is made with `python cli.py lake init --demo` (into an empty lake)", file=sys.stderr)
        return 2
    _set_aside_newer(target)
    started = time.perf_counter()
    progress = lambda fraction, step: print(f"[{fraction:4.0%}] {step}", file=sys.stderr, flush=True)  # noqa: E731
    if args.scale == "national":
        from data import national

        if args.rows is not None and args.rows <= 0:
            print("error: --rows must be a positive share (1 = the full programme rows)", file=sys.stderr)
            return 2
        try:
            summary = national.build(target, seed=national.DEFAULT_SEED if args.seed is None else args.seed,
                                     provinces=args.provinces, rows=1.0 if args.rows is None else args.rows,
                                     progress=progress)
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    else:
        if args.provinces is not None or args.rows is not None:
            print("error: --provinces and --rows need --scale national", file=sys.stderr)
            return 2
        summary = demo.build(
            target,
            seed=demo.DEFAULT_SEED if args.seed is None else args.seed,
            scale=args.scale,
            progress=progress,
        )
    seconds = time.perf_counter() - started
    print(json.dumps({"db": str(target), "seconds": round(seconds, 1), **summary}, ensure_ascii=False))
    return 0


def _checked(args, extra_check=None):
    """The database path and the period/region arguments, checked: (target, None) when usable,
    (None, 2) after printing the problem (a usage error)."""
    from queries import indicators, periods

    target = paths.db_path(args.db)
    if not target.exists():
        print(f"error: no database at {target}; build one with `python cli.py demo`", file=sys.stderr)
        return None, 2
    try:
        if args.region:
            indicators.region_prefix(args.region)
        if args.period:
            periods.parse(args.period)
        if extra_check:
            extra_check()
    except ValueError as problem:
        print(f"error: {problem}", file=sys.stderr)
        return None, 2
    return target, None


def _importer_scope(args, target) -> list[str]:
    """The regions an import (or undo) may write: with accounts in the database, ``--user`` must
    name one allowed to import, and its regions apply; without accounts (or without --user, the
    operator at the database's own machine), everything. Raises ValueError when refused."""
    from queries import indicators, runner

    if not args.user or not target.exists():
        return list(indicators.EVERYTHING)
    from access import accounts

    with runner.connect(target) as con:
        if not accounts.has_accounts(con):
            return list(indicators.EVERYTHING)
        viewer = accounts.viewer_for(con, args.user)
    if not viewer.can("import"):
        raise ValueError(f"account {args.user!r} ({viewer.role}) may not import")
    return viewer.scope


def _viewer(args, con):
    """The viewer the command runs as: ``--user NAME`` (that account's regions and role), else the
    demo viewer (everything, small counts suppressed). Raises ValueError for an unknown or disabled
    account."""
    from access.viewer import DEMO

    name = getattr(args, "user", None)
    if not name:
        return DEMO
    from access import accounts

    return accounts.viewer_for(con, name)


def _actor(args, target):
    """Who an import or undo is logged as: the account ``--user`` names (its role and regions), else
    the name given, else the login name, marked as coming from the command line."""
    from access import accounts
    from db import schema
    from importer import pipeline

    schema.upgrade(target)
    if args.user:
        with schema.open_waiting(target, read_only=True, wait=30) as con:
            try:
                return accounts.viewer_for(con, args.user)
            except ValueError:
                pass
    return f"{args.user or pipeline.who()}（命令行）"


def _viewer_or_exit(args, con):
    """_viewer(), or None after printing why the account cannot be used (a usage error)."""
    try:
        return _viewer(args, con)
    except ValueError as problem:
        print(f"error: {problem}", file=sys.stderr)
        return None


def _period(con, args, scope):
    """--period, or the latest complete month with data; None (after printing an empty result)
    when the database holds no dated records."""
    from queries import indicators

    period = args.period or indicators.latest_month(con, scope)
    if period is None:
        print("[]" if args.json else "no records in the database", file=sys.stdout)
    return period


def _print_rows(frame, as_json: bool) -> None:
    from indicators import suppress

    if as_json:
        records = [{k: _plain(v) for k, v in row.items()} for row in suppress.records(frame)]
        print(json.dumps(records, ensure_ascii=False, indent=1, default=str))
    else:  # the marks, not NaN: a reader should see why a number is missing
        print(frame.map(lambda v: _plain(v) if suppress.is_hidden(v) else v).to_string(index=False))


def _indicators(args) -> int:
    from queries import indicators, runner

    target, failed = _checked(args)
    if failed:
        return failed
    with runner.connect(target) as con:
        viewer = _viewer_or_exit(args, con)
        if viewer is None:
            return 2
        scope = viewer.scope
        exact = viewer.exact
        period = _period(con, args, scope)
        if period is None:
            return 0
        # small counts, and what would give them away, hidden unless an admin (indicators/suppress.py)
        frame = indicators.whole_regions(indicators.shown(con, args.level, period, scope, args.region, exact=exact),
                                         scope)
        frame = _with_extras(con, frame, args.level, period, scope, args.region, args.hotspot_of, exact)
    _print_rows(frame, args.json)
    return 0


def _snapshot(args) -> int:
    from export import snapshot, views
    from queries import runner

    target = paths.db_path(args.db)
    if not target.exists():
        print(f"error: no database at {target}; build one with `python cli.py demo`", file=sys.stderr)
        return 2
    try:
        with runner.connect(target) as con:
            viewer = _viewer(args, con)
            filters = _snapshot_filters(args)
            sources = runner.run(con, "data_sources", scope=viewer.scope).iloc[0]
            if filters.narrows_sensitive() and not viewer.may_narrow(bool(sources["has_demo"])
                                                                      and not bool(sources["has_imported"])):
                raise ValueError("only an admin (--user NAME of an admin) may narrow risk households or cases "
                                 "with --risk-levels, --risk-types or --case-sources: one such count less "
                                 "another would give a count below 5 back")
            spec = views.ViewSpec(view=args.view or "overview", region=args.region, period=args.period,
                                  scope=tuple(viewer.scope), filters=filters,
                                  scheme=args.scheme, k=args.k, lock=args.lock, exact=viewer.exact,
                                  unit=args.unit, hotspot_of=args.hotspot_of)
            out = snapshot.write(con, args.out, spec, whole_deck=args.all)
    except ValueError as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    from pathlib import Path

    from access import accounts, audit

    with runner.connect(target) as con:
        logged = accounts.has_accounts(con)
    # with accounts (access control in use), an export from the command line is logged as the
    # page's are (ui/exporting._export_facts); the demo's database is left as it is
    if logged:
        audit.record(target, _actor(args, target), "export",
                     {"view": spec.view, "format": Path(out).suffix.lstrip(".") or "snapshot", "region": spec.region,
                      "period": spec.period, "filters": repr(spec.filters), "file": Path(out).name, "via": "cli"})
    print(out)
    return 0


def _snapshot_filters(args):
    """indicators.Filters from --risk-levels, --room-types, --risk-types, --case-sources (comma-separated)."""
    from queries import indicators

    def listed(text):
        return tuple(v.strip() for v in (text or "").replace("，", ",").split(",") if v.strip())

    chosen = {"room_types": listed(args.room_types), "risk_types": listed(args.risk_types),
              "case_sources": listed(args.case_sources)}
    if args.risk_levels:
        chosen["risk_levels"] = listed(args.risk_levels)
    return indicators.Filters(**chosen)


def _township_extras(con, period, scope, region, hotspot_of: str = "risk", shown=None) -> list:
    """Frames of extra columns for township rows of `indicators`, one row per region_code.

    They are appended after indicators.FIELDS in this order; to publish more (hotspots, say),
    add a frame here. With ``shown`` (the rows as the viewer sees them), the smoothed rate of a
    township whose count is hidden is hidden too.
    """
    from geo import risk
    from indicators import suppress
    from queries import pacing

    paced = pacing.pacing(con, period, scope, region)
    # hotspots: the rate smoothed by empirical Bayes, Gi* and local Moran classes (geo/risk.py)
    spots = risk.table(con, period, scope, region, of=hotspot_of)
    if shown is not None:
        spots = suppress.derived(spots, shown, risk.MEASURES[hotspot_of][1], risk.OWN_VALUE)
    spots = spots.rename(columns={"rate_smoothed": "risk_rate_smoothed"})
    return [spots[["region_code", "risk_rate_smoothed", "hotspot_class", "gi_z", "gi_p_fdr"]],
            paced[["region_code", "target", "expected_by_now", "status"]]]


def _with_extras(con, frame, level, period, scope, region, hotspot_of="risk", exact=True):
    if level != "township":
        return frame
    for extra in _township_extras(con, period, scope, region, hotspot_of, None if exact else frame):
        frame = frame.merge(extra, on="region_code", how="left", validate="one_to_one")
    return frame


def _gaps(args) -> int:
    from geo import gaps
    from queries import indicators, periods, runner

    def radius_ok():
        if args.radius_km is not None and not 0 < args.radius_km < float("inf"):
            raise ValueError(f"bad radius {args.radius_km}: expected a positive number of kilometres")

    target, failed = _checked(args, radius_ok)
    if failed:
        return failed
    with runner.connect(target) as con:
        viewer = _viewer_or_exit(args, con)
        if viewer is None:
            return 2
        scope = viewer.scope
        period = _period(con, args, scope)
        if period is None:
            return 0
        p = periods.parse(period) if isinstance(period, str) else period
        if args.region:
            towns = runner.run(con, "gaps_townships", period_start=p.start, period_end=p.end,
                               scope=indicators.narrow(scope, args.region) or ["-"])
            if towns.empty:
                print(f"error: region {args.region} holds no township of the atlas", file=sys.stderr)
                return 2
        frame = gaps.gaps(con, p, scope, args.region, args.radius_km)
    _print_rows(frame, args.json)
    return 0


def _plain(value):
    """JSON-safe: NaN/NA/None → null, numpy scalars → Python numbers, a hidden cell → its mark
    ("<5", "×", "— (small)")."""
    import pandas as pd

    from indicators import fmt, suppress

    if suppress.is_hidden(value):
        return fmt.hidden(value, "en")
    if isinstance(value, suppress.Exact):
        return int(value)
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value

if __name__ == "__main__":
    sys.exit(main())
