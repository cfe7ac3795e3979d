"""SMS text of a notice: segment counting and placeholder rendering.

Counting follows GSM 03.38 as carriers bill it:
- GSM-7 if every character is in the default alphabet or its extension table
  (an extension character such as € or { takes two septets: escape + char);
  160 septets in one message, 153 per part once concatenated (UDH header).
- otherwise UCS-2 (any Chinese character does it): 70 UTF-16 code units in
  one message, 67 per part; characters outside the BMP (emoji) take two units.
A two-unit character is never split across parts, so counts are exact at the
boundaries rather than a ceil() estimate.
"""
import string
from dataclasses import dataclass

from ..errors import N_, UserError

GSM7 = "GSM-7"
UCS2 = "UCS-2"

# GSM 03.38 default alphabet (the escape 0x1B itself is not a character people type).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table: each costs two septets.
GSM7_EXTENDED = frozenset("\f^{}\\[~]|€")

LIMITS = {GSM7: (160, 153), UCS2: (70, 67)}  # (single message, per part when concatenated)

PLACEHOLDERS = ("name", "village", "date", "reply_hint")
DEFAULT_REPLY_HINT = "回复1表示收到，回复2承诺取消聚集"


@dataclass(frozen=True)
class SmsCount:
    encoding: str              # GSM7 or UCS2
    chars: int                 # billed units: septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int              # messages the carrier sends and bills (0 for empty text)
    per_segment: int           # capacity of each segment at this length (160/153 or 70/67)
    remaining_in_segment: int  # units left before one more segment is needed

    @property
    def multi_segment(self):
        """True once the text no longer fits one message: the UI warns about cost."""
        return self.segments > 1


def _costs(text):
    """(encoding, [units per character])."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text):
        return GSM7, [2 if ch in GSM7_EXTENDED else 1 for ch in text]
    return UCS2, [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def count_segments(text):
    """How `text` will be encoded and into how many SMS segments it splits."""
    encoding, costs = _costs(text)
    single, part = LIMITS[encoding]
    total = sum(costs)
    if total <= single:
        return SmsCount(encoding, total, 1 if total else 0, single, single - total)
    # Fill parts of `part` units without splitting a two-unit character.
    segments, used = 1, 0
    for cost in costs:
        if used + cost > part:
            segments, used = segments + 1, 0
        used += cost
    return SmsCount(encoding, total, segments, part, part - used)


def placeholders_in(template):
    """Placeholder names used in `template`, in order; ValueError if malformed or unknown."""
    names = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        # Python's own detail ("Single '}' encountered") would be English in a Chinese page.
        raise UserError(N_("broken placeholder braces in SMS text: every { needs a matching }")) from None
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in PLACEHOLDERS or spec or conversion:
            allowed = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            raise UserError(N_("unknown placeholder %(field)s in SMS text; use %(allowed)s"),
                            field="{" + field + "}", allowed=allowed)
        names.append(field)
    return names


def with_reply_hint(template):
    """The template with {reply_hint} appended, unless it already places it."""
    if "reply_hint" in placeholders_in(template):
        return template
    body = template.rstrip()
    joiner = "" if not body or body.endswith(tuple("。！？，；.!?,;")) else "。"
    return body + joiner + "{reply_hint}"


def render(template, values):
    """Fill {name} {village} {date} {reply_hint} in `template` from `values`.

    `reply_hint` defaults to DEFAULT_REPLY_HINT. Raises ValueError for unknown
    placeholders (including attribute or index access) and for missing values.
    """
    names = placeholders_in(template)
    filled = {"reply_hint": DEFAULT_REPLY_HINT, **{k: v for k, v in values.items() if v is not None}}
    missing = sorted({n for n in names if n not in filled})
    if missing:
        raise UserError(N_("no value for %(names)s"), names=", ".join("{" + n + "}" for n in missing))
    # str.format never re-reads braces inside the values, so user data stays literal.
    return template.format(**{n: str(filled[n]) for n in set(names)})
