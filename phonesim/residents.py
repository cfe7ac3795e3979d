"""Simulated residents: who answers, who is busy, what they press and reply.

A directory maps a phone number (E.164) to a ``Profile``. Numbers nobody configured get a default
profile drawn from ``Random(f"{seed}:{number}:profile")``, so the same seed gives the same village.
Every outcome (a call's fate, a text's fate) is drawn from ``Random(f"{seed}:{number}:{channel}:{n}")``
where n counts attempts to that number: concurrent sends to other numbers cannot shift the draws.

Call outcome draw, in order::

    no working phone ─────────────────────────────────► failed
    r < busy_probability ─────────────────────────────► busy
    r < answer probability (by age and hour) ─────────► answered by a person
    r < voicemail_probability ────────────────────────► answered by voicemail (a machine)
    otherwise ────────────────────────────────────────► no-answer
"""
import random
import re
import threading
from dataclasses import asdict, dataclass, field, fields
from typing import Dict, List, Optional

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
# Chinese mobile numbers: +86 1[3-9]x xxxx xxxx. Others under +86 are landlines (no SMS).
CN_MOBILE = re.compile(r"^\+861[3-9]\d{9}$")

# Call outcomes (the draw above).
FAILED = "failed"  # the phone is off, disconnected or out of service
BUSY = "busy"  # line busy
HUMAN = "human"  # a person picks up
MACHINE = "machine"  # voicemail picks up
NO_ANSWER = "no-answer"  # rings out

# Share of people who pick up, by age band (upper bound exclusive) — farmers are out in the fields.
ANSWER_BY_AGE = [(40, 0.70), (60, 0.75), (70, 0.80), (80, 0.72), (200, 0.60)]
# Factor by hour of the day (village local time): meals and evenings are best, nights worst.
HOUR_FACTOR = {h: 0.35 for h in range(24)}
HOUR_FACTOR.update({6: 0.8, 7: 0.9, 8: 0.8, 9: 0.7, 10: 0.7, 11: 0.95, 12: 1.0, 13: 0.9})
HOUR_FACTOR.update({14: 0.7, 15: 0.7, 16: 0.75, 17: 0.9, 18: 1.0, 19: 1.0, 20: 0.9, 21: 0.6})


@dataclass
class Profile:
    number: str
    age: int = 60
    has_working_phone: bool = True
    # "mobile" or "landline"; landlines never receive texts (undelivered, 30006).
    kind: str = "mobile"
    # Fixed chance of picking up; None means derived from age and hour.
    answer_probability: Optional[float] = None
    busy_probability: float = 0.05
    # Chance that voicemail picks up when the person does not.
    voicemail_probability: float = 0.1
    # Digits pressed at successive <Gather>s of one call ("" = presses nothing).
    keys: List[str] = field(default_factory=lambda: ["1"])
    # Hangs up after this many seconds of a call; None listens to the end.
    patience_s: Optional[float] = None
    # Reply sent after a delivered text, with this probability.
    sms_reply: Optional[str] = "1"
    reply_probability: float = 0.0
    # Chance a text fails at the carrier (status failed, 30008).
    sms_fail_probability: float = 0.0
    # Already texted STOP before the simulation began.
    opted_out: bool = False
    # A person drives this phone through the control API (press keys, reply); calls always answered.
    interactive: bool = False
    name: Optional[str] = None

    def to_dict(self) -> dict:
        return asdict(self)


PROFILE_FIELDS = {f.name for f in fields(Profile)}


def answer_probability(profile: Profile, hour: int) -> float:
    if profile.answer_probability is not None:
        return profile.answer_probability
    base = next(p for limit, p in ANSWER_BY_AGE if profile.age < limit)
    return base * HOUR_FACTOR[hour % 24]


def default_profile(number: str, seed) -> Profile:
    """The resident behind a number nobody configured: a rural village, many elderly."""
    rng = random.Random(f"{seed}:{number}:profile")
    age = int(rng.triangular(18, 95, 68))
    kind = "landline" if number.startswith("+86") and not CN_MOBILE.match(number) else "mobile"
    keys = rng.choices([["1"], ["2", "1", "1"], ["9", "1"], [""], []], [60, 8, 7, 10, 15])[0]
    return Profile(
        number=number,
        age=age,
        has_working_phone=rng.random() >= (0.2 if age >= 70 else 0.05),
        kind=kind,
        busy_probability=0.05,
        voicemail_probability=0.15 if age < 60 else 0.05,
        keys=list(keys),
        patience_s=None if rng.random() < 0.85 else round(rng.uniform(3, 30), 1),
        sms_reply=rng.choice(["1", "1", "收到", "好", "2"]),
        reply_probability=0.5 if age < 60 else 0.2,
    )


def draw_call(profile: Profile, rng: random.Random, hour: int) -> str:
    """One of FAILED, BUSY, HUMAN, MACHINE, NO_ANSWER (see the module docstring)."""
    if not profile.has_working_phone:
        return FAILED
    if profile.interactive:
        return HUMAN
    if rng.random() < profile.busy_probability:
        return BUSY
    if rng.random() < answer_probability(profile, hour):
        return HUMAN
    if rng.random() < profile.voicemail_probability:
        return MACHINE
    return NO_ANSWER


def draw_sms(profile: Profile, rng: random.Random):
    """(final status, error code or None, reply text or None) of one text to this resident."""
    if not profile.has_working_phone:
        return "undelivered", 30003, None  # unreachable handset
    if profile.kind == "landline":
        return "undelivered", 30006, None  # landline or unreachable carrier
    if rng.random() < profile.sms_fail_probability:
        return "failed", 30008, None  # unknown error
    reply = None
    if not profile.interactive and profile.sms_reply and rng.random() < profile.reply_probability:
        reply = profile.sms_reply
    return "delivered", None, reply


class Directory:
    """number -> Profile, thread-safe; unknown numbers get their deterministic default."""

    def __init__(self, seed):
        self.seed = seed
        self._lock = threading.Lock()
        self._profiles: Dict[str, Profile] = {}

    def get(self, number: str) -> Profile:
        with self._lock:
            profile = self._profiles.get(number)
        return profile if profile is not None else default_profile(number, self.seed)

    def put(self, number: str, values: dict) -> Profile:
        """Set some fields of a resident; the rest keep their current (or default) value."""
        if not E164.match(number or ""):
            raise ValueError(f"not an E.164 number: {number!r}")
        unknown = set(values) - PROFILE_FIELDS
        if unknown:
            raise ValueError(f"unknown profile fields: {', '.join(sorted(unknown))}")
        merged = self.get(number).to_dict()
        merged.update(values, number=number)
        if not isinstance(merged["keys"], list):
            raise ValueError("keys must be a list of digit strings")
        profile = Profile(**merged)
        with self._lock:
            self._profiles[number] = profile
        return profile

    def configured(self) -> List[Profile]:
        with self._lock:
            return list(self._profiles.values())

    def clear(self) -> None:
        with self._lock:
            self._profiles.clear()
