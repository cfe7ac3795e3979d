"""Reach: who has heard a notice, who confirmed, who is still unreached, what was pledged (issue 6).

Domain modules (no Flask): ``state`` (one reach state per resident × notice, in SQL), ``stats``
(dashboard figures), ``doorknock`` (roll call, door-knock lists, visits, resend), ``pledges``
(ledger, public links, reminders, verification), ``report`` (daily report), ``charts`` (SVG),
``cache`` (per-notice memo). Web layer: ``views``, ``pledge_views``, ``labels``.
"""
