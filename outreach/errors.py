"""Validation errors a user should read in their own language, raised by Flask-free domain code.

Domain code raises ``UserError(N_("birth year %(year)s is out of range"), year=1800)``: the msgid is
English and marked for extraction by :func:`N_`; a view shows it with ``i18n.error_text(exc)``,
which translates the msgid and then fills in the params. ``str(exc)`` is the English text, so
logs, the CLI and the scheduler process need no catalog.
"""
from __future__ import annotations


def N_(msgid: str) -> str:
    """Mark ``msgid`` for extraction (pybabel's default keywords include N_); translated where shown."""
    return msgid


class UserError(ValueError):
    """A ValueError whose message is a translatable msgid with ``%(name)s`` params."""

    def __init__(self, msgid: str, **params):
        super().__init__(msgid)
        self.msgid = msgid
        self.params = params

    def __str__(self) -> str:
        return self.msgid % self.params if self.params else self.msgid
