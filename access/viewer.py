"""The viewer: who is looking, in which role, at which regions. No streamlit: the pages, the
exports and the CLI all ask it the same questions.

Roles (issue 14):
- 管理员 admin: users, the audit log, imports everywhere, exact counts;
- 分析员 analyst: every view, imports for their regions;
- 领导 leader: views, exports and snapshots of their regions;
- 汇报 presenter: saved snapshots and presentation mode of their regions.
- demo: no account exists yet (the demo mode): every view and import, no exact counts.

A viewer's regions are code prefixes (``indicators.region_prefix``): ('3207',) a city,
('320706', '320707') two counties, ('',) everything. Scope is enforced where data is read: every
query takes ``scope`` and sees only those regions and their children.
"""
from dataclasses import dataclass

ROLES = ("admin", "analyst", "leader", "presenter")
DEMO_ROLE = "demo"

# what each role may do; "view" is the four map pages, "exact" is counts from 1 to 4 unsuppressed
_CAN = {
    "admin": {"view", "import", "export", "snapshot", "present", "users", "audit", "exact"},
    "analyst": {"view", "import", "export", "snapshot", "present"},
    "leader": {"view", "export", "snapshot", "present"},
    "presenter": {"snapshot", "present"},
    DEMO_ROLE: {"view", "import", "export", "snapshot", "present"},
}
ACTIONS = frozenset().union(*_CAN.values())


@dataclass(frozen=True)
class Viewer:
    name: str                       # the account name; "" in demo mode
    role: str                       # one of ROLES, or DEMO_ROLE
    regions: tuple[str, ...] = ("",)  # code prefixes this viewer may see

    def __post_init__(self):
        if self.role not in _CAN:
            raise ValueError(f"unknown role {self.role!r}: expected one of {', '.join(ROLES)}")
        if not self.regions:
            raise ValueError("a viewer needs at least one region")

    def can(self, action: str) -> bool:
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        return action in _CAN[self.role]

    @property
    def exact(self) -> bool:
        """Whether counts from 1 to 4 of sensitive measures are shown as they are (admins only)."""
        return self.can("exact")

    def may_narrow(self, made_up: bool) -> bool:
        """Whether this viewer may narrow sensitive counts by risk level, risk type or case source
        (queries.indicators.Filters.narrows_sensitive): two such counts side by side give a small
        one back by subtraction (中高 less 高 is 中), which no choice of hidden cells can stop for
        every filter. Admins, who see exact counts anyway; and the demo mode while the data is
        the demo's own, made up (``made_up``: nothing imported in the viewer's regions)."""
        return self.exact or (self.is_demo and made_up)

    @property
    def scope(self) -> list[str]:
        """The scope every query takes."""
        return list(self.regions)

    @property
    def is_demo(self) -> bool:
        return self.role == DEMO_ROLE


DEMO = Viewer("", DEMO_ROLE, ("",))
