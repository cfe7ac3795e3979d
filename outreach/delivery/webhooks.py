"""Twilio webhooks: status callbacks, the call flow, inbound SMS and the replay line.

Every request is validated against ``PUBLIC_BASE_URL`` + the raw path and query with the
auth token (Flask's ``request.url`` re-encodes and would break signatures); a bad signature
gets 403 and nothing is written. These are the only routes exempt from CSRF.
"""
from __future__ import annotations

import functools
import hmac

from flask import Blueprint, abort, current_app, request
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from ..db import get_db, write
from ..security import csrf, public
from . import alerts, interactions as talk, outcomes, voice
from .calls import call_context, replay_context

bp = Blueprint("twilio", __name__, url_prefix="/twilio")
csrf.exempt(bp)
XML = {"Content-Type": "text/xml; charset=utf-8"}


def signed_url() -> str:
    query = request.query_string.decode("latin-1")
    return current_app.config["PUBLIC_BASE_URL"] + request.script_root + request.path + (f"?{query}" if query else "")


def _valid(validator: RequestValidator, url: str, signature: str) -> bool:
    # The URL as configured first (one HMAC); the validator's full check also tries it with and
    # without an explicit port, which only matters behind some proxies.
    if hmac.compare_digest(validator.compute_signature(url, request.form), signature):
        return True
    return validator.validate(url, request.form, signature)


