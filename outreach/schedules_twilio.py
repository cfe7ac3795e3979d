"""Twilio's side of phone-dialled loudspeaker terminals: the TwiML the terminal hears and the call's status.

Both routes are signed like every Twilio webhook (``delivery.webhooks.twilio_signed``) and carry the play
id plus the attempt number (``?a=N``), so a late callback of an earlier attempt changes nothing. The
worker (``schedules.terminal``) waits for the status written here; statuses only move forward.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, request
from twilio.twiml.voice_response import VoiceResponse

from .db import get_db, one, write
from .delivery.webhooks import XML, twilio_signed
from .security import csrf

bp = Blueprint("schedules_twilio", __name__, url_prefix="/twilio/terminal")
csrf.exempt(bp)
RANK = {"queued": 0, "initiated": 1, "ringing": 2, "in-progress": 3,
        "completed": 9, "busy": 9, "no-answer": 9, "failed": 9, "canceled": 9}


def _play(play_id: int) -> dict:
    found = one(get_db(), """SELECT p.id, p.attempts, p.call_status, a.public_token, COALESCE(s.loops, 1) AS loops
                             FROM plays p LEFT JOIN audio_assets a ON a.id = p.asset_id
                             LEFT JOIN fires f ON f.id = p.fire_id LEFT JOIN schedules s ON s.id = f.schedule_id
                             WHERE p.id = ?""", [play_id])
    if found is None:
        abort(404)
    return found


@bp.route("/<int:play_id>", methods=["POST"])
@twilio_signed
def twiml(play_id):
    play = _play(play_id)
    response = VoiceResponse()
    if play["public_token"]:
        base = current_app.config["PUBLIC_BASE_URL"]
        response.play(f"{base}/media/t/{play['public_token']}.wav", loop=play["loops"])
    response.hangup()
    return str(response), 200, XML


@bp.route("/<int:play_id>/status", methods=["POST"])
@twilio_signed
def status(play_id):
    play = _play(play_id)
    attempt = request.args.get("a", "")
    state = request.form.get("CallStatus", "")
    if not attempt.isdigit() or int(attempt) != play["attempts"] or state not in RANK:
        return "", 204  # an earlier attempt's late callback, or nothing we track
    duration = request.form.get("CallDuration", "")
    with write(get_db()) as db:
        db.execute("""UPDATE plays SET call_status = ?, provider_sid = COALESCE(provider_sid, ?),
                      call_duration_s = CASE WHEN ? != '' THEN ? ELSE call_duration_s END
                      WHERE id = ? AND attempts = ?
                      AND (call_status IS NULL OR ? > (CASE call_status WHEN 'queued' THEN 0 WHEN 'initiated' THEN 1
                           WHEN 'ringing' THEN 2 WHEN 'in-progress' THEN 3 ELSE 9 END))""",
                   [state, request.form.get("CallSid"), duration, float(duration) if duration.isdigit() else None,
                    play_id, int(attempt), RANK[state]])
    return "", 204


def init_app(app):
    app.register_blueprint(bp)
