"""Turning the resident form into a validated :class:`ResidentInput` (no Flask here)."""
from __future__ import annotations

import re

from ..errors import N_, UserError
from . import phones as phone_numbers
from .residents import KNOWN_TAGS, MANDARIN, ResidentInput, current_year

_SPLIT = re.compile(r"[,，;；、/\s]+")
_PHONE_LIST = re.compile(r"[,，;；、/\n]+")


def _phones(text: str) -> list[str]:
    """Numbers separated by commas; "139 0000 5555" is one number, "13900001111 13900002222" two."""
    found = []
    for piece in _PHONE_LIST.split(text or ""):
        piece = piece.strip()
        if not piece:
            continue
        try:
            found.append(phone_numbers.normalise(piece)[0])
        except phone_numbers.InvalidPhone:
            parts = piece.split()
            if len(parts) < 2:
                raise
            found.extend(phone_numbers.normalise(p)[0] for p in parts)
    return list(dict.fromkeys(found))


def parse_resident_form(form) -> ResidentInput:
    """``form`` is any mapping with ``get``/``getlist``. Raises ValueError with the reason."""
    name = (form.get("name") or "").strip()
    e164s = _phones(form.get("phones") or "")
    birth_year = (form.get("birth_year") or "").strip()
    if birth_year and not birth_year.isdigit():
        raise UserError(N_("birth year must be a number: %(text)r"), text=birth_year)
    tags = {t for t in form.getlist("tags") if t in KNOWN_TAGS}
    tags |= {t.strip()[:30] for t in _SPLIT.split(form.get("free_tags") or "") if t.strip()}
    sex = form.get("sex") or None
    data = ResidentInput(
        name=name, phones=e164s, grid_name=(form.get("grid_name") or "").strip()[:60],
        house_number=(form.get("house_number") or "").strip()[:30], address=(form.get("address") or "").strip()[:200],
        birth_year=int(birth_year) if birth_year else None, sex=sex,
        language=(form.get("language") or MANDARIN).strip()[:30] or MANDARIN, tags=tags,
        lives_elsewhere=bool(form.get("lives_elsewhere")), relation=(form.get("relation") or "").strip()[:30],
        notes=(form.get("notes") or "").strip()[:500])
    if data.birth_year is not None and not (1900 <= data.birth_year <= current_year()):
        raise UserError(N_("birth year %(year)s is out of range"), year=data.birth_year)
    return data