def twilio_signed(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        token = current_app.config.get("TWILIO_AUTH_TOKEN") or ""
        signature = request.headers.get("X-Twilio-Signature", "")
        if not token or not signature or not _valid(RequestValidator(token), signed_url(), signature):
            abort(403)
        return view(*args, **kwargs)
    return public(wrapper)


def _first_time(key: str) -> bool:
    """Record a webhook event key; False when it was seen before (a duplicate delivery)."""
    with write(get_db()) as db:
        return db.execute("INSERT OR IGNORE INTO webhook_events (dedupe_key) VALUES (?)", [key]).rowcount == 1


@bp.route("/status/<int:attempt_id>", methods=["POST"])
@twilio_signed
def status(attempt_id):
    form = request.form
    sid = form.get("CallSid") or form.get("MessageSid") or form.get("SmsSid")
    state = form.get("CallStatus") or form.get("MessageStatus") or form.get("SmsStatus") or ""
    duration = form.get("CallDuration", "")
    code = form.get("ErrorCode", "")
    # No dedupe row needed: statuses only move forward, so a repeated or late callback is a no-op.
    with write(get_db()) as db:
        outcomes.on_status(db, attempt_id, state, sid, answered_by=form.get("AnsweredBy") or None,
                           duration_s=int(duration) if duration.isdigit() else None,
                           error_code=int(code) if code.isdigit() else None)
    return "", 204


@bp.route("/notify-status/<int:notification_id>", methods=["POST"])
@twilio_signed
def notify_status(notification_id):
    from . import notify

    form = request.form
    notify.on_status(get_db(), notification_id, form.get("MessageStatus") or form.get("SmsStatus") or "",
                     form.get("MessageSid"))
    return "", 204


def _context(ctx: str):
    db = get_db()
    base = current_app.config["PUBLIC_BASE_URL"] + f"/twilio/voice/{ctx}"
    if ctx.startswith("a") and ctx[1:].isdigit():
        found = call_context(db, int(ctx[1:]), base, current_app.config["PUBLIC_BASE_URL"])
    elif ctx.startswith("n") and ctx[1:].isdigit():
        found = replay_context(db, int(ctx[1:]), request.form.get("From", ""), base,
                               current_app.config["PUBLIC_BASE_URL"])
    else:
        found = None
    if found is None:
        abort(404)
    return found


@bp.route("/voice/<ctx>/<step>", methods=["POST"])
@twilio_signed
def call_step(ctx, step):
    c = _context(ctx)
    db = get_db()
    form, args = request.form, request.args
    call_sid = form.get("CallSid", "")
    digits = form.get("Digits", "")

    def respond(kind: str, raw: str = "") -> None:
        if c.resident_id is None and kind != talk.CALLBACK:
            return
        talk.record_response(db, village_id=c.village_id, kind=kind, channel="voice" if c.attempt_id else "replay",
                             dedupe_key=f"call:{call_sid}:{step}:{args.get('n', '')}:{kind}",
                             resident_id=c.resident_id, campaign_id=c.campaign_id, notice_id=c.notice_id,
                             attempt_id=c.attempt_id, raw=raw,
                             # the resident's number: "To" on calls we placed, "From" on the replay line
                             from_e164=form.get("To") if c.attempt_id else form.get("From"))

    if step == "answer":
        machine = (form.get("AnsweredBy") or "") in outcomes.MACHINE
        return voice.answer(c.call, machine=machine, hang_up_on_machine=c.hang_up_on_machine), 200, XML
    if step == "heard":
        if c.attempt_id:
            outcomes.mark_heard(db, c.attempt_id)
        return voice.menu(c.call), 200, XML
    if step == "menu":
        round_no = int(args["n"]) if args.get("n", "").isdigit() and len(args["n"]) < 3 else 1
        if not digits:
            if round_no >= 2:
                return voice.say_and_hang_up(voice.GOODBYE), 200, XML
            return voice.menu(c.call, round_no + 1), 200, XML
        if c.call.health_check and digits in ("1", "2"):
            respond(talk.HEALTH_OK if digits == "1" else talk.HEALTH_HELP, digits)
            if digits == "2" and c.resident_id is not None:
                alerts.raise_alert(db, c.resident_id, alerts.HEALTH_HELP, c.campaign_id)
            text = "好的，祝您身体健康，再见。" if digits == "1" else "已通知您的包保人员，他们会尽快联系您。"
            return voice.say_and_hang_up(text), 200, XML
        if digits == "1":
            respond(talk.ACK, digits)
            return voice.say_and_hang_up("谢谢，已记录您收到通知。再见。"), 200, XML
        if digits == "2" and not c.call.health_check:
            return voice.pledge_type(c.call), 200, XML
        if digits == "9":
            respond(talk.REPEAT, digits)
            return voice.replay(c.call), 200, XML
        if digits == "0" and not c.call.health_check:
            respond(talk.CALLBACK, digits)
            if c.resident_id is not None:
                alerts.raise_alert(db, c.resident_id, alerts.CALLBACK, c.campaign_id)
            return voice.say_and_hang_up("好的，村里会尽快给您回电。再见。"), 200, XML
        return voice.menu(c.call, round_no), 200, XML
    if step == "pledge-type":
        event = voice.EVENT_KEYS.get(digits)
        if event is None:
            return voice.pledge_type(c.call), 200, XML
        return voice.pledge_confirm(c.call, event), 200, XML
    if step == "pledge-confirm":
        event = args.get("type", "other")
        if digits != "1" or event not in talk.EVENT_TYPES:
            return voice.menu(c.call, 1), 200, XML
        if c.resident_id is not None:
            talk.record_pledge(db, village_id=c.village_id, channel="voice", dedupe_key=f"call:{call_sid}:pledge",
                               resident_id=c.resident_id, event_type=event, notice_id=c.notice_id,
                               campaign_id=c.campaign_id)
            respond(talk.PLEDGE, f"2/{event}")
        return voice.say_and_hang_up("谢谢您的承诺，已记录。村里会与您联系确认日期。再见。"), 200, XML
    abort(404)


@bp.route("/inbound/voice", methods=["POST"])
@twilio_signed
def inbound_voice():
    """The replay line: the caller hears the village's latest notice, with the same menu."""
    from .calls import latest_notice_for

    notice_id = latest_notice_for(get_db(), request.form.get("To", ""), request.form.get("From", ""))
    if notice_id is None:
        return voice.say_and_hang_up("您好，目前没有新的通知。再见。"), 200, XML
    c = _context(f"n{notice_id}")
    return voice.answer(c.call), 200, XML


@bp.route("/inbound/sms", methods=["POST"])
@twilio_signed
def inbound_sms():
    from .sms_replies import handle_inbound

    form = request.form
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    reply = MessagingResponse()
    if sid and not _first_time(f"sms-in:{sid}"):
        return str(reply), 200, XML
    text = handle_inbound(get_db(), form.get("From", ""), form.get("Body", ""), sid)
    if text:
        reply.message(text)
    return str(reply), 200, XML


def init_app(app):
    app.register_blueprint(bp)
