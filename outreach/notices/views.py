"""Notice screens: list, create, edit text and SMS scripts, preview, cost. Audio routes: audio_views."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import audit
from ..accounts.users import ADMIN, SECRETARY
from ..db import get_db, rows, scalar
from ..i18n import error_text
from ..registry import places
from ..registry.residents import current_year
from ..security import client_ip, current_scope, roles_required
from . import sms_text, store, variants

bp = Blueprint("notices", __name__, url_prefix="/notices")
EDITORS = (ADMIN, SECRETARY)


def notice_or_404(notice_id: int) -> dict:
    notice = store.get(get_db(), notice_id)
    if notice is None or not current_scope().allows_village(notice["village_id"]):
        abort(404)
    return notice


def prices() -> variants.Prices:
    cfg = current_app.config
    return variants.Prices(float(cfg.get("SMS_PRICE_PER_SEGMENT", 0.05)),
                           float(cfg.get("CALL_PRICE_PER_MINUTE", 0.10)), cfg.get("PRICE_CURRENCY", "CNY"))


@bp.route("/")
@roles_required(*EDITORS)
def index():
    return render_template("notices/index.html", notices=store.for_village(get_db(), current_scope().village_list()),
                           villages=places.villages(get_db(), current_scope().village_list()))


@bp.route("/new", methods=["POST"])
@roles_required(*EDITORS)
def create():
    db = get_db()
    village_id = request.form.get("village_id", "")
    if not village_id.isdigit() or not current_scope().allows_village(int(village_id)):
        abort(404)
    try:
        notice_id = store.create(db, int(village_id), request.form.get("title", ""), request.form.get("text", ""),
                                 user_id=current_user.id)
    except ValueError as exc:
        flash(_("Not saved: %(reason)s", reason=error_text(exc)), "error")
        return redirect(url_for("notices.index"))
    audit.record(db, "notice_created", user=current_user.row, object_type="notice", object_id=notice_id,
                 village_id=int(village_id), ip=client_ip())
    return redirect(url_for("notices.show", notice_id=notice_id))


@bp.route("/<int:notice_id>")
@roles_required(*EDITORS)
def show(notice_id):
    db = get_db()
    notice = notice_or_404(notice_id)
    languages = list(dict.fromkeys(places.languages(db, notice["village_id"]) + list(notice["variants"])
                                   + list(notice["audio"])))
    chains = {lang: [(_step_label(step), ok) for step, ok in variants.chain(notice, lang)] for lang in languages}
    choices = {lang: variants.choose(notice, lang) for lang in languages}
    residents = rows(db, "SELECT id, name, language FROM residents WHERE village_id = ? ORDER BY birth_year LIMIT 30",
                     [notice["village_id"]])
    return render_template("notices/show.html", notice=notice, languages=languages, chains=chains, choices=choices,
                           residents=residents, cost=_cost(db, notice), warning_text=warning_text(),
                           default_hint=sms_text.DEFAULT_REPLY_HINT)


def _cost(db, notice: dict, min_age: int | None = None) -> dict:
    params = [notice["village_id"]]
    where = "village_id = ?"
    if min_age is not None:
        where += " AND birth_year <= ?"
        params.append(current_year() - min_age)
    recipients = scalar(db, f"SELECT COUNT(*) FROM residents WHERE {where}", params)
    template = variants.sms_template(notice, variants.MANDARIN)
    segments = sms_text.count_segments(template.replace("{reply_hint}", sms_text.DEFAULT_REPLY_HINT)
                                       .replace("{name}", "某某某").replace("{village}", notice["village_name"])
                                       .replace("{date}", "11月27日")).segments
    audio = notice["audio"].get(variants.MANDARIN) or next(iter(notice["audio"].values()), None)
    minutes = max(1, round(((audio["duration_s"] if audio else 30) + 20) / 60 + 0.49))  # billed per started minute
    estimate = variants.estimate_cost(recipients, segments, minutes, 1.6, prices())
    return dict(estimate, recipients=recipients, segments=segments, minutes=minutes, attempts=1.6,
                prices=prices())


@bp.route("/<int:notice_id>/edit", methods=["POST"])
@roles_required(*EDITORS)
def edit(notice_id):
    notice_or_404(notice_id)
    db = get_db()
    try:
        store.update(db, notice_id, title=request.form.get("title", ""), text=request.form.get("text", ""),
                     status=request.form.get("status", store.DRAFT),
                     append_reply_hint=bool(request.form.get("append_reply_hint")))
    except ValueError as exc:
        flash(_("Not saved: %(reason)s", reason=error_text(exc)), "error")
    else:
        flash(_("Saved."))
    return redirect(url_for("notices.show", notice_id=notice_id))


@bp.route("/<int:notice_id>/sms", methods=["POST"])
@roles_required(*EDITORS)
def save_sms(notice_id):
    notice_or_404(notice_id)
    try:
        store.set_sms_text(get_db(), notice_id, request.form.get("language", ""), request.form.get("sms_text", ""))
    except ValueError as exc:
        flash(_("SMS text not saved: %(reason)s", reason=error_text(exc)), "error")
    else:
        flash(_("SMS text saved."))
    return redirect(url_for("notices.show", notice_id=notice_id) + "#sms")


@bp.route("/sms-count", methods=["POST"])
@roles_required(*EDITORS)
def sms_count():
    """The live counter: encoding and segments of the text as it will be sent (reply hint included)."""
    text = request.form.get("text", "")[:2000]
    if request.form.get("append_reply_hint") == "1":
        try:
            text = sms_text.with_reply_hint(text)
        except ValueError as exc:
            return jsonify(error=error_text(exc))
    text = text.replace("{reply_hint}", sms_text.DEFAULT_REPLY_HINT)
    count = sms_text.count_segments(text)
    return jsonify(encoding=count.encoding, chars=count.chars, segments=count.segments,
                   per_segment=count.per_segment, remaining=count.remaining_in_segment,
                   multi=count.multi_segment)


@bp.route("/<int:notice_id>/sms/preview")
@roles_required(*EDITORS)
def sms_preview(notice_id):
    notice = notice_or_404(notice_id)
    resident_id = request.args.get("resident_id", "")
    db = get_db()
    resident = rows(db, "SELECT id, name, language, village_id FROM residents WHERE id = ?",
                    [int(resident_id)]) if resident_id.isdigit() else []
    if not resident or resident[0]["village_id"] != notice["village_id"]:
        abort(404)
    resident = resident[0]
    template = variants.sms_template(notice, resident["language"])
    try:
        text = sms_text.render(template, {"name": resident["name"], "village": notice["village_name"],
                                          "date": places.today_label(db, notice["village_id"])})
    except ValueError as exc:
        return jsonify(error=error_text(exc))
    count = sms_text.count_segments(text)
    choice = variants.choose(notice, resident["language"])
    return jsonify(text=text, segments=count.segments, encoding=count.encoding, channel_step=choice.step)


def _step_label(step: str) -> str:
    from ..i18n import LANGUAGE_LABELS

    if step.startswith("recording:"):
        lang = step.split(":", 1)[1]
        return _("recording in %(language)s", language=LANGUAGE_LABELS.get(lang, lang))
    return {"synthetic": _("synthetic speech"), "sms": _("SMS only")}[step]


def warning_text() -> dict:
    return {
        "too_quiet": _("The recording is very quiet; background noise was made louder with it."),
        "clipped": _("The recording is distorted (too loud when recorded)."),
        "mostly_silence": _("Most of the recording is silence."),
        "too_long_for_call": _("Longer than 3 minutes: many people hang up before the end of a call."),
        "low_sample_rate": _("Recorded at telephone quality; it will sound muffled on a loudspeaker."),
        "damaged": _("Parts of the file were damaged and were skipped."),
        "synthetic": _("Machine-generated speech: a recording of a familiar voice works better."),
    }


def init_app(app):
    app.register_blueprint(bp)
