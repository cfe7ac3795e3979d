"""Schedule screens: the week's calendar per village, schedule forms (broadcast and campaign) with an
overlap check before saving, pause/resume/cancel, quiet hours, and the broadcast page with proof of play.
Loudspeaker endpoints and portable units are in ``loudspeaker_views``; Twilio's side of phone terminals
in ``schedules_twilio``. Thin: parse, call ``schedules.*``, render. The web process plans fires (so the
calendar shows a new schedule at once) but never plays or sends: the worker does."""
from __future__ import annotations

import json
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user

from schedules import planner, plays, store

from . import schedules_forms as forms
from .accounts.users import ADMIN, GRID_WORKER, OFFICIAL, SECRETARY
from .db import get_db, one, rows
from .i18n import error_text
from .notices import store as notices
from .registry import phones, places
from .registry.residents import KNOWN_TAGS
from .security import current_scope, roles_required
from .security import village_or_404

bp = Blueprint("schedules", __name__)
EDITORS = (ADMIN, SECRETARY)
READERS = (ADMIN, SECRETARY, GRID_WORKER, OFFICIAL)
KIND_LABELS = {"broadcast": _l("Loudspeaker"), "campaign": _l("Calls and texts")}
FIRE_LABELS = {"planned": _l("Planned"), "fired": _l("Done"), "missed": _l("Missed"),
               "skipped": _l("Skipped (paused)"), "cancelled": _l("Cancelled")}
PLAY_LABELS = {"intent": _l("About to play"), "started": _l("Playing"), "finished": _l("Played"),
               "failed": _l("Failed"), "retry": _l("Will try again"), "awaiting_confirmation": _l("Waiting for the operator"),
               "confirmed": _l("Confirmed by the operator"), "missed": _l("Missed")}
STATUS_LABELS = {"active": _l("Active"), "paused": _l("Paused"), "cancelled": _l("Cancelled"), "finished": _l("Finished")}
ACTION_MESSAGES = {"pause": _l("Schedule paused: its plays and sends are skipped until you resume it."),
                   "resume": _l("Schedule resumed."),
                   "cancel": _l("Schedule cancelled. What already happened stays in the log.")}


def now_utc() -> datetime:
    return datetime.now(timezone.utc)




def schedule_or_404(schedule_id: int) -> dict:
    found = store.get(get_db(), schedule_id)
    if found is None or not current_scope().allows_village(found["village_id"]):
        abort(404)
    return found


def local(value: str, tz: str, fmt: str = "%H:%M") -> str:
    return store.parse(value).astimezone(ZoneInfo(tz)).strftime(fmt)


# ---- calendar ------------------------------------------------------------------------------------

def _entries(db, village: dict, start: datetime, end: datetime) -> list[dict]:
    found = rows(db, """SELECT f.*, s.name, s.kind, s.loops, s.status AS schedule_status, l.name AS loudspeaker_name
                        FROM fires f JOIN schedules s ON s.id = f.schedule_id LEFT JOIN loudspeakers l ON l.id = s.loudspeaker_id
                        WHERE f.village_id = ? AND f.due_at >= ? AND f.due_at < ? ORDER BY f.due_at, f.id""",
                     [village["id"], store.iso(start), store.iso(end)])
    by_fire = plays.for_fires(db, [f["id"] for f in found])
    tz = village["timezone"]
    for f in found:
        f["time"] = local(f["due_at"], tz)
        f["carried"] = local(f["fire_at"], tz) if f["fire_at"] != f["due_at"] else ""
        f["day"] = local(f["due_at"], tz, "%Y-%m-%d")
        f["plays"] = by_fire.get(f["id"], [])
        f["played"] = sum(p["status"] in ("finished", "confirmed") for p in f["plays"])
    return found


@bp.route("/schedule")
@roles_required(*READERS)
def calendar():
    db, scope = get_db(), current_scope()
    villages = places.villages(db, scope.village_list())
    if not villages:
        return render_template("schedules/calendar.html", villages=[], village=None)
    raw = request.args.get("village_id", "")
    village = village_or_404(int(raw)) if raw.isdigit() and len(raw) < 10 else places.village(db, villages[0]["id"])
    tz = ZoneInfo(village["timezone"])
    now = now_utc()
    today = now.astimezone(tz).date()
    start = datetime.combine(today, time(), tz)
    ahead = _entries(db, village, start, start + timedelta(days=7))
    days = [(today + timedelta(days=n)).isoformat() for n in range(7)]
    past = [f for f in _entries(db, village, start - timedelta(days=7), start)]
    past.reverse()
    return render_template(
        "schedules/calendar.html", villages=villages, village=village, days=days,
        entries={d: [e for e in ahead if e["day"] == d] for d in days}, past=past,
        schedules=[s for s in store.for_villages(db, [village["id"]])],
        quiet=json.loads(village["quiet_hours"] or "[]"), speakers=store.loudspeakers(db, village["id"]),
        can_edit=current_user.role in EDITORS, kinds=KIND_LABELS, fire_labels=FIRE_LABELS,
        status_labels=STATUS_LABELS, today=today.isoformat())


