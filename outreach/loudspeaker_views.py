"""Loudspeaker endpoints of a village (add/edit, validated by the outputs package), the LED sign, and
portable units: the day's bundle (zip) to carry and the page where the operator confirms plays."""
from __future__ import annotations

import os
import tempfile
from io import BytesIO
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user

from schedules import plays, store
from schedules.outputs.portable import build_bundle

from .db import get_db, rows
from .i18n import error_text
from .schedules_views import EDITORS, PLAY_LABELS, bp, local, now_utc, village_or_404
from .security import roles_required

KIND_LABELS = {"alsa": _l("Sound card of the station PC (amplifier)"), "icecast": _l("Network stream (Icecast)"),
               "phone_terminal": _l("Phone-dialled terminal (电话广播)"),
               "portable": _l("Portable unit (propaganda vehicle, no network)")}
CONFIG_FIELDS = {"alsa": ("device",), "icecast": ("url", "password"), "phone_terminal": ("number",),
                 "portable": ("name",)}


def speaker_or_404(loudspeaker_id: int) -> dict:
    found = store.loudspeaker(get_db(), loudspeaker_id)
    if found is None:
        abort(404)
    village_or_404(found["village_id"])
    return found


def _config(form, kind: str, old: dict | None) -> dict:
    config = {}
    for key in CONFIG_FIELDS.get(kind, ()):
        value = form.get(f"cfg_{key}", "").strip()
        if key == "password" and not value and old and old["kind"] == kind:
            value = old["config_obj"].get("password", "")  # blank keeps the stored password
        if value:
            config[key] = value
    return config


@bp.route("/villages/<int:village_id>/loudspeakers", methods=["GET", "POST"])
@roles_required(*EDITORS)
def loudspeakers(village_id):
    village = village_or_404(village_id)
    db, status = get_db(), 200
    if request.method == "POST":
        raw = request.form.get("loudspeaker_id", "")
        old = speaker_or_404(int(raw)) if raw.isdigit() else None
        if old is not None and old["village_id"] != village_id:
            abort(404)
        kind = request.form.get("kind", "")
        try:
            store.save_loudspeaker(db, village_id, name=request.form.get("name", ""), kind=kind,
                                   config=_config(request.form, kind, old), active=bool(request.form.get("active")),
                                   loudspeaker_id=old["id"] if old else None, user=current_user.row)
        except ValueError as exc:
            flash(_("Loudspeaker not saved: %(reason)s", reason=error_text(exc)), "error")
            status = 400
        else:
            flash(_("Loudspeaker saved."))
            return redirect(url_for("schedules.loudspeakers", village_id=village_id))
    speakers = store.loudspeakers(db, village_id)
    for s in speakers:
        s["config_obj"].pop("password", None)  # never sent back to the browser
    return render_template("schedules/loudspeakers.html", village=village, speakers=speakers, kinds=KIND_LABELS,
                           fields=CONFIG_FIELDS, today=now_utc().astimezone(ZoneInfo(village["timezone"])).date()), status


@bp.route("/loudspeakers/<int:loudspeaker_id>/bundle")
@roles_required(*EDITORS)
def bundle(loudspeaker_id):
    speaker = speaker_or_404(loudspeaker_id)
    if speaker["kind"] != "portable":
        abort(404)
    village = village_or_404(speaker["village_id"])
    tz = ZoneInfo(village["timezone"])
    try:
        day = date.fromisoformat(request.args.get("date", ""))
    except ValueError:
        day = now_utc().astimezone(tz).date()
    start = datetime.combine(day, time(), tz)
    db, media = get_db(), current_app.config["MEDIA_DIR"]
    items = []
    for p in plays.bundle_plays(db, loudspeaker_id, start, start + timedelta(days=1)):
        audio = plays.rendition_file(db, media, p["asset_id"], "loudspeaker")
        if audio is not None:
            items.append((p["id"], p["title"], audio[0], store.parse(p["due_at"]).astimezone(tz).replace(tzinfo=None)))
    fd, path = tempfile.mkstemp(suffix=".zip", dir=current_app.config["UPLOAD_DIR"])
    os.close(fd)
    try:
        build_bundle(path, items, heading=f"{village['name']} {speaker['name']}", sms_number=village["phone_number"])
        with open(path, "rb") as fh:
            data = fh.read()  # a day's MP3s: small enough to hold, and the temp file can go at once
    except ValueError:
        flash(_("No plays are planned for this unit on %(day)s.", day=day.isoformat()), "warning")
        return redirect(url_for("schedules.loudspeakers", village_id=village["id"]))
    finally:
        os.unlink(path)
    return send_file(BytesIO(data), mimetype="application/zip", as_attachment=True,
                     download_name=f"playlist-{loudspeaker_id}-{day.isoformat()}.zip")


@bp.route("/loudspeakers/<int:loudspeaker_id>/confirm", methods=["GET", "POST"])
@roles_required(*EDITORS)
def confirm(loudspeaker_id):
    speaker = speaker_or_404(loudspeaker_id)
    if speaker["kind"] != "portable":
        abort(404)
    village = village_or_404(speaker["village_id"])
    db = get_db()
    if request.method == "POST":
        ids = [int(i) for i in request.form.getlist("play_id") if i.isdigit()]
        done, _unknown = plays.confirm(db, ids, by=f"page:{current_user.username}", at=now_utc(),
                                       village_ids=[village["id"]])
        flash(_("Confirmed as played: %(ids)s", ids=", ".join(map(str, done)) or _("none")))
        return redirect(url_for("schedules.confirm", loudspeaker_id=loudspeaker_id))
    waiting = rows(db, """SELECT p.*, f.due_at, n.title FROM plays p JOIN fires f ON f.id = p.fire_id
                          JOIN schedules s ON s.id = f.schedule_id JOIN notices n ON n.id = s.notice_id
                          WHERE p.loudspeaker_id = ? AND f.due_at >= ? ORDER BY f.due_at""",
                   [loudspeaker_id, store.iso(now_utc() - timedelta(days=3))])
    for p in waiting:
        p["when"] = local(p["due_at"], village["timezone"], "%m-%d %H:%M")
    return render_template("schedules/confirm.html", speaker=speaker, village=village, plays=waiting,
                           confirmable=plays.CONFIRMABLE, play_labels=PLAY_LABELS)
