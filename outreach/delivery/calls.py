"""Who is on the line and what they should hear: the context behind each call-flow request."""
from __future__ import annotations

from dataclasses import dataclass

from ..db import one, scalar
from ..notices import store as notices, variants
from . import interactions as talk
from .voice import Call


@dataclass(frozen=True)
class CallContext:
    call: Call
    village_id: int
    notice_id: int
    resident_id: int | None
    campaign_id: int | None
    attempt_id: int | None
    hang_up_on_machine: bool = False


def _call(notice: dict, language: str, base: str, public_base: str, health_check: bool) -> Call:
    choice = variants.choose(notice, language)
    audio_url = None
    if choice.kind == variants.AUDIO:
        audio_url = f"{public_base}/media/t/{choice.asset['public_token']}.wav"
    return Call(base=base, village_name=notice["village_name"].removesuffix("村"), audio_url=audio_url,
                say_text=notice["text"], health_check=health_check)


def call_context(db, attempt_id: int, base: str, public_base: str) -> CallContext | None:
    row = one(db, """SELECT a.id, o.resident_id, o.campaign_id, c.notice_id, c.village_id, c.kind, c.machine_behaviour,
                            r.language FROM attempts a JOIN outbox o ON o.id = a.outbox_id
                     JOIN campaigns c ON c.id = o.campaign_id JOIN residents r ON r.id = o.resident_id
                     WHERE a.id = ?""", [attempt_id])
    if row is None:
        return None
    notice = notices.get(db, row["notice_id"])
    return CallContext(_call(notice, row["language"], base, public_base, row["kind"] == "health_check"),
                       row["village_id"], row["notice_id"], row["resident_id"], row["campaign_id"], attempt_id,
                       row["machine_behaviour"] == "hangup_retry")


def replay_context(db, notice_id: int, caller: str, base: str, public_base: str) -> CallContext | None:
    notice = notices.get(db, notice_id)
    if notice is None:
        return None
    resident = talk.resident_by_phone(db, caller, notice["village_id"]) if caller else None
    language = resident["language"] if resident else variants.MANDARIN
    resident_id = resident["id"] if resident and resident["village_id"] == notice["village_id"] else None
    return CallContext(_call(notice, language, base, public_base, False), notice["village_id"], notice_id,
                       resident_id, None, None)


def latest_notice_for(db, called: str, caller: str) -> int | None:
    """The newest ready notice of the village whose number was called, else of the caller's village."""
    village_id = scalar(db, "SELECT id FROM villages WHERE phone_number = ?", [called]) if called else None
    if village_id is None and caller:
        resident = talk.resident_by_phone(db, caller)
        village_id = resident["village_id"] if resident else None
    if village_id is None:
        return None
    return scalar(db, """SELECT id FROM notices WHERE village_id = ? AND status = 'ready'
                         ORDER BY updated_at DESC, id DESC LIMIT 1""", [village_id])
