"""The field simulation's end-of-day report: what each channel did, and the product's own reach figures.

The headline figure (elderly acknowledged) comes from :func:`outreach.reach.state.counts` — the
numbers the officials' dashboard shows. The per-channel rows are counted from the same tables
(outbox, responses, visits) and ``state.people`` (proxy acknowledgements, who is left and why).
"""
from __future__ import annotations

from collections import Counter

from .reach import state

# (key, label) in print order; each row shows all residents and the elderly (70+).
ROWS = (
    ("residents", "residents"),
    ("no_phone", "  no working phone / no number"),
    ("called", "calls: residents called"),
    ("answered", "  answered by a person"),
    ("heard_full", "  heard the whole notice"),
    ("ack_call", "  pressed 1 (acknowledged)"),
    ("sms_sent", "SMS fallback: texted"),
    ("sms_delivered", "  delivered"),
    ("ack_sms", "  replied 1/收到 (acknowledged)"),
    ("visited", "door-knock 14:00: people listed and visited"),
    ("informed_1", "  informed at 14:00"),
    ("informed_2", "  not home, informed at the 17:00 revisit"),
    ("not_home", "  still not home after the revisit"),
    ("refused_moved", "  refused or moved away"),
    ("proxy", "acknowledged by proxy (household member)"),
    ("acknowledged", "ACKNOWLEDGED (product reach statistics)"),
)


def _ids(db, sql: str, params) -> set:
    return {r[0] for r in db.execute(sql, params).fetchall()}


def channel_counts(db, notice: dict) -> dict:
    """key -> (all residents, elderly) for every row of ROWS."""
    people = state.people(db, notice)
    elderly = {p["resident_id"] for p in people if p["elderly"]}
    n = notice["id"]
    camp = "campaign_id IN (SELECT id FROM campaigns WHERE notice_id = ?)"
    visits = db.execute("SELECT resident_id, outcome, visited_at FROM visits WHERE notice_id = ? "
                        "ORDER BY visited_at, id", [n]).fetchall()
    first, last = {}, {}
    for rid, outcome, at in visits:
        first.setdefault(rid, (outcome, at))
        last[rid] = (outcome, at)
    sets = {
        "residents": {p["resident_id"] for p in people},
        "no_phone": {p["resident_id"] for p in people if p["no_phone"]},
        "called": _ids(db, f"SELECT resident_id FROM outbox WHERE channel = 'voice' AND attempts > 0 AND {camp}", [n]),
        "answered": _ids(db, f"SELECT resident_id FROM outbox WHERE channel = 'voice' AND outcome = 'answered' "
                             f"AND status = 'done' AND {camp}", [n]),
        "heard_full": _ids(db, f"SELECT resident_id FROM outbox WHERE channel = 'voice' AND heard_full "
                               f"AND {camp}", [n]),
        "ack_call": _ids(db, "SELECT resident_id FROM responses WHERE notice_id = ? AND channel = 'voice' "
                             "AND kind IN ('ack', 'pledge')", [n]),
        "sms_sent": _ids(db, f"SELECT resident_id FROM outbox WHERE channel = 'sms' AND attempts > 0 AND {camp}", [n]),
        "sms_delivered": _ids(db, f"SELECT resident_id FROM outbox WHERE channel = 'sms' AND outcome = 'delivered' "
                                  f"AND {camp}", [n]),
        "ack_sms": _ids(db, "SELECT resident_id FROM responses WHERE notice_id = ? AND channel = 'sms' "
                            "AND kind IN ('ack', 'pledge')", [n]),
        "visited": set(first),
        "informed_1": {r for r, (o, _) in first.items() if o == "informed"},
        "informed_2": {r for r, (o, _) in last.items() if o == "informed" and first[r][0] == "not_home"},
        "not_home": {r for r, (o, _) in last.items() if o == "not_home"},
        "refused_moved": {r for r, (o, _) in last.items() if o in ("refused", "moved")},
        "proxy": {p["resident_id"] for p in people if p["via"] == "proxy"},
        "acknowledged": {p["resident_id"] for p in people if p["state"] == state.ACKNOWLEDGED},
    }
    return {k: (len(v), len(v & elderly)) for k, v in sets.items()}


