"""Who is looking: the login page, demo mode, session expiry, single sign-on and the sidebar's
退出登录. app.py calls ``gate()`` before it builds the navigation; the pages read the viewer through
``ui.data.viewer()``.

- No account in the database: demo mode, with a banner on every page and the DEMO viewer; with
  ATLAS_REQUIRE_LOGIN=1 the app shows no data at all until the first admin is created.
- Accounts: the login page until a name and password (or a mapped single-sign-on identity) pass;
  a session ends after ATLAS_SESSION_MINUTES (default 30) without a rerun.
- A login outlives its browser tab: the browser keeps a session token in a cookie (access/sessions.py
  keeps its hash), so a reload or a link opened in a new tab does not ask again.
"""
import html
import os
import time

import streamlit as st

from access import accounts, audit, sessions
from access.viewer import DEMO, Viewer
from ui import data, widgets
from ui.text import t

ACTIVE_KEY = "atlas_last_active"   # time.time() of the viewer's last rerun
NOTICE_KEY = "atlas_auth_notice"   # a message for the login page (expired, logged out, refused)
SSO_DONE_KEY = "atlas_sso_checked"
COOKIE = "atlas_session"            # the browser's session token (access/sessions.py)
TOKEN_KEY = "atlas_session_token"   # the token of this tab's session
TOUCHED_KEY = "atlas_session_touched"
COOKIE_KEY = "atlas_cookie_pending"  # the cookie to write on this run: a token, or "" to clear it
COOKIE_HOURS = 12  # the browser forgets the token after this; the server ends it after the idle time


def session_minutes() -> float:
    try:
        return max(float(os.environ.get("ATLAS_SESSION_MINUTES", "30")), 0.1)
    except ValueError:
        return 30.0


def login_required() -> bool:
    """ATLAS_REQUIRE_LOGIN=1: demo mode is off; with no account the app shows no data."""
    return os.environ.get("ATLAS_REQUIRE_LOGIN", "").strip() in ("1", "true", "yes")


