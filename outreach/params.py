"""Reading numbers from query strings: anything odd falls back to the default, never a 500."""
from __future__ import annotations

from flask import request

MAX_INT = 1_000_000_000


def int_arg(name: str, default: int | None = None, *, lo: int = 0, hi: int = MAX_INT) -> int | None:
    value = request.args.get(name, "").strip()
    if not value.isdigit() or len(value) > 10:
        return default
    number = int(value)
    return number if lo <= number <= hi else default


def page_arg() -> int:
    return int_arg("page", 1, lo=1, hi=100_000)
