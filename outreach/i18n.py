"""Language (Chinese first, English switch), time zones and display labels.

Source strings are English; ``translations/zh`` holds the Chinese catalog, compiled to .mo at
set-up (and at start-up when the .mo is missing or older than the .po).
"""
from __future__ import annotations

import datetime
import os
import sqlite3
from zoneinfo import ZoneInfo

from babel.messages import mofile, pofile
from flask import redirect, request, session
from flask_babel import Babel, gettext, lazy_gettext as _l

from .errors import UserError
from .security import public, safe_next

LOCALES = ("zh", "en")
TRANSLATIONS = os.path.join(os.path.dirname(__file__), "translations")

TAG_LABELS = {
    "lives_alone": _l("Lives alone"),
    "no_phone": _l("No working phone"),
    "hard_of_hearing": _l("Hard of hearing"),
    "home_monitoring": _l("Home health monitoring"),
}
ROLE_LABELS = {
    "admin": _l("Administrator"),
    "secretary": _l("Village secretary"),
    "grid_worker": _l("Grid worker"),
    "official": _l("Official"),
}
CARETAKER_LABELS = {
    "grid_worker": _l("Grid worker"),
    "party_contact": _l("Party-member contact"),
    "care_team": _l("Care team"),
}
LANGUAGE_LABELS = {"mandarin": _l("Mandarin")}
SEX_LABELS = {"M": _l("Male"), "F": _l("Female")}
HISTORY_LABELS = {  # statuses and outcomes on a resident's history
    "pending": _l("Waiting"), "sending": _l("Sending"), "wired": _l("Sent, waiting for the result"),
    "retry": _l("Will try again"), "unknown": _l("Checking with the phone network"), "done": _l("Reached"),
    "failed": _l("Not reached"), "expired": _l("Too late to send"), "cancelled": _l("Cancelled"),
    "answered": _l("Answered"), "delivered": _l("Delivered"), "machine": _l("Answering machine"),
    "busy": _l("Busy"), "no-answer": _l("No answer"), "canceled": _l("Cancelled"),
    "ack": _l("Confirmed: heard it"), "pledge": _l("Pledged"), "repeat": _l("Asked to hear it again"),
    "callback": _l("Asked for a call back"), "opt_out": _l("Opted out of texts"), "opt_in": _l("Texts again"),
    "other": _l("Wrote a message"), "health_ok": _l("Health: normal"), "health_help": _l("Health: needs help"),
    "incomplete": _l("Details missing"), "recorded": _l("Recorded"), "kept": _l("Kept"), "not_kept": _l("Not kept"),
    "wedding": _l("Wedding"), "funeral": _l("Funeral"), "birthday": _l("Birthday banquet"),
    "lantern": _l("Lantern feast (开灯酒)"), "informed": _l("Informed"), "not_home": _l("Not at home"),
    "moved": _l("Moved away"), "refused": _l("Refused"),
}


def compile_catalogs(force: bool = False) -> list[str]:
    """Compile every .po under translations/ whose .mo is missing or stale; returns the .po paths."""
    done = []
    for root, _dirs, files in os.walk(TRANSLATIONS):
        for name in files:
            if name != "messages.po":  # not pybabel's temporary files from a concurrent update
                continue
            po_path = os.path.join(root, name)
            mo_path = po_path[:-3] + ".mo"
            if not force and os.path.exists(mo_path) and os.path.getmtime(mo_path) >= os.path.getmtime(po_path):
                continue
            with open(po_path, "rb") as fh:
                catalog = pofile.read_po(fh)
            tmp = f"{mo_path}.{os.getpid()}.tmp"
            with open(tmp, "wb") as fh:
                mofile.write_mo(fh, catalog)
            os.replace(tmp, mo_path)  # atomic: concurrent starts never read half a catalog
            done.append(po_path)
    return done


def error_text(exc: BaseException) -> str:
    """The reason to show a user: a :class:`UserError` translated, anything else as its text.

    SQLite's own wording ("UNIQUE constraint failed: residents.…") is never shown: it is English
    and names tables, so a constraint failure becomes a plain sentence.
    """
    if isinstance(exc, UserError):
        return gettext(exc.msgid, **exc.params)
    if isinstance(exc, sqlite3.IntegrityError):
        if "FOREIGN KEY" in str(exc):
            return gettext("This refers to a record that does not exist (any more).")
        return gettext("This conflicts with an existing record.")
    return str(exc)


def select_locale() -> str:
    lang = session.get("lang")
    return lang if lang in LOCALES else "zh"


def to_local(value: str | datetime.datetime | None, tz: str = "Asia/Shanghai",
             fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An ISO UTC timestamp shown in the village's time zone."""
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(ZoneInfo(tz)).strftime(fmt)


def init_app(app):
    compile_catalogs()
    Babel(app, locale_selector=select_locale, default_translation_directories=TRANSLATIONS)

    @public
    def set_language(code):
        if code in LOCALES:
            session["lang"] = code
        return redirect(safe_next(request.args.get("next")))

    app.add_url_rule("/lang/<code>", "set_language", set_language)
    app.jinja_env.filters["local_time"] = to_local
    app.jinja_env.globals.update(TAG_LABELS=TAG_LABELS, ROLE_LABELS=ROLE_LABELS, SEX_LABELS=SEX_LABELS,
                                 LANGUAGE_LABELS=LANGUAGE_LABELS, CARETAKER_LABELS=CARETAKER_LABELS,
                                 HISTORY_LABELS=HISTORY_LABELS,
                                 current_locale=select_locale)
