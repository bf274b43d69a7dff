"""The view lives in the URL: period, region, township, filters and map settings.

A copied link reopens the same view; a bad or stale parameter falls back to its default with a
notice, never a traceback. ``parse`` and ``to_params`` are plain functions (tested without a
browser); ``load``, ``widget``, ``go`` and ``publish`` tie them to Streamlit's session and URL.

Every filter value is held in ``st.session_state`` under ``KEYS[name]`` (the sidebar widgets use
those keys), and written to ``st.query_params`` on every run.
"""
from dataclasses import dataclass, field

import streamlit as st

from geo import classify
from i18n import safe
from queries.indicators import DEFAULT_RISK_LEVELS, RISK_LEVELS

# URL parameter -> session_state key of the widget that holds it
KEYS = {
    "period": "period", "region": "region", "town": "town",
    "room": "f_room_types", "level": "f_risk_levels", "rtype": "f_risk_types", "source": "f_case_sources",
    "scheme": "map_scheme", "k": "map_k", "lock": "map_lock", "unit": "map_unit", "lang": "lang",
}
AS_OF_KEY = "atlas_as_of"  # ui/data.as_of's session key: the URL keeps it across pages
LIST_PARAMS = ("room", "level", "rtype", "source")
UNITS = ("county", "township")
LANGS = ("zh", "en")
K_RANGE = (3, 7)
DEFAULTS = {"room": [], "level": list(DEFAULT_RISK_LEVELS), "rtype": [], "source": [], "scheme": "quantiles",
            "k": 5, "lock": False, "unit": "county", "town": None, "lang": "zh"}


@dataclass
class Choices:
    """What may be chosen now (from the data): anything else in a URL is stale or wrong."""
    periods: list[str]
    default_period: str
    regions: dict[str, str]                 # city/county code -> level ('city' | 'county')
    townships: dict[str, str]               # township code -> its county (or city) code
    room_types: list[str] = field(default_factory=list)
    risk_types: list[str] = field(default_factory=list)
    case_sources: list[str] = field(default_factory=list)

    @property
    def default_region(self) -> str:
        return next(iter(self.regions))


@dataclass
class Notice:
    param: str
    value: str
    problem: str        # 'unknown' | 'bad'


def parse(params: dict, choices: Choices) -> tuple[dict, list[Notice]]:
    """The view a URL asks for, as {param: value}, and a notice for each value that was dropped.

    ``params`` maps a URL parameter to its text (as st.query_params gives it). Lists are
    comma-separated; unknown list members are dropped one by one, keeping the rest.
    """
    out: dict = {"period": choices.default_period, "region": choices.default_region, **DEFAULTS}
    out = {k: (list(v) if isinstance(v, list) else v) for k, v in out.items()}
    notices: list[Notice] = []

    def text(name):
        value = params.get(name)
        return None if value is None or str(value).strip() == "" else str(value).strip()

    if (p := text("period")) is not None:
        if p in choices.periods:
            out["period"] = p
        else:
            notices.append(Notice("period", p, "unknown"))
    if (r := text("region")) is not None:
        if r in choices.regions:
            out["region"] = r
        elif r in choices.townships:  # a township given as the region: open its county and its panel
            out["region"], out["town"] = choices.townships[r], r
        else:
            notices.append(Notice("region", r, "unknown"))
    if (town := text("town")) is not None:
        parent = choices.townships.get(town)
        if parent is None:
            notices.append(Notice("town", town, "unknown"))
        else:  # a township's panel opens in its county
            out["town"], out["region"] = town, parent
    allowed = {"room": choices.room_types, "level": list(RISK_LEVELS), "rtype": choices.risk_types,
               "source": choices.case_sources}
    for name in LIST_PARAMS:
        if (value := text(name)) is None:
            continue
        wanted = [v.strip() for v in value.split(",") if v.strip()]
        good = [v for v in wanted if v in allowed[name]]
        for v in wanted:
            if v not in allowed[name]:
                notices.append(Notice(name, v, "unknown"))
        if good or name != "level":  # risk levels may not be empty: keep the default then
            out[name] = list(dict.fromkeys(good))
    if (scheme := text("scheme")) is not None:
        if scheme in classify.SCHEMES:
            out["scheme"] = scheme
        else:
            notices.append(Notice("scheme", scheme, "unknown"))
    if (k := text("k")) is not None:
        if k.isdigit() and K_RANGE[0] <= int(k) <= K_RANGE[1]:
            out["k"] = int(k)
        else:
            notices.append(Notice("k", k, "bad"))
    if (lock := text("lock")) is not None:
        if lock in ("0", "1"):
            out["lock"] = lock == "1"
        else:
            notices.append(Notice("lock", lock, "bad"))
    if (unit := text("unit")) is not None:
        if unit in UNITS:
            out["unit"] = unit
        else:
            notices.append(Notice("unit", unit, "unknown"))
    if (language := text("lang")) is not None:
        if language in LANGS:
            out["lang"] = language
        else:
            notices.append(Notice("lang", language, "unknown"))
    return out, notices


