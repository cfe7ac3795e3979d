"""Phone numbers, normalised to E.164 with ``phonenumbers`` (default region CN)."""
from __future__ import annotations

import re

import phonenumbers
from phonenumbers import PhoneNumberType

from ..errors import N_, UserError

DEFAULT_REGION = "CN"
MOBILE = "mobile"      # can receive SMS
LANDLINE = "landline"  # calls only

_SEPARATORS = re.compile(r"[\s\-‐－—()（）]")


class InvalidPhone(UserError):
    """The text is not a dialable number; a view shows the reason with ``i18n.error_text``."""


def normalise(raw: str, region: str = DEFAULT_REGION) -> tuple[str, str]:
    """Return ``(e164, kind)`` for ``raw``; raise :class:`InvalidPhone` with the reason otherwise."""
    text = _SEPARATORS.sub("", str(raw or "")).replace("＋", "+")
    text = text.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    if not text:
        raise InvalidPhone(N_("empty phone number"))
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]  # Excel stored the number as a float
    if not re.fullmatch(r"\+?\d+", text):
        raise InvalidPhone(N_("not a phone number: %(text)r"), text=raw)
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(N_("not a phone number: %(text)r"), text=raw) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(N_("invalid phone number: %(text)r"), text=raw)
    number_type = phonenumbers.number_type(number)
    kind = LANDLINE if number_type == PhoneNumberType.FIXED_LINE else MOBILE
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), kind


def mask(e164: str | None) -> str:
    """Officials see ``+86 138****5678``: enough to tell numbers apart, not to dial."""
    if not e164:
        return ""
    digits = e164.lstrip("+")
    if len(digits) < 8:
        return "*" * len(digits)
    return f"+{digits[:-8]}****{digits[-4:]}" if e164.startswith("+") else f"{digits[:-8]}****{digits[-4:]}"


def display(e164: str | None) -> str:
    """Numbers as people write them: national format for Chinese numbers."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    if number.country_code == 86:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