def sso_configured() -> bool:
    """Whether secrets.toml has an [auth] section (Streamlit's OIDC login)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets.toml at all (Streamlit raises its own not-found error)
        return False


def _account_state(db: str, name: str | None) -> tuple[bool, Viewer | None]:
    """(any account exists, the current enabled account of ``name`` or None): one short read."""
    with data.connect_live(db) as con:
        exist = accounts.has_accounts(con)
        if not (exist and name):
            return exist, None
        try:
            return exist, accounts.viewer_for(con, name)
        except ValueError:
            return exist, None


def gate() -> Viewer | None:
    """The viewer of this rerun; None after showing the login page (app.py then stops once the
    navigation has noted which page the URL asked for, so the login leads there); st.stop() after
    the notice that login is required and no account exists yet."""
    current = st.session_state.get(data.VIEWER_KEY)
    name = current.name if isinstance(current, Viewer) and not current.is_demo else None
    try:
        exist, account = _account_state(data.db_path(), name)
    except TimeoutError:  # a long import holds the database: a session already open carries on
        if not name:
            st.warning(t("DB_BUSY"))
            st.stop()
        exist, account = True, current
    _write_cookie()
    if not exist:
        if login_required():
            st.error(t("AUTH_REQUIRED_NO_ACCOUNT"))
            st.code("python cli.py user add admin --role admin --region all", language="bash")
            st.stop()
        st.session_state[data.VIEWER_KEY] = DEMO
        return DEMO
    if name:
        if account is None:  # disabled (or removed) since the login: out at the next rerun
            _end(current, "AUTH_ACCOUNT_GONE")
        elif time.time() - st.session_state.get(ACTIVE_KEY, 0) > session_minutes() * 60:
            _end(current, "AUTH_EXPIRED", minutes=f"{session_minutes():g}")
        else:
            st.session_state[ACTIVE_KEY] = time.time()
            st.session_state[data.VIEWER_KEY] = account  # a changed role or region counts at once
            _touch()
            return account
    elif (resumed := _resume()) is not None:
        return resumed
    st.session_state.pop(data.VIEWER_KEY, None)
    _login_page()
    return None


def _cookie() -> str | None:
    try:
        found = st.context.cookies.get(COOKIE)
    except Exception:  # no browser behind this run (AppTest)
        return None
    return found if isinstance(found, str) and found else None


def _write_cookie() -> None:
    """Set or clear the session cookie asked for by a login or logout (a script in a zero-height
    frame of the app's own origin; Streamlit sets no cookie of its own for us)."""
    pending = st.session_state.pop(COOKIE_KEY, None)
    if pending is None:
        return
    import streamlit.components.v1 as components

    age = COOKIE_HOURS * 3600 if pending else 0
    # the token is URL-safe base64: nothing in it can end the string
    components.html(f"<script>document.cookie = '{COOKIE}={pending}; path=/; max-age={age}; SameSite=Strict';"
                    "</script>", height=0)


def _resume() -> Viewer | None:
    """A new tab or a reload of a live session: the cookie's token, if its session is live."""
    token = _cookie()
    if not token:
        return None
    try:
        with data.connect_live(data.db_path()) as con:
            viewer = sessions.resume(con, token, session_minutes())
        if viewer is None:
            return None
        audit.record(data.db_path(), viewer, "login", {"how": "resumed"})
        sessions.touch(data.db_path(), token)
    except TimeoutError:
        return None
    st.session_state[data.VIEWER_KEY] = viewer
    st.session_state[ACTIVE_KEY] = st.session_state[TOUCHED_KEY] = time.time()
    st.session_state[TOKEN_KEY] = token
    return viewer


def _touch() -> None:
    """The session's last-active time in the database, at most once a minute."""
    token = st.session_state.get(TOKEN_KEY)
    if token and time.time() - st.session_state.get(TOUCHED_KEY, 0) > sessions.TOUCH_SECONDS:
        try:
            sessions.touch(data.db_path(), token)
            st.session_state[TOUCHED_KEY] = time.time()
        except TimeoutError:
            pass  # next click


def demo_banner(viewer: Viewer, page_url: str) -> None:
    """演示模式 above every page while no account exists: the full notice, or one line above a
    presentation slide (the slide must fit a projector's screen)."""
    if not viewer.is_demo:
        return
    if page_url == "present":
        # pinned to the top right corner: it takes none of the slide's height
        st.html(f'<div style="position:fixed;top:0;right:0;z-index:999990;background:#fff3c4;color:#7a4f01;'
                f'padding:2px 12px;border-bottom-left-radius:6px;font-size:14px">'
                f'{html.escape(t("DEMO_BANNER_SHORT"))}</div>')
    else:
        on_wide, on_phone = widgets.wide_or_phone("demo-banner")
        on_wide.warning(t("DEMO_BANNER"), icon=":material/visibility:")
        on_phone.warning(t("DEMO_BANNER_SHORT"), icon=":material/visibility:")  # the map first


def as_of_banner() -> None:
    """On a lake, while the session reads the data as it was at a snapshot (ui/data.as_of): which
    snapshot, when, that it is read-only, and the way back to the current data."""
    version = data.as_of()
    if version is None:
        return
    when = data.snapshot_time(version) or "?"
    text_col, button_col = st.columns([5, 1], vertical_alignment="center")
    text_col.warning(t("AS_OF_BANNER", n=version, when=when), icon=":material/history:")
    if button_col.button(t("AS_OF_BACK"), key="as-of-back", width="stretch"):
        data.clear_as_of()
        st.rerun()


def _start(viewer: Viewer) -> None:
    st.session_state[data.VIEWER_KEY] = viewer
    st.session_state[ACTIVE_KEY] = st.session_state[TOUCHED_KEY] = time.time()
    st.session_state.pop(NOTICE_KEY, None)
    try:
        token = sessions.start(data.db_path(), viewer.name)
    except TimeoutError:
        return  # this tab is logged in; a reload will ask again
    st.session_state[TOKEN_KEY] = st.session_state[COOKIE_KEY] = token


def _end(viewer: Viewer, notice: str, **values) -> None:
    """Log out: the audit row, the session's viewer gone, a notice for the login page."""
    try:
        audit.record(data.db_path(), viewer, "logout", {"why": notice.removeprefix("AUTH_").lower()})
    except TimeoutError:
        pass  # a busy database must not keep anyone logged in
    try:
        token = st.session_state.pop(TOKEN_KEY, None)
        sessions.end(data.db_path(), token if isinstance(token, str) else _cookie())
    except TimeoutError:
        pass  # the cookie goes below; the server side then ends at the idle time
    st.session_state[COOKIE_KEY] = ""
    st.session_state.pop(data.VIEWER_KEY, None)
    st.session_state.pop(ACTIVE_KEY, None)
    st.session_state[NOTICE_KEY] = t(notice, **values)
    if sso_configured() and st.user.is_logged_in:
        st.logout()  # else the single-sign-on cookie would log the same person in again at once


def _login_page() -> None:
    """用户名 and 密码, the notice of an ended session, and 单点登录 when configured."""
    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        st.title(t("APP_TITLE"))
        st.subheader(t("AUTH_TITLE"))
        if notice := st.session_state.get(NOTICE_KEY):
            st.info(notice)
        if sso_configured() and _sso():
            st.rerun()
        with st.form("login", border=True):
            name = st.text_input(t("AUTH_NAME"), key="login-name", autocomplete="username")
            password = st.text_input(t("AUTH_PASSWORD"), type="password", key="login-password",
                                     autocomplete="current-password")
            pressed = st.form_submit_button(t("AUTH_SUBMIT"), type="primary", width="stretch")
        if pressed:
            try:
                viewer = accounts.authenticate(data.db_path(), name, password)
            except accounts.LoginRefused as refused:
                # the same words for an unknown name, a wrong password and a disabled account
                if refused.reason == "locked":
                    st.error(t("AUTH_LOCKED", minutes=accounts.LOCK_MINUTES))
                else:
                    st.error(t("AUTH_BAD", n=accounts.MAX_FAILURES, minutes=accounts.LOCK_MINUTES))
            except TimeoutError:
                st.error(t("DB_BUSY"))
            else:
                _start(viewer)
                st.rerun()
        st.caption(t("AUTH_HELP"))


def _sso() -> bool:
    """单点登录 (Streamlit's OIDC, [auth] in secrets.toml): True once a signed-in identity maps to an
    enabled local account; an identity that maps to none is refused and signed out."""
    if not st.user.is_logged_in:
        st.button(t("AUTH_SSO"), on_click=st.login, icon=":material/key:", width="stretch")
        st.divider()
        return False
    email, subject = st.user.get("email"), st.user.get("sub")
    with data.connect_live(data.db_path()) as con:
        viewer = accounts.viewer_for_sso(con, email, subject)
    who = email or subject or "(sso)"
    try:
        if viewer is None:
            audit.record(data.db_path(), audit.nobody(who), "login_failed", {"reason": "sso_unmapped", "sso": who},
                         "refused")
        else:
            audit.record(data.db_path(), viewer, "login", {"sso": who})
    except TimeoutError:
        st.error(t("DB_BUSY"))
        return False
    if viewer is None:
        st.error(t("AUTH_SSO_UNMAPPED", who=who))
        st.button(t("AUTH_SSO_LOGOUT"), on_click=st.logout)
        return False
    _start(viewer)
    return True


# (page file, title key, url path, the action a viewer needs, hidden from the menu?)
PAGES = (
    ("app_pages/overview.py", "PAGE_OVERVIEW", "overview", "view", False),
    ("app_pages/coverage.py", "PAGE_COVERAGE", "coverage", "view", False),
    ("app_pages/screening.py", "PAGE_SCREENING", "screening", "view", False),
    ("app_pages/hotspots.py", "PAGE_HOTSPOTS", "hotspots", "view", False),
    ("app_pages/data_import.py", "PAGE_IMPORT", "import", "import", False),
    ("app_pages/snapshots.py", "PAGE_SNAPSHOTS", "snapshots", "snapshot", False),
    ("app_pages/present.py", "PAGE_PRESENT", "present", "present", True),
    ("app_pages/audit.py", "PAGE_AUDIT", "audit", "audit", False),
)


def pages_for(viewer: Viewer | None) -> list[tuple]:
    """The PAGES this viewer's role may open, in menu order; the first is the home page. A
    presenter, whose home is the snapshot list, gets 演示 in the menu too. None (the login page):
    every page, only for the navigation to know where a link was going; none of them runs."""
    if viewer is None:
        return list(PAGES)
    allowed = [p for p in PAGES if viewer.can(p[3])]
    if not viewer.can("view"):
        allowed = [(f, k, u, a, False) for f, k, u, a, _ in allowed]
    return allowed


def require(action: str) -> Viewer:
    """The viewer, or st.stop() with a refusal when its role may not do ``action``: the check a
    page makes itself, so a page reached by its URL refuses as the navigation would."""
    viewer = data.viewer()
    if not viewer.can(action):
        st.error(t("AUTH_NOT_ALLOWED"))
        st.stop()
    return viewer


def sidebar(viewer: Viewer) -> None:
    """Who is logged in, as what, and 退出登录 (nothing in demo mode)."""
    if viewer.is_demo:
        return
    st.sidebar.caption(t("AUTH_WHO", name=viewer.name, role=t(f"ROLE_{viewer.role}")))
    if st.sidebar.button(t("AUTH_LOGOUT"), icon=":material/logout:", key="logout"):
        _end(viewer, "AUTH_LOGGED_OUT")
        st.rerun()


def log(action: str, what=None, outcome: str = "ok") -> None:
    """An audit row for what the viewer just did (export, snapshot save or view, import, undo).
    A database too busy to take the row does not stop the page."""
    try:
        audit.record(data.db_path(), data.viewer(), action, what, outcome)
    except TimeoutError:
        st.toast(t("DB_BUSY"))

