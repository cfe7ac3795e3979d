"""The schedule form: request fields → the arguments of ``schedules.store.create``/``update``, and what is
wrong with them (translated sentences). Defaults make "07:00, 12:00, 18:30 daily for a week" the form as it
opens: only the notice, the times and the loops need a look."""
from __future__ import annotations

import re
from datetime import date, timedelta

from flask_babel import gettext as _, lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from schedules import store
from schedules.recurrence import DAILY, EVERY_N_HOURS, ONCE, WEEKLY, Rule

from .db import scalar
from .i18n import error_text

REPEAT_LABELS = {ONCE: _l("Once"), DAILY: _l("Every day"), WEEKLY: _l("On chosen weekdays"),
                 EVERY_N_HOURS: _l("Every few hours")}
WEEKDAY_LABELS = [_l("Mon"), _l("Tue"), _l("Wed"), _l("Thu"), _l("Fri"), _l("Sat"), _l("Sun")]
END_LABELS = {"until": _l("Until a date"), "count": _l("A number of times"), "never": _l("No end")}
CAMPAIGN_KIND_LABELS = {"notice": _l("Send the notice"), "health_check": _l("Daily health check-in")}


def defaults(today: date, kind: str, template: str = "") -> MultiDict:
    """What a new form starts with: daily, from today, for a week."""
    values = {"kind": kind, "repeat": DAILY, "times": "07:00, 12:00, 18:30", "start": today.isoformat(),
              "end": "until", "until": (today + timedelta(days=6)).isoformat(), "count": "",
              "every_hours": "2", "window_start": "08:00", "window_end": "18:00", "loops": "3",
              "channel": "voice", "campaign_kind": "notice", "max_attempts": "3",
              "call_window_start": "08:00", "call_window_end": "20:30"}
    if kind == store.CAMPAIGN:
        values.update(times="09:00", loops="1", end="never")
    if template == "health_check":
        values.update(name=str(_("Daily health check-in")), campaign_kind="health_check", times="09:00",
                      end="never", tags="home_monitoring", max_attempts="3")
    return MultiDict(values)


def from_schedule(s: dict) -> MultiDict:
    """The form of a saved schedule (for editing)."""
    r = s["rule_obj"]
    values = MultiDict({"kind": s["kind"], "name": s["name"], "notice_id": str(s["notice_id"]), "repeat": r.kind,
                        "times": ", ".join(r.times), "start": r.start.isoformat(),
                        "end": "until" if r.until else "count" if r.count else "never",
                        "until": r.until.isoformat() if r.until else "", "count": str(r.count or ""),
                        "every_hours": str(r.every_hours or 2), "window_start": (r.window or ("08:00",))[0],
                        "window_end": (r.window or ("", "18:00"))[1], "loops": str(s["loops"]),
                        "loudspeaker_id": str(s["loudspeaker_id"] or ""),
                        "override_quiet": "1" if s["override_quiet"] else "", "override_reason": s["override_reason"]})
    for day in r.weekdays:
        values.add("weekdays", str(day))
    opts = s["options"]
    if s["kind"] == store.CAMPAIGN:
        window = (opts.get("window") or "08:00-20:30").split("-")
        values.update({"channel": opts.get("channel", "voice"), "campaign_kind": opts.get("kind", "notice"),
                       "max_attempts": str(opts.get("max_attempts", 3)), "call_window_start": window[0],
                       "call_window_end": window[1], "min_age": str(opts["audience"].get("min_age") or ""),
                       "grid_id": str(opts["audience"].get("grid_id") or "")})
        for tag in opts["audience"].get("tags", []):
            values.add("tags", tag)
    return values


def _date(errors: list, text: str, label) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        errors.append(_("%(field)s is not a date (YYYY-MM-DD).", field=label))
        return None


def _int(errors: list, text: str, label, low: int, high: int) -> int | None:
    try:
        value = int(text.strip())
        if low <= value <= high:
            return value
    except ValueError:
        pass
    errors.append(_("%(field)s must be a whole number between %(low)s and %(high)s.", field=label, low=low, high=high))
    return None


