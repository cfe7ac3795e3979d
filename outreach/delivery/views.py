"""Campaign screens: build an audience from a notice, preview it, start, watch progress, pause/resume/cancel;
and each village's do-not-call list. Thin: parse the request, call the domain, render."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l, ngettext
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from .. import audit
from ..accounts.users import ADMIN, SECRETARY
from ..db import get_db, one, rows, scalar
from ..i18n import error_text
from ..notices import store
from ..registry import phones, places
from ..registry.residents import KNOWN_TAGS
from ..registry.tabular import TabularError
from ..security import client_ip, current_scope, roles_required
from . import campaigns, dnc, outbox
from ..security import village_or_404 as _village_or_404, scoped_or_404

bp = Blueprint("campaigns", __name__)
EDITORS = (ADMIN, SECRETARY)
SAMPLE_SIZE = 10
MAX_DNC_UPLOAD = 2 * 1024 * 1024
DEFAULTS = {"channel": "voice", "max_attempts": "3", "wait_busy": "10", "wait_no_answer": "30", "wait_failed": "60",
            "window_start": "08:00", "window_end": "20:30", "throttle_per_s": "1", "machine_behaviour": "leave_message"}

CHANNEL_LABELS = {"voice": _l("Phone call"), "sms": _l("SMS"),
                  "voice_then_sms": _l("Phone call, then SMS if not reached")}
STATUS_LABELS = {"draft": _l("Draft"), "running": _l("Running"), "paused": _l("Paused"),
                 "cancelled": _l("Cancelled"), "done": _l("Finished")}
ROW_LABELS = {"pending": _l("Waiting"), "sending": _l("Sending"), "wired": _l("Sent, waiting for the result"),
              "retry": _l("Will try again"), "unknown": _l("Checking with the provider"), "done": _l("Reached"),
              "failed": _l("Not reached"), "expired": _l("Too old to send"), "cancelled": _l("Cancelled")}
OUTCOME_LABELS = {"answered": _l("Answered"), "delivered": _l("Delivered"), "machine": _l("Answering machine"),
                  "busy": _l("Busy"), "no-answer": _l("No answer"), "failed": _l("Failed"),
                  "undelivered": _l("Not delivered"), "canceled": _l("Cancelled"),
                  "answered, not acknowledged": _l("Answered, not acknowledged")}
RESPONSE_LABELS = {"ack": _l("Acknowledged"), "pledge": _l("Pledge"), "repeat": _l("Asked to hear it again"),
                   "callback": _l("Asked for a call back"), "opt_out": _l("Opted out"), "opt_in": _l("Opted in"),
                   "other": _l("Other reply"), "health_ok": _l("Temperature normal"), "health_help": _l("Needs help")}
SKIP_LABELS = {campaigns.SKIP_NO_PHONE: _l("No phone, or tagged “no working phone”"),
               campaigns.SKIP_DO_NOT_CALL: _l("On the do-not-call list"),
               campaigns.SKIP_OPTED_OUT: _l("Opted out of text messages"),
               campaigns.SKIP_LANDLINE_ONLY: _l("Only a landline (cannot receive SMS)")}
ACTIONS = {"pause": (campaigns.PAUSED, "campaign_paused"), "resume": (campaigns.RUNNING, "campaign_resumed"),
           "cancel": (campaigns.CANCELLED, "campaign_cancelled")}






# ---- the form --------------------------------------------------------------------------------

class FormErrors(list):
    def number(self, form, name: str, label, low: float, high: float, *, whole: bool = True, optional=False):
        text = form.get(name, "").strip()
        if not text and optional:
            return None
        try:
            value = int(text) if whole else float(text)
            if not low <= value <= high:
                raise ValueError(text)
            return value
        except ValueError:
            self.append(_("%(field)s must be a number between %(low)s and %(high)s.", field=label, low=low, high=high))
            return None


def _village_id_of(db, table: str, value: str, village_id: int) -> int | None:
    """An id from a select box, if it names a row of this village (else None)."""
    if not value.isdigit():
        return None
    found = scalar(db, f"SELECT village_id FROM {table} WHERE id = ?", [int(value)])
    return int(value) if found == village_id else None


def parse_form(db, form, notice: dict, village: dict) -> tuple[dict, list[str]]:
    """Campaign settings (create()'s keyword arguments) from the form, and what is wrong with them."""
    errors, vid = FormErrors(), notice["village_id"]
    grid_id = _village_id_of(db, "grids", form.get("grid_id", ""), vid)
    household_id, house = None, form.get("house_number", "").strip()
    if house:
        household_id = scalar(db, "SELECT id FROM households WHERE village_id = ? AND house_number = ?", [vid, house])
        if household_id is None:
            errors.append(_("No household with house number %(number)s in this village.", number=house))
    audience = campaigns.Audience(
        village_id=vid, grid_id=grid_id, household_id=household_id,
        min_age=errors.number(form, "min_age", _("Minimum age"), 0, 120, optional=True),
        tags=[t for t in form.getlist("tags") if t in KNOWN_TAGS], language=form.get("language", "")[:30],
        not_acknowledged_notice=_village_id_of(db, "notices", form.get("not_acknowledged_notice", ""), vid),
        unreached_in_campaign=_village_id_of(db, "campaigns", form.get("unreached_in_campaign", ""), vid))
    channel = form.get("channel", "")
    if channel not in campaigns.CHANNELS:
        errors.append(_("Choose how to reach people."))
    waits = {key: errors.number(form, f"wait_{field}", label, 0, 1440)
             for key, field, label in (("busy", "busy", _("Wait after busy")),
                                       ("no-answer", "no_answer", _("Wait after no answer")),
                                       ("failed", "failed", _("Wait after a failed call")))}
    expires_at = None
    if form.get("expires_at", "").strip():
        try:
            local = datetime.fromisoformat(form["expires_at"].strip())
            expires_at = local.replace(tzinfo=ZoneInfo(village["timezone"])).astimezone(timezone.utc)
            if expires_at <= datetime.now(timezone.utc):
                errors.append(_("The expiry time has already passed."))
        except ValueError:
            errors.append(_("The expiry time is not a valid date and time."))
    settings = dict(
        village_id=vid, notice_id=notice["id"], channel=channel, audience=audience,
        name=form.get("name", "").strip() or notice["title"],
        max_attempts=errors.number(form, "max_attempts", _("Attempts"), 1, 10),
        retry_waits={k: v * 60 for k, v in waits.items() if v is not None},
        retry_until_ack=bool(form.get("retry_until_ack")),
        window=f"{form.get('window_start', '').strip()}-{form.get('window_end', '').strip()}",
        expires_at=expires_at,
        throttle_per_s=errors.number(form, "throttle_per_s", _("Sends per second"), 0.05, 100, whole=False),
        machine_behaviour=form.get("machine_behaviour", "leave_message"))
    return settings, errors


def preview_key(settings: dict) -> str:
    """Fingerprint of who would be reached: Start only runs what was previewed."""
    text = settings["audience"].to_json() + "|" + settings["channel"]
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def preview(db, settings: dict) -> dict:
    selection = campaigns.select_targets(db, settings["audience"], settings["channel"])
    sample_ids = [t[0] for t in selection.targets[:SAMPLE_SIZE]]
    names = dict(db.execute(f"SELECT id, name FROM residents WHERE id IN ({','.join('?' * len(sample_ids))})",
                            sample_ids).fetchall()) if sample_ids else {}
    sample = [{"name": names.get(rid, ""), "channel": CHANNEL_LABELS[ch], "phone": phones.display(number)}
              for rid, ch, number in selection.targets[:SAMPLE_SIZE]]
    skipped = [(SKIP_LABELS.get(reason, reason), count) for reason, count in sorted(selection.skipped.items())]
    return {"total": selection.total, "count": len(selection.targets), "sample": sample, "skipped": skipped,
            "skipped_total": sum(selection.skipped.values()), "key": preview_key(settings)}


@bp.route("/campaigns")
@roles_required(*EDITORS)
def index():
    db, villages = get_db(), current_scope().village_list()
    where = "" if villages is None else f"WHERE c.village_id IN ({','.join('?' * len(villages)) or 'NULL'})"
    found = rows(db, f"""SELECT c.id, c.name, c.status, c.channel, c.created_at, c.started_at, n.title AS notice_title,
                         v.name AS village_name, v.timezone,
                         (SELECT COUNT(*) FROM outbox o WHERE o.campaign_id = c.id) AS planned,
                         (SELECT COUNT(*) FROM outbox o WHERE o.campaign_id = c.id AND o.status = 'done') AS reached
                         FROM campaigns c JOIN notices n ON n.id = c.notice_id JOIN villages v ON v.id = c.village_id
                         {where} ORDER BY c.created_at DESC, c.id DESC LIMIT 200""", villages or [])
    return render_template("campaigns/index.html", campaigns=found, notices=store.for_village(db, villages),
                           labels=STATUS_LABELS, channels=CHANNEL_LABELS,
                           villages=places.villages(db, villages))


@bp.route("/campaigns/new", methods=["GET", "POST"])
@roles_required(*EDITORS)
def new():
    db = get_db()
    raw_id = request.values.get("notice_id", "")
    notice = store.get(db, int(raw_id)) if raw_id.isdigit() and len(raw_id) < 10 else None
    if notice is None or not current_scope().allows_village(notice["village_id"]):
        abort(404)
    village = places.village(db, notice["village_id"])
    form = request.form if request.method == "POST" else MultiDict({**DEFAULTS, "name": notice["title"]})
    result, errors, status = None, [], 200
    if request.method == "POST":
        settings, errors = parse_form(db, request.form, notice, village)
        if not errors:
            result = preview(db, settings)
            if request.form.get("action") == "start":
                if request.form.get("preview_key") != result["key"]:
                    errors.append(_("The audience changed since the preview. Check the new preview, then start."))
                elif not result["count"]:
                    errors.append(_("Nobody in this audience can be reached by this channel."))
                else:
                    return _start(db, settings, errors)
        status = 400 if errors else 200
    return _form_page(db, notice, village, form, errors, result, status)


def _start(db, settings: dict, errors: list):
    try:
        campaign_id = campaigns.create(db, **settings, user_id=current_user.id)
    except ValueError as exc:
        errors.append(_("Not started: %(reason)s", reason=error_text(exc)))
        return _redisplay(db, errors)
    try:
        selection = campaigns.start(db, campaign_id, outbox.now_utc())
    except ValueError as exc:
        campaigns.set_status(db, campaign_id, campaigns.CANCELLED)  # never leave a half-made draft behind
        errors.append(_("Not started: %(reason)s", reason=error_text(exc)))
        return _redisplay(db, errors)
    audit.record(db, "campaign_started", user=current_user.row, object_type="campaign", object_id=campaign_id,
                 village_id=settings["village_id"], ip=client_ip(), channel=settings["channel"],
                 planned=len(selection.targets), skipped=dict(selection.skipped), notice_id=settings["notice_id"])
    flash(ngettext("Campaign started: %(num)s person will be contacted.",
                   "Campaign started: %(num)s people will be contacted.", len(selection.targets)))
    return redirect(url_for("campaigns.show", campaign_id=campaign_id))


def _redisplay(db, errors):
    notice = store.get(db, int(request.form["notice_id"]))
    village = places.village(db, notice["village_id"])
    settings, _more = parse_form(db, request.form, notice, village)
    return _form_page(db, notice, village, request.form, errors, preview(db, settings), 400)


def _form_page(db, notice, village, form, errors, result, status):
    vid = notice["village_id"]
    past = rows(db, "SELECT id, name, created_at FROM campaigns WHERE village_id = ? AND status != 'draft' "
                    "ORDER BY id DESC LIMIT 50", [vid])
    return render_template("campaigns/new.html", notice=notice, village=village, form=form, errors=errors,
                           result=result, grids=places.grids(db, vid), languages=places.languages(db, vid),
                           tags=KNOWN_TAGS, notices=store.for_village(db, [vid], include_archived=True), past=past,
                           channels=CHANNEL_LABELS), status


# ---- one campaign ----------------------------------------------------------------------------

def snapshot(db, campaign_id: int, masks_phones: bool) -> dict:
    """Everything the live page shows: funnel, outcomes, each person (JSON-ready)."""
    p = campaigns.progress(db, campaign_id)
    s = p["by_status"]
    counts = one(db, """SELECT
        COALESCE(SUM(attempts > 0 OR status IN ('sending', 'wired', 'unknown', 'done')), 0) AS sent,
        COALESCE(SUM(outcome = 'busy'), 0) AS busy, COALESCE(SUM(outcome = 'no-answer'), 0) AS no_answer,
        COALESCE(SUM(outcome = 'machine'), 0) AS machine,
        COALESCE(SUM(outcome IN ('failed', 'undelivered', 'canceled')
                     OR (status = 'failed' AND outcome IS NULL AND COALESCE(error_code, 0) != 21610)), 0) AS failed
        FROM outbox WHERE campaign_id = ?""", [campaign_id])
    opted = scalar(db, """SELECT COUNT(*) FROM (
                          SELECT resident_id FROM outbox WHERE campaign_id = ? AND error_code = 21610
                          UNION SELECT resident_id FROM responses WHERE campaign_id = ? AND kind = 'opt_out')""",
                   [campaign_id, campaign_id])
    finished = sum(s.get(k, 0) for k in outbox.FINAL)
    people = []
    for r in campaigns.people(db, campaign_id):
        kinds = [k for k in dict.fromkeys((r["responses"] or "").split(",")) if k]
        people.append({
            "resident_id": r["resident_id"], "name": r["name"],
            "url": url_for("registry.resident", resident_id=r["resident_id"]),
            "channel": r["channel"], "channel_label": str(CHANNEL_LABELS.get(r["channel"], r["channel"])),
            "phone": phones.mask(r["to_e164"]) if masks_phones else phones.display(r["to_e164"]),
            "attempts": r["attempts"], "status": r["status"],
            "status_label": str(ROW_LABELS.get(r["status"], r["status"])),
            "outcome": r["outcome"], "outcome_label": str(OUTCOME_LABELS.get(r["outcome"], r["outcome"] or "")),
            "heard_full": bool(r["heard_full"]), "responses": [str(RESPONSE_LABELS.get(k, k)) for k in kinds]})
    percent = round(100 * finished / p["total"]) if p["total"] else 0
    return {
        "status": p["status"], "status_label": str(STATUS_LABELS.get(p["status"], p["status"])),
        "total": p["total"], "finished": finished, "percent": percent,
        "summary": _("%(finished)s of %(total)s finished (%(percent)s%%)", finished=finished, total=p["total"],
                     percent=percent),
        "funnel": {"planned": p["total"], "sent": counts["sent"], "reached": s.get("done", 0),
                   "heard_full": p["heard_full"], "acknowledged": p["acknowledged"], "pledges": p["pledges"],
                   "failed": s.get("failed", 0), "expired": s.get("expired", 0), "cancelled": s.get("cancelled", 0),
                   "waiting": s.get("pending", 0) + s.get("retry", 0),
                   "in_flight": s.get("sending", 0) + s.get("wired", 0) + s.get("unknown", 0)},
        "outcomes": {"busy": counts["busy"], "no_answer": counts["no_answer"], "machine": counts["machine"],
                     "failed": counts["failed"], "opted_out": opted},
        "people": people}


@bp.route("/campaigns/<int:campaign_id>")
@roles_required(*EDITORS)
def show(campaign_id):
    camp = scoped_or_404(campaigns.get(get_db(), campaign_id))
    db = get_db()
    return render_template("campaigns/show.html", c=camp, snap=snapshot(db, campaign_id, current_scope().masks_phones),
                           audience=campaigns.Audience.from_json(camp["audience"]), channels=CHANNEL_LABELS,
                           tz=scalar(db, "SELECT timezone FROM villages WHERE id = ?", [camp["village_id"]]),
                           waits={k: v // 60 for k, v in json.loads(camp["retry_waits"]).items()})


@bp.route("/campaigns/<int:campaign_id>/progress.json")
@roles_required(*EDITORS)
def progress_json(campaign_id):
    scoped_or_404(campaigns.get(get_db(), campaign_id))
    response = jsonify(snapshot(get_db(), campaign_id, current_scope().masks_phones))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/campaigns/<int:campaign_id>/<any(pause, resume, cancel):action>", methods=["POST"])
@roles_required(*EDITORS)
def change(campaign_id, action):
    camp = scoped_or_404(campaigns.get(get_db(), campaign_id))
    new_status, event = ACTIONS[action]
    db = get_db()
    try:
        campaigns.set_status(db, campaign_id, new_status)
    except ValueError:
        message = _("A %(status)s campaign cannot be changed this way.",
                    status=STATUS_LABELS.get(camp["status"], camp["status"]))
        return render_template("error.html", status=400, message=message), 400
    audit.record(db, event, user=current_user.row, object_type="campaign", object_id=campaign_id,
                 village_id=camp["village_id"], ip=client_ip(), previous=camp["status"])
    flash({"pause": _("Campaign paused."), "resume": _("Campaign resumed."),
           "cancel": _("Campaign cancelled. Messages already sent keep their results.")}[action])
    return redirect(url_for("campaigns.show", campaign_id=campaign_id))


# ---- do-not-call -----------------------------------------------------------------------------

@bp.route("/villages/<int:village_id>/do-not-call")
@roles_required(*EDITORS)
def dnc_list(village_id):
    village = _village_or_404(village_id)
    db = get_db()
    return render_template("campaigns/dnc.html", village=village, entries=dnc.entries(db, village_id),
                           opted=dnc.opted_out(db, village_id), display=phones.display)


@bp.route("/villages/<int:village_id>/do-not-call", methods=["POST"])
@roles_required(*EDITORS)
def dnc_add(village_id):
    _village_or_404(village_id)
    db = get_db()
    try:
        e164, added = dnc.add(db, village_id, request.form.get("phone", ""), request.form.get("reason", ""),
                              current_user.id)
    except phones.InvalidPhone as exc:
        flash(_("Not added: %(reason)s", reason=error_text(exc)), "error")
    else:
        if added:
            audit.record(db, "dnc_added", user=current_user.row, object_type="village", object_id=village_id,
                         village_id=village_id, ip=client_ip(), phone=phones.mask(e164))
            flash(_("%(phone)s will not be called or texted.", phone=phones.display(e164)))
        else:
            flash(_("%(phone)s is already on the list.", phone=phones.display(e164)), "warning")
    return redirect(url_for("campaigns.dnc_list", village_id=village_id))


@bp.route("/villages/<int:village_id>/do-not-call/remove", methods=["POST"])
@roles_required(*EDITORS)
def dnc_remove(village_id):
    _village_or_404(village_id)
    db = get_db()
    e164 = request.form.get("e164", "")
    if dnc.remove(db, village_id, e164):
        audit.record(db, "dnc_removed", user=current_user.row, object_type="village", object_id=village_id,
                     village_id=village_id, ip=client_ip(), phone=phones.mask(e164))
        flash(_("%(phone)s was taken off the list.", phone=phones.display(e164)))
    return redirect(url_for("campaigns.dnc_list", village_id=village_id))


@bp.route("/villages/<int:village_id>/do-not-call/import", methods=["POST"])
@roles_required(*EDITORS)
def dnc_import(village_id):
    village = _village_or_404(village_id)
    db = get_db()
    upload = request.files.get("file")
    data = upload.read(MAX_DNC_UPLOAD + 1) if upload else b""
    result, problem = None, None
    if len(data) > MAX_DNC_UPLOAD:
        problem = _("The file is larger than 2 MB.")
    else:
        try:
            result = dnc.import_file(db, village_id, data, reason=request.form.get("reason", ""),
                                     user_id=current_user.id)
        except TabularError as exc:
            problem = exc.translated(_)
    if result is not None:
        result.errors = [(line, text, error_text(why)) for line, text, why in result.errors]
        audit.record(db, "dnc_imported", user=current_user.row, object_type="village", object_id=village_id,
                     village_id=village_id, ip=client_ip(), added=len(result.added),
                     duplicates=len(result.duplicates), errors=len(result.errors))
    return render_template("campaigns/dnc.html", village=village, entries=dnc.entries(db, village_id),
                           opted=dnc.opted_out(db, village_id), display=phones.display, result=result,
                           problem=problem), 400 if problem else 200


@bp.route("/villages/<int:village_id>/do-not-call.csv")
@roles_required(*EDITORS)
def dnc_export(village_id):
    village = _village_or_404(village_id)
    header = (_("Phone"), _("Reason"), _("Added at"), _("Added by"))
    data = dnc.export_csv(get_db(), village_id, header)
    filename = f"do-not-call-{village_id}.csv"
    return Response(data, mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename={filename}; filename*=UTF-8''"
                               + quote(f"{village['name']}-免打扰.csv")})


def init_app(app):
    app.register_blueprint(bp)