# ---- create and edit -----------------------------------------------------------------------------

def _form_page(village, form, kind, errors=(), overlaps=(), schedule=None, status=200):
    db = get_db()
    tz = village["timezone"]
    for o in overlaps:
        o["local"] = o["at"].astimezone(ZoneInfo(tz)).strftime("%m-%d %H:%M")
    return render_template(
        "schedules/form.html", village=village, form=form, kind=kind, errors=errors, overlaps=overlaps,
        schedule=schedule, notices=[n for n in notices.for_village(db, [village["id"]]) if n["status"] == "ready"],
        speakers=store.loudspeakers(db, village["id"], active_only=True), grids=places.grids(db, village["id"]),
        tags=KNOWN_TAGS, repeat_labels=forms.REPEAT_LABELS, weekday_labels=forms.WEEKDAY_LABELS,
        end_labels=forms.END_LABELS, campaign_kinds=forms.CAMPAIGN_KIND_LABELS,
        quiet=json.loads(village["quiet_hours"] or "[]")), status


def _save(village: dict, kind: str, schedule: dict | None):
    """Validate, check overlaps (a confirm step), save, plan; or re-show the form with what is wrong."""
    db, form, now = get_db(), request.form, now_utc()
    values, errors = forms.parse(db, form, village["id"], kind)
    overlaps = []
    if not errors:
        try:
            rule = store.village_rule(db, village["id"], values["rule"])
            store.first_fire(rule, now)
            values["rule"] = rule
        except store.ScheduleInPast:
            errors.append(_("Every time of this schedule is already in the past. Choose a later date or time."))
    if not errors and kind == store.BROADCAST and not form.get("confirm_overlap"):
        overlaps = planner.draft_overlaps(
            db, village_id=village["id"], rule=values["rule"], notice_id=values["notice_id"], loops=values["loops"],
            loudspeaker_id=values["loudspeaker_id"], override_quiet=values["override_quiet"], now=now,
            exclude_schedule_id=schedule["id"] if schedule else None)
        if overlaps:
            return _form_page(village, form, kind, overlaps=overlaps, schedule=schedule, status=409)
    if not errors:
        try:
            if schedule is None:
                schedule_id = store.create(db, village_id=village["id"], kind=kind, now=now, user=current_user.row,
                                           **values)
            else:
                schedule_id = schedule["id"]
                store.update(db, schedule_id, now=now, user=current_user.row, **values)
        except store.ScheduleInPast:
            errors.append(_("Every time of this schedule is already in the past. Choose a later date or time."))
        except ValueError as exc:
            errors.append(_("Not saved: %(reason)s", reason=error_text(exc)))
    if errors:
        return _form_page(village, form, kind, errors=errors, schedule=schedule, status=400)
    planner.plan(db, now, schedule_ids=[schedule_id])  # so the calendar shows it now; the worker runs it
    flash(_("Schedule saved. It is on the calendar below.") if schedule is None else
          _("Schedule changed. Past plays and sends were kept; future ones follow the new times."))
    return redirect(url_for("schedules.calendar", village_id=village["id"]))


@bp.route("/schedule/new", methods=["GET", "POST"])
@roles_required(*EDITORS)
def new():
    raw = request.values.get("village_id", "")
    if not raw.isdigit() or len(raw) > 9:
        abort(404)
    village = village_or_404(int(raw))
    kind = request.values.get("kind", store.BROADCAST)
    if kind not in store.KINDS:
        abort(404)
    if request.method == "POST":
        return _save(village, kind, None)
    today = now_utc().astimezone(ZoneInfo(village["timezone"])).date()
    form = forms.defaults(today, kind, request.args.get("template", ""))
    if request.args.get("notice_id", "").isdigit():  # "schedule this notice" from the notice page
        form["notice_id"] = request.args["notice_id"]
    return _form_page(village, form, kind)


@bp.route("/schedule/<int:schedule_id>/edit", methods=["GET", "POST"])
@roles_required(*EDITORS)
def edit(schedule_id):
    schedule = schedule_or_404(schedule_id)
    village = places.village(get_db(), schedule["village_id"])
    if schedule["status"] in (store.CANCELLED, store.FINISHED):
        flash(_("A cancelled or finished schedule cannot be changed. Make a new one."), "error")
        return redirect(url_for("schedules.show", schedule_id=schedule_id))
    if request.method == "POST":
        return _save(village, schedule["kind"], schedule)
    return _form_page(village, forms.from_schedule(schedule), schedule["kind"], schedule=schedule)


