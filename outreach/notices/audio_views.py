"""Notice audio: upload or browser recording, text-to-speech drafts, players and the Twilio link.

Uploads are written to the upload folder under a generated name, processed into a generated
asset folder, and recorded; a rejected file leaves nothing behind.
"""
from __future__ import annotations

import os
import uuid

from flask import (Blueprint, abort, current_app, flash, jsonify, redirect, request, send_file, url_for)
from flask_babel import gettext as _
from flask_login import current_user

from audio.errors import AudioRejected, TTSFailed, TTSUnavailable
from audio.process import MAX_REPEAT, process_upload
from audio.waveform import waveform_svg

from .. import audit
from ..db import get_db
from ..i18n import error_text
from ..security import client_ip, current_scope, public, roles_required
from . import drafts, store
from .views import EDITORS, notice_or_404

bp = Blueprint("notice_audio", __name__)
MIMETYPES = {"loudspeaker": "audio/mpeg", "telephone": "audio/wav", "master": "audio/wav"}


def rejection_text(exc: AudioRejected) -> str:
    return {
        "empty": _("The file is empty."),
        "not_audio": _("This file is not audio we can use (we accept MP3, WAV, M4A, AMR, OGG/Opus and WeChat voice)."),
        "too_large": _("The file is too large."),
        "too_long": _("The recording is too long."),
        "too_short": _("The recording is too short: less than a second of sound."),
        "silent": _("The recording is silent: no voice was found."),
        "undecodable": _("The file is damaged and cannot be played."),
        "timeout": _("The file took too long to process; it may be damaged."),
    }.get(exc.code, exc.message)


def _options() -> tuple[str, bool, int]:
    language = (request.form.get("language") or "mandarin").strip()[:30] or "mandarin"
    repeat = request.form.get("repeat", "1")
    if not repeat.isdigit() or not 1 <= int(repeat) <= MAX_REPEAT:
        raise ValueError(_("Repeat must be between 1 and %(n)s.", n=MAX_REPEAT))
    return language, bool(request.form.get("chime")), int(repeat)


def _reply(notice_id: int, ok: bool, message: str, status: int = 200):
    """XHR uploads get JSON (the page shows progress and the message); plain forms a redirect."""
    if request.headers.get("X-Requested-With") == "fetch":
        return jsonify(ok=ok, message=message, redirect=url_for("notices.show", notice_id=notice_id)), status
    flash(message, "message" if ok else "error")
    return redirect(url_for("notices.show", notice_id=notice_id) + "#audio")


@bp.route("/notices/<int:notice_id>/audio", methods=["POST"])
@roles_required(*EDITORS)
def upload(notice_id):
    notice = notice_or_404(notice_id)
    file = request.files.get("file")
    if file is None:
        return _reply(notice_id, False, _("Choose a file to upload."), 400)
    try:
        language, chime, repeat = _options()
    except ValueError as exc:
        return _reply(notice_id, False, error_text(exc), 400)
    media = current_app.config["MEDIA_DIR"]
    folder, absolute = store.new_asset_folder(media)
    original = os.path.join(absolute, f"{uuid.uuid4().hex}-original")
    try:
        file.save(original)
        processed = process_upload(original, absolute, chime=chime, repeat=repeat)
        origin = "recording" if request.form.get("origin") == "recording" else "upload"
        asset_id = store.add_audio(get_db(), media, notice_id, language, origin, folder, original, processed,
                                   uploaded_name=os.path.basename(file.filename or "")[:200], chime=chime,
                                   repeat=repeat, user_id=current_user.id)
    except AudioRejected as exc:
        store.discard_folder(media, folder)
        return _reply(notice_id, False, _("Not accepted: %(reason)s", reason=rejection_text(exc)), 400)
    except BaseException:
        store.discard_folder(media, folder)
        raise
    audit.record(get_db(), "audio_uploaded", user=current_user.row, object_type="notice", object_id=notice_id,
                 village_id=notice["village_id"], ip=client_ip(), asset_id=asset_id, language=language,
                 format=processed.source_format, warnings=processed.warnings)
    return _reply(notice_id, True, _("Audio processed."))


@bp.route("/notices/<int:notice_id>/tts", methods=["POST"])
@roles_required(*EDITORS)
def tts(notice_id):
    notice = notice_or_404(notice_id)
    text = (request.form.get("text") or notice["text"]).strip()
    try:
        language, chime, repeat = _options()
    except ValueError as exc:
        return _reply(notice_id, False, error_text(exc), 400)
    try:
        drafts.synthesize_into(get_db(), current_app.config["MEDIA_DIR"], notice_id, language, text, chime=chime,
                               repeat=repeat, user_id=current_user.id)
    except TTSUnavailable as exc:
        return _reply(notice_id, False, _("Speech synthesis is not installed on this server: %(reason)s",
                                          reason=str(exc)), 503)
    except (TTSFailed, ValueError, AudioRejected) as exc:
        reason = rejection_text(exc) if isinstance(exc, AudioRejected) else error_text(exc)
        return _reply(notice_id, False, _("No speech was made: %(reason)s", reason=reason), 400)
    audit.record(get_db(), "audio_synthesized", user=current_user.row, object_type="notice", object_id=notice_id,
                 village_id=notice["village_id"], ip=client_ip(), language=language)
    return _reply(notice_id, True, _("A synthetic draft was made. A recording of a familiar voice works better."))


def _rendition(asset_id: int, name: str):
    found = store.rendition_path(get_db(), current_app.config["MEDIA_DIR"], asset_id, name)
    if found is None or not current_scope().allows_village(found[0]["village_id"]):
        abort(404)
    return found


@bp.route("/audio/<int:asset_id>/<any(loudspeaker, telephone, master):name>")
@roles_required(*EDITORS)
def play(asset_id, name):
    _row, path = _rendition(asset_id, name)
    return send_file(path, mimetype=MIMETYPES[name], conditional=True, max_age=0)


@bp.route("/audio/<int:asset_id>/waveform.svg")
@roles_required(*EDITORS)
def waveform(asset_id):
    _row, path = _rendition(asset_id, "master")
    return waveform_svg(path, width=600, height=80), 200, {"Content-Type": "image/svg+xml",
                                                           "Cache-Control": "private, max-age=3600"}


@bp.route("/media/t/<token>.wav")
@public
def telephone_public(token):
    """The telephone rendition for the phone network: the unguessable token is the credential."""
    if len(token) > 100:
        abort(404)
    db = get_db()
    asset = store.asset_by_token(db, token)
    if asset is None:
        abort(404)
    _row, path = store.rendition_path(db, current_app.config["MEDIA_DIR"], asset["id"], "telephone")
    return send_file(path, mimetype="audio/wav", conditional=True, max_age=3600)


def init_app(app):
    app.register_blueprint(bp)