def to_params(view: dict) -> dict[str, str]:
    """The URL parameters of a view: only what differs from the defaults, plus period and region
    (always written, so a link keeps meaning the same period after newer data arrives)."""
    out = {"period": str(view["period"]), "region": str(view["region"])}
    for name in ("town", *LIST_PARAMS, "scheme", "k", "lock", "unit", "lang"):
        value = view.get(name)
        if value == DEFAULTS[name] or value is None:
            continue
        if isinstance(value, bool):
            out[name] = "1" if value else "0"
        elif isinstance(value, list):
            out[name] = ",".join(value)
        else:
            out[name] = str(value)
    return out


# ---- Streamlit side -----------------------------------------------------------------------

def load(choices: Choices) -> list[Notice]:
    """Fill the session from the URL once per session (and again when a link changes it), and
    apply clicks queued by ``go``. Call before the widgets that use KEYS are drawn."""
    ss = st.session_state
    notices: list[Notice] = []
    url = {k: st.query_params.get(k) for k in st.query_params.keys()}
    # a new session, or a link changed the URL; an empty URL (a page switch clears it) keeps the view
    if not ss.get("_url_loaded") or (url and url != ss.get("_url_written", url)):
        view, notices = parse(url, choices)
        for name, key in KEYS.items():
            ss[key] = view[name]
        ss["_url_loaded"] = True
    pending = ss.pop("_pending", None)
    if pending:
        for name, value in pending.items():
            ss[KEYS[name]] = value
    # values that went stale since they were set (a new import removed a period, say)
    current = {name: ss.get(key) for name, key in KEYS.items()}
    view, stale = parse(to_params({**DEFAULTS, **current}), choices)
    for name, key in KEYS.items():
        ss[key] = view[name]
    return notices + [n for n in stale if n not in notices]


def current() -> dict:
    return {name: st.session_state.get(key, DEFAULTS.get(name)) for name, key in KEYS.items()}


def page_param(name: str, key: str, options: list, default):
    """A page's own setting (the hotspot measure, the service radius): taken from the URL the
    first time the page runs in a session, then held by its widget under ``key``."""
    if key not in st.session_state:
        value = st.query_params.get(name)
        if value is not None:
            match = next((o for o in options if str(o) == value), None)
            if match is None:
                from ui.text import t

                st.toast("⚠ " + t("URL_NOTICE", param=t(f"URL_PARAM_{name}"), value=safe.markdown(value)))
            value = match
        st.session_state[key] = default if value is None else value
    return st.session_state[key]


def go(**changes) -> None:
    """Change the view from a click or a button, then rerun (widgets may not be set directly
    once drawn, so the change is queued and applied by ``load`` on the next run)."""
    st.session_state.setdefault("_pending", {}).update(changes)
    st.rerun()


def publish(extra: dict | None = None) -> None:
    """Write the view to the URL (only when it changed, so the browser history stays clean).

    ``extra`` holds a page's own parameters (None removes one); parameters the sidebar does not
    own are otherwise kept as they are, so the page's settings survive the sidebar's write.
    """
    existing = {k: st.query_params.get(k) for k in st.query_params.keys()}
    params = {k: v for k, v in existing.items() if k not in KEYS}
    params.update(to_params(current()))
    as_of = st.session_state.get(AS_OF_KEY)  # on a lake, the data opened as it was (ui/data.as_of)
    if as_of is not None:
        params["as_of"] = str(as_of)
    for k, v in (extra or {}).items():
        if v is None:
            params.pop(k, None)
        else:
            params[k] = str(v)
    if existing != params:
        st.query_params.from_dict(params)
    st.session_state["_url_written"] = params