def left_over(db, notice: dict) -> Counter:
    """The elderly not acknowledged at the end, by reach state and reason, and whether anyone knocked
    on their door (why the figure is short)."""
    visited = {r[0] for r in db.execute("SELECT DISTINCT resident_id FROM visits WHERE notice_id = ?", [notice["id"]])}
    return Counter(f"{p['state']}{'/' + p['reason'] if p['reason'] else ''}{' (no phone)' if p['no_phone'] else ''}"
                   f"{'' if p['resident_id'] in visited else ', never visited'}"
                   for p in state.people(db, notice) if p["elderly"] and p["state"] != state.ACKNOWLEDGED)


def elderly_figure(db, notice: dict) -> dict:
    """The product's counts for the whole village, with the elderly share acknowledged in percent."""
    row = state.counts(db, notice)[0]
    pct = 100.0 * row["elderly_acknowledged"] / row["elderly"] if row["elderly"] else 0.0
    return {"elderly": row["elderly"], "elderly_acknowledged": row["elderly_acknowledged"], "pct": pct,
            "dashboard_rate": row["elderly_ack_rate"], "acknowledged": row["acknowledged"],
            "targeted": row["targeted"]}


def lines(report: dict) -> list[str]:
    """The printed report, ending with the two RESULT lines."""
    policy, blast = report["policy"], report["blast"]
    out = [f"field simulation: {report['village']}, {policy['figure']['targeted']} residents, "
           f"{policy['figure']['elderly']} aged 70+, seed {report['seed']}, speed x{report['speed']:g}, "
           f"call audience: {report['audience']}, door-knock lists: {report['lists']}", ""]
    out += [f"  {t}  {what}" for t, what in policy["timeline"]]
    out += ["", f"{'':46}{'full policy':>22}{'one-shot blast':>22}",
            f"{'':46}{'all':>11}{'70+':>11}{'all':>11}{'70+':>11}"]
    for key, label in ROWS:
        a, b = policy["channels"][key], blast["channels"][key]
        out.append(f"{label:46}{a[0]:>11}{a[1]:>11}{b[0]:>11}{b[1]:>11}")
    out.append(f"{'loudspeaker plays (village-wide, not an ack.)':46}{policy['plays']:>11}{'':>11}{blast['plays']:>11}")
    out += ["", "elderly (70+) not acknowledged at the end of the day, by reach state:"]
    out += [f"  {n:5}  {what}" for what, n in policy["left_over"].most_common()] or ["  none"]
    unlisted = sum(n for what, n in policy["left_over"].items()
                   if what.startswith(("delivered", "heard_full")) and what.endswith("never visited"))
    if unlisted:
        out.append(f"  → {unlisted} were reached (text delivered or call heard) but never acknowledged; the "
                   "door-knock list (reach/doorknock.py door_list) holds only the unreached, so nobody visited them")
    pf, bf = policy["figure"], blast["figure"]
    out += ["", f"elderly acknowledged: full policy {pf['elderly_acknowledged']}/{pf['elderly']} = {pf['pct']:.2f} % "
                f"(dashboard {pf['dashboard_rate']} %), one-shot blast {bf['elderly_acknowledged']}/{bf['elderly']} "
                f"= {bf['pct']:.2f} % (dashboard {bf['dashboard_rate']} %)",
            f"real time: {report['seconds']:.0f} s (seed {report['seed_s']:.0f} s, full day {policy['seconds']:.0f} s, "
            f"blast {blast['seconds']:.0f} s)",
            f"RESULT fieldsim_elderly_acknowledged {pf['pct']:.2f} % target >= 99 "
            f"{'PASS' if pf['pct'] >= 99 else 'MISS'}",
            f"RESULT fieldsim_blast_elderly_acknowledged {bf['pct']:.2f} % target >= 0 PASS"]
    return out