def parse_rule(form, errors: list) -> Rule | None:
    repeat = form.get("repeat", "")
    if repeat not in REPEAT_LABELS:
        errors.append(_("Choose how often it repeats."))
        return None
    start = _date(errors, form.get("start", ""), _("Start date"))
    times = [t for t in re.split(r"[\s,，、;；]+", form.get("times", "")) if t]
    end, until, count = form.get("end", "never"), None, None
    if repeat != ONCE and end == "until":
        until = _date(errors, form.get("until", ""), _("Until"))
    elif repeat != ONCE and end == "count":
        count = _int(errors, form.get("count", ""), _("Number of times"), 1, 10000)
    if errors or start is None:
        return None
    try:
        if repeat == ONCE:
            return Rule(ONCE, start, times=tuple(times))
        if repeat == DAILY:
            return Rule.daily(times, start=start, until=until, count=count)
        if repeat == WEEKLY:
            days = [int(d) for d in form.getlist("weekdays") if d.isdigit()]
            return Rule.weekly(days, times, start=start, until=until, count=count)
        hours = _int(errors, form.get("every_hours", ""), _("Every how many hours"), 1, 23)
        if hours is None:
            return None
        return Rule.every_n_hours(hours, (form.get("window_start", ""), form.get("window_end", "")),
                                  start=start, until=until, count=count)
    except ValueError as exc:
        errors.append(_("The times are not valid: %(reason)s", reason=error_text(exc)))
        return None


def parse(db, form, village_id: int, kind: str) -> tuple[dict, list[str]]:
    """(keyword arguments for store.create/update without village, kind, now and user; errors)."""
    errors: list[str] = []
    rule = parse_rule(form, errors)
    notice_id = form.get("notice_id", "")
    if not notice_id.isdigit() or scalar(db, "SELECT village_id FROM notices WHERE id = ?", [int(notice_id)]) != village_id:
        errors.append(_("Choose a notice of this village."))
        notice_id = "0"
    values = {"name": form.get("name", "").strip(), "notice_id": int(notice_id), "rule": rule,
              "override_quiet": bool(form.get("override_quiet")),
              "override_reason": form.get("override_reason", "").strip()[:500]}
    if not values["name"]:
        errors.append(_("Give the schedule a name."))
    if values["override_quiet"] and len(values["override_reason"]) < store.MIN_REASON:
        errors.append(_("An emergency override of quiet hours needs a reason (it is written to the audit log)."))
    if kind == store.BROADCAST:
        values["loops"] = _int(errors, form.get("loops", "1"), _("Loops"), 1, store.MAX_LOOPS) or 1
        speaker = form.get("loudspeaker_id", "")
        values["loudspeaker_id"] = None
        if speaker:
            if not speaker.isdigit() or scalar(db, "SELECT village_id FROM loudspeakers WHERE id = ?",
                                               [int(speaker)]) != village_id:
                errors.append(_("Choose a loudspeaker of this village."))
            else:
                values["loudspeaker_id"] = int(speaker)
    else:
        audience: dict = {"tags": [t for t in form.getlist("tags") if t]}
        if form.get("min_age", "").strip():
            audience["min_age"] = _int(errors, form["min_age"], _("Aged at least"), 0, 120)
        grid = form.get("grid_id", "")
        if grid.isdigit() and scalar(db, "SELECT village_id FROM grids WHERE id = ?", [int(grid)]) == village_id:
            audience["grid_id"] = int(grid)
        campaign_kind = form.get("campaign_kind", "notice")
        if campaign_kind == "health_check" and not audience["tags"]:
            audience["tags"] = ["home_monitoring"]
        values["campaign_options"] = {
            "channel": form.get("channel", "voice"), "kind": campaign_kind, "audience": audience,
            "max_attempts": _int(errors, form.get("max_attempts", "3"), _("Attempts per person"), 1, 10) or 3,
            "window": f"{form.get('call_window_start', '08:00')}-{form.get('call_window_end', '20:30')}"}
    return values, errors
