"""Display labels for reach codes (web layer only, like views.py: the domain modules stay Flask-free)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

STATE = {"not_contacted": _l("Not contacted"), "attempted": _l("Tried, not reached yet"),
         "unreachable": _l("Unreachable"), "delivered": _l("Delivered"), "heard_full": _l("Heard in full"),
         "acknowledged": _l("Acknowledged")}
REASON = {"moved": _l("Moved away"), "refused": _l("Refused"), "opted_out": _l("Opted out"),
          "no_phone": _l("No phone"), "all_failed": _l("All attempts failed")}
VIA = {"self": "", "proxy": _l("by a household member")}
VISIT = {"informed": _l("Informed and acknowledged"), "not_home": _l("Not home (visit again)"),
         "moved": _l("Moved away"), "refused": _l("Refused")}
BUCKET = {"answered": _l("Answered"), "delivered": _l("Delivered"), "machine": _l("Answering machine"),
          "busy": _l("Busy"), "no-answer": _l("No answer"), "failed": _l("Failed"), "opted_out": _l("Opted out"),
          "in_progress": _l("In progress"), "expired": _l("Too old to send"), "cancelled": _l("Cancelled")}
CHANNEL = {"voice": _l("Phone call"), "sms": _l("SMS"), "voice_then_sms": _l("Phone call, then SMS if not reached")}
EVENT = {"wedding": _l("Wedding"), "funeral": _l("Funeral"), "birthday": _l("Birthday banquet"),
         "lantern": _l("Lantern-lighting feast (开灯酒)"), "other": _l("Other gathering")}
DECISION = {"cancel": _l("Cancel"), "postpone": _l("Postpone"), "downsize": _l("Downsize")}
PLEDGE_STATUS = {"incomplete": _l("Details missing"), "recorded": _l("Recorded"), "kept": _l("Kept"),
                 "not_kept": _l("Not kept")}
PLEDGE_CHANNEL = {"voice": _l("Phone call"), "sms": _l("SMS"), "form": _l("Pledge form"),
                  "visit": _l("Grid worker")}
