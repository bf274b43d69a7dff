"""The ledger kinds, by name: each module in this folder defines one KIND."""
from importer.kinds import cases, cases_summary, regions, rooms, screening, screening_summary, targets
from importer.kinds.base import Chunk, LedgerKind  # noqa: F401

KINDS = {k.KIND.name: k.KIND for k in (regions, rooms, screening, screening_summary, cases, targets, cases_summary)}