@bp.route("/schedule/<int:schedule_id>/<any(pause, resume, cancel):action>", methods=["POST"])
@roles_required(*EDITORS)
def change(schedule_id, action):
    schedule = schedule_or_404(schedule_id)
    try:
        store.set_status(get_db(), schedule_id, action, now=now_utc(), user=current_user.row)
    except ValueError:
        flash(_("A %(status)s schedule cannot be changed this way.",
                status=STATUS_LABELS.get(schedule["status"], schedule["status"])), "error")
    else:
        flash(str(ACTION_MESSAGES[action]))
    return redirect(request.form.get("back") == "show" and url_for("schedules.show", schedule_id=schedule_id)
                    or url_for("schedules.calendar", village_id=schedule["village_id"]))


# ---- one schedule: proof of play ------------------------------------------------------------------

@bp.route("/schedule/<int:schedule_id>")
@roles_required(*READERS)
def show(schedule_id):
    schedule = schedule_or_404(schedule_id)
    db = get_db()
    found = rows(db, "SELECT * FROM fires WHERE schedule_id = ? ORDER BY fire_at DESC LIMIT 300", [schedule_id])
    by_fire = plays.for_fires(db, [f["id"] for f in found])
    tz = schedule["timezone"]
    for f in found:
        f["when"] = local(f["due_at"], tz, "%Y-%m-%d %H:%M")
        f["carried"] = local(f["fire_at"], tz) if f["fire_at"] != f["due_at"] else ""
        f["plays"] = by_fire.get(f["id"], [])
        for p in f["plays"]:
            p["started"] = local(p["started_at"], tz, "%H:%M:%S") if p["started_at"] else ""
            if p["confirmed_by"] and current_scope().masks_phones and p["confirmed_by"].startswith("sms:"):
                p["confirmed_by"] = "sms:" + phones.mask(p["confirmed_by"][4:])
    totals = one(db, """SELECT COUNT(*) AS plays, COALESCE(SUM(p.status IN ('finished', 'confirmed')), 0) AS played,
                        COALESCE(SUM(p.status IN ('failed', 'missed')), 0) AS failed
                        FROM plays p JOIN fires f ON f.id = p.fire_id WHERE f.schedule_id = ?""", [schedule_id])
    counts = dict(db.execute("SELECT status, COUNT(*) FROM fires WHERE schedule_id = ? GROUP BY status",
                             [schedule_id]).fetchall())
    return render_template("schedules/show.html", s=schedule, fires=found, totals=totals, counts=counts,
                           can_edit=current_user.role in EDITORS, kinds=KIND_LABELS, fire_labels=FIRE_LABELS,
                           play_labels=PLAY_LABELS, status_labels=STATUS_LABELS,
                           repeat_labels=forms.REPEAT_LABELS)


# ---- village settings -----------------------------------------------------------------------------

@bp.route("/villages/<int:village_id>/quiet-hours", methods=["POST"])
@roles_required(*EDITORS)
def quiet_hours(village_id):
    village_or_404(village_id)
    windows = [w.strip() for w in request.form.get("quiet_hours", "").replace("，", ",").split(",") if w.strip()]
    try:
        saved = store.set_quiet_hours(get_db(), village_id, windows, now=now_utc(), user=current_user.row)
    except ValueError as exc:
        flash(_("Quiet hours not changed: %(reason)s", reason=error_text(exc)), "error")
    else:
        flash(_("Quiet hours saved: %(windows)s. Planned plays and sends inside them now wait.",
                windows=", ".join(saved) or _("none")))
    return redirect(url_for("schedules.calendar", village_id=village_id))


@bp.route("/villages/<int:village_id>/led", methods=["POST"])
@roles_required(*EDITORS)
def led(village_id):
    village_or_404(village_id)
    try:
        store.set_led_url(get_db(), village_id, request.form.get("led_url", ""), user=current_user.row)
    except ValueError as exc:
        flash(_("LED sign not saved: %(reason)s", reason=error_text(exc)), "error")
    else:
        flash(_("LED sign saved: each broadcast now also shows the notice's text on it."))
    return redirect(url_for("schedules.loudspeakers", village_id=village_id))


def init_app(app):
    from . import loudspeaker_views, schedules_twilio  # noqa: F401  (their routes join this blueprint)

    app.register_blueprint(bp)
    schedules_twilio.init_app(app)
