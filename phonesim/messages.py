"""SMS on Twilio's side: the outbound lifecycle and residents' inbound texts.

Outbound (a status callback for every status after the first, like Twilio)::

    queued ──► sent ──┬─► delivered ──► the resident may reply (an inbound text, below)
      │               └─► undelivered   30003 handset unreachable, 30006 landline
      └──► failed                       30008 unknown error (never reached 'sent')

    (with a MessagingServiceSid and no From the first status is 'accepted', From is set on 'sent')

Inbound: the text is recorded as ``received``; Twilio's own opt-out keywords (STOP, START …) change
the number's opted-out flag (later sends answer 21610); it is POSTed, signed, to the app's SMS URL and
every ``<Message>`` in the TwiML answer is delivered to the resident's phone.
"""
import xml.etree.ElementTree as ET

from .residents import E164, draw_sms
from .store import message_json, new_sid, rfc2822

# Twilio's default opt-out and opt-in keywords (the whole body, case-insensitive).
OPT_OUT_KEYWORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}
OPT_IN_KEYWORDS = {"START", "YES", "UNSTOP"}

ERRORS = {
    30003: "Unreachable destination handset",
    30006: "Landline or unreachable carrier",
    30008: "Unknown error",
}


def create_outbound(sim, to: str, from_, body: str, status_callback, messaging_service_sid) -> dict:
    """Accept a message (REST create has validated it) and start its lifecycle."""
    now = sim.now()
    status = "accepted" if messaging_service_sid and not from_ else "queued"
    record = message_json(sim.config.account_sid, new_sid("SM"), now, to, from_ or None, body,
                          "outbound-api", status, messaging_service_sid)
    attempt = sim.store.next_attempt(to, "sms")
    final, code, reply = draw_sms(sim.resident(to), sim.rng(to, "sms", attempt))
    record["_plan"] = {"final": final, "error_code": code, "reply": reply, "attempt": attempt}
    record["_callback"] = status_callback or None
    sim.store.add("message", record)
    sim.dispatcher.later(sim.step(), _advance, sim, record["sid"])
    return record


def _advance(sim, sid: str) -> None:
    record = sim.store.get("message", sid)
    if record is None:  # reset while in flight
        return
    plan = record["_plan"]
    now = sim.now()
    if record["status"] in ("queued", "accepted"):
        if plan["final"] == "failed":
            _finish(sim, record, now)
            return
        sim.store.update("message", sid, now, status="sent", date_sent=rfc2822(now), _sent=now,
                         **{"from": record["from"] or sim.config.phone_number})
        _callback(sim, record)
        sim.dispatcher.later(sim.step(), _advance, sim, sid)
    elif record["status"] == "sent":
        _finish(sim, record, now)
        if plan["final"] == "delivered":
            sim.store.phone(record["to"])["texts"].append({
                "sid": sid, "from": record["from"], "body": record["body"], "at": now.isoformat(),
            })
            if plan["reply"]:
                sim.dispatcher.later(sim.step(), _reply, sim, record["to"], plan["reply"],
                                     record["from"])


def _finish(sim, record: dict, now) -> None:
    plan = record["_plan"]
    code = plan["error_code"]
    sim.store.update("message", record["sid"], now, status=plan["final"], error_code=code,
                     error_message=ERRORS.get(code))
    _callback(sim, record)


def _callback(sim, record: dict) -> None:
    if not record["_callback"]:
        return
    params = {
        "AccountSid": record["account_sid"],
        "ApiVersion": record["api_version"],
        "From": record["from"],
        "To": record["to"],
        "MessageSid": record["sid"],
        "SmsSid": record["sid"],
        "MessageStatus": record["status"],
        "SmsStatus": record["status"],
        "MessagingServiceSid": record["messaging_service_sid"],
        "ErrorCode": record["error_code"],
    }
    sim.dispatcher.request("POST", record["_callback"], params, kind="message-status")


def _reply(sim, from_: str, body: str, to: str) -> None:
    inbound_sms(sim, from_, body, to)


def inbound_sms(sim, from_: str, body: str, to: str) -> str:
    """A resident's text to the account; returns its sid. Delivery to the app runs on the pool."""
    if not E164.match(from_ or ""):
        raise ValueError(f"not an E.164 number: {from_!r}")
    if not isinstance(body, str) or not body:
        raise ValueError("an inbound text needs a body")
    now = sim.now()
    record = message_json(sim.config.account_sid, new_sid("SM"), now, to, from_, body, "inbound",
                          "received")
    record.update(date_sent=rfc2822(now), _sent=now)
    sim.store.add("message", record)
    sim.store.phone(from_)["sent"].append({"sid": record["sid"], "to": to, "body": body,
                                           "at": now.isoformat()})
    keyword = body.strip().upper()
    opt = None
    if keyword in OPT_OUT_KEYWORDS:
        sim.directory.put(from_, {"opted_out": True})
        opt = "STOP"
    elif keyword in OPT_IN_KEYWORDS:
        sim.directory.put(from_, {"opted_out": False})
        opt = "START"
    if sim.config.sms_url:
        sim.dispatcher.later(0, _deliver_inbound, sim, record["sid"], opt)
    return record["sid"]


def _deliver_inbound(sim, sid: str, opt) -> None:
    record = sim.store.get("message", sid)
    if record is None or not sim.config.sms_url:
        return
    params = {
        "ToCountry": "", "FromCountry": "",
        "SmsMessageSid": sid, "SmsSid": sid, "MessageSid": sid,
        "SmsStatus": "received", "NumMedia": "0", "NumSegments": record["num_segments"],
        "Body": record["body"], "To": record["to"], "From": record["from"],
        "AccountSid": record["account_sid"], "ApiVersion": record["api_version"],
        "OptOutType": opt,
    }
    delivery = sim.dispatcher.request("POST", sim.config.sms_url, params, kind="inbound-sms")
    if not delivery.ok or not delivery.text.strip():
        return
    for text in reply_texts(delivery.text):
        _deliver_reply(sim, to=record["from"], from_=record["to"], body=text)


def reply_texts(twiml: str) -> list:
    """Bodies of the <Message> (or legacy <Sms>) verbs of a messaging TwiML answer."""
    try:
        root = ET.fromstring(twiml)
    except ET.ParseError:
        return []
    texts = []
    for verb in root:
        if verb.tag not in ("Message", "Sms"):
            continue
        body = verb.find("Body")
        text = (body.text if body is not None else verb.text) or ""
        if text.strip():
            texts.append(text.strip())
    return texts


def _deliver_reply(sim, to: str, from_: str, body: str) -> None:
    """A TwiML reply goes straight to the resident (no status callback was asked for)."""
    now = sim.now()
    record = message_json(sim.config.account_sid, new_sid("SM"), now, to, from_, body,
                          "outbound-reply", "delivered")
    record.update(date_sent=rfc2822(now), _sent=now)
    sim.store.add("message", record)
    sim.store.phone(to)["texts"].append({"sid": record["sid"], "from": from_, "body": body,
                                         "at": now.isoformat()})
