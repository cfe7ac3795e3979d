"""One reach state per resident and notice, combining every channel (calls, texts, replay line, visits).

States, lowest to highest; the highest one a resident's history supports wins::

    not_contacted ─▶ attempted ─▶ delivered ─▶ heard_full ─▶ acknowledged
                         │        (SMS delivered  (whole audio   (key 1 / reply 1 / pledge /
                         ▼         or call         played on an   visit "informed" / proxy)
                    unreachable    answered)       answered call)
                    (with a reason)

``unreachable`` ranks above attempted and below delivered: a person who got the text but later
refused a visit was still reached. Acknowledged beats everything.

Unreachable reasons, first match wins: the last visit found them ``moved`` or they ``refused``;
``opted_out`` (texted STOP to this notice, or the provider refused the number as opted out);
``no_phone`` (tagged "no working phone" or no number, and nothing in flight); ``all_failed``
(every send for the notice failed and nothing is still pending).

Proxy acknowledgement (a household member acknowledging for someone): when a member of the same
household has acknowledged the notice themselves, the resident counts as acknowledged *by proxy* if
(a) that member lives elsewhere (the son in the city who answers for the household — the registry
marks him ``lives_elsewhere``), or (b) the resident has no working phone (whoever heard it at home
tells them; nobody can call them anyway). A resident at home with a phone must answer for themselves.
Proxy states carry ``via = 'proxy'``.

Everything is one SQL statement per notice (GROUP BYs over outbox, responses, pledges and visits),
never a loop over people in Python; ``as_of`` cuts every history at a moment (for daily reports).
"""
from __future__ import annotations

import re

from ..db import rows, scalar
from ..registry.residents import current_year

NOT_CONTACTED = "not_contacted"  # nothing sent, no visit
ATTEMPTED = "attempted"          # sent or visited, no sign it reached them (yet)
UNREACHABLE = "unreachable"      # cannot be reached by what we tried; ``reason`` says why
DELIVERED = "delivered"          # SMS delivered, call answered by a person, or they replied
HEARD_FULL = "heard_full"        # an answered call played the whole audio
ACKNOWLEDGED = "acknowledged"    # confirmed (themselves or by proxy)
STATES = (NOT_CONTACTED, ATTEMPTED, UNREACHABLE, DELIVERED, HEARD_FULL, ACKNOWLEDGED)
RANK = {s: i for i, s in enumerate(STATES)}
REACHED = (DELIVERED, HEARD_FULL, ACKNOWLEDGED)

MOVED = "moved"            # visit: moved away
REFUSED = "refused"        # visit: refused
OPTED_OUT = "opted_out"    # STOP / provider code 21610
NO_PHONE = "no_phone"      # tagged no working phone, or no number at all
ALL_FAILED = "all_failed"  # every send failed, nothing pending
REASONS = (MOVED, REFUSED, OPTED_OUT, NO_PHONE, ALL_FAILED)

# Rank of one send (outbox row) for the person, highest wins: 8 answered and heard in full, 7 delivered or
# answered, 5 done otherwise (answering machine), 4 in flight after an attempt, 3 failed as opted out,
# 2 failed, 1 attempted then expired/cancelled, 0 never tried. A row still changing after ``as_of``
# counts as in flight.
ELDERLY_AGE = 70
FOREVER = "9999-12-31T23:59:59.999Z"  # as_of when the whole history counts
_OPT_OUT_CODE = 21610

# Per-person reach for one notice. Params: notice, village, as_of, min_birth (70+ cut-off).
# ``{people}`` narrows residents (grid scope); ``{outer}`` lets callers wrap it.
PEOPLE_SQL = """
WITH camp AS (SELECT id FROM campaigns WHERE notice_id = :notice),
ev AS (
  -- Every channel's events for the notice in one list, grouped once per resident (one sort, not four).
  SELECT resident_id, MAX(rk) AS rk, MAX(op) AS open, MIN(reached_at) AS reached_at, MAX(ack) AS ack,
         MIN(ack_at) AS ack_at, MAX(replied) AS replied, MAX(opted) AS opted,
         substr(MAX(visit), instr(MAX(visit), '|') + 1) AS last_visit
  FROM (
    SELECT resident_id, rk, op, CASE WHEN rk >= 7 THEN updated_at END AS reached_at, 0 AS ack, NULL AS ack_at,
           0 AS replied, 0 AS opted, NULL AS visit
    FROM (SELECT resident_id, updated_at,
            CASE WHEN updated_at > :as_of THEN (attempts > 0) * 4
                 WHEN status = 'done' THEN CASE WHEN outcome = 'answered' THEN 7 + heard_full
                                                WHEN outcome = 'delivered' THEN 7 ELSE 5 END
                 WHEN status IN ('sending', 'wired', 'unknown', 'retry') THEN 4
                 WHEN status = 'pending' THEN (attempts > 0) * 4
                 WHEN status = 'failed' THEN CASE WHEN error_code = %(opt)d THEN 3 ELSE 2 END
                 ELSE attempts > 0 END AS rk,
            status IN ('pending', 'sending', 'wired', 'retry', 'unknown') OR updated_at > :as_of AS op
          FROM outbox WHERE campaign_id IN camp AND created_at <= :as_of)
    UNION ALL
    SELECT resident_id, 0, 0, NULL, kind IN ('ack', 'pledge'), CASE WHEN kind IN ('ack', 'pledge') THEN at END,
           kind != 'opt_out', kind = 'opt_out', NULL
    FROM responses WHERE notice_id = :notice AND resident_id IS NOT NULL AND at <= :as_of
    UNION ALL
    SELECT resident_id, 0, 0, NULL, 1, created_at, 0, 0, NULL
    FROM pledges WHERE notice_id = :notice AND resident_id IS NOT NULL AND created_at <= :as_of
    UNION ALL
    SELECT resident_id, 0, 0, NULL, outcome = 'informed', CASE WHEN outcome = 'informed' THEN visited_at END,
           0, 0, visited_at || '|' || outcome
    FROM visits WHERE notice_id = :notice AND visited_at <= :as_of)
  GROUP BY resident_id),
hh AS (
  SELECT r.household_id, MAX(r.lives_elsewhere) AS elsewhere, MIN(e.ack_at) AS at
  FROM ev e CROSS JOIN residents r ON r.id = e.resident_id  -- CROSS: walk the acknowledgers, not all residents
  WHERE e.ack AND r.household_id IS NOT NULL GROUP BY r.household_id),
base AS MATERIALIZED (
  SELECT r.id, r.grid_id, r.household_id, r.birth_year,
         COALESCE(r.birth_year <= :min_birth, 0) AS elderly,
         EXISTS (SELECT 1 FROM resident_tags t WHERE t.resident_id = r.id AND t.tag = 'lives_alone') AS alone,
         (EXISTS (SELECT 1 FROM resident_tags t WHERE t.resident_id = r.id AND t.tag = 'no_phone')
          OR NOT EXISTS (SELECT 1 FROM resident_phones p WHERE p.resident_id = r.id)) AS no_phone
  FROM residents r WHERE r.village_id = :village {people}),
people AS MATERIALIZED (
  SELECT b.id AS resident_id, b.grid_id, b.household_id, b.birth_year, b.elderly, b.alone, b.no_phone,
    CASE
      WHEN e.ack THEN 'acknowledged'
      WHEN hh.household_id IS NOT NULL AND (hh.elsewhere OR b.no_phone) THEN 'acknowledged'
      WHEN e.rk = 8 THEN 'heard_full'
      WHEN e.rk = 7 OR e.replied THEN 'delivered'
      WHEN e.last_visit IN ('moved', 'refused') OR e.opted
           OR NOT COALESCE(e.open, 0) AND ((b.no_phone AND e.last_visit IS NULL) OR e.rk IN (2, 3)) THEN 'unreachable'
      WHEN e.rk >= 1 OR e.last_visit IS NOT NULL THEN 'attempted'
      ELSE 'not_contacted' END AS state,
    CASE
      WHEN e.ack OR e.rk >= 7 OR e.replied OR (hh.household_id IS NOT NULL AND (hh.elsewhere OR b.no_phone)) THEN ''
      WHEN e.last_visit IN ('moved', 'refused') THEN e.last_visit
      WHEN e.opted OR (e.rk = 3 AND NOT e.open) THEN 'opted_out'
      WHEN b.no_phone AND NOT COALESCE(e.open, 0) AND e.last_visit IS NULL THEN 'no_phone'
      WHEN e.rk = 2 AND NOT e.open THEN 'all_failed'
      ELSE '' END AS reason,
    CASE WHEN e.ack THEN 'self'
         WHEN hh.household_id IS NOT NULL AND (hh.elsewhere OR b.no_phone) THEN 'proxy' ELSE '' END AS via,
    e.reached_at,
    CASE WHEN e.ack THEN e.ack_at WHEN hh.elsewhere OR b.no_phone THEN hh.at END AS ack_at,
    COALESCE(e.open, 0) AS open, e.last_visit
  FROM base b
  LEFT JOIN ev e ON e.resident_id = b.id
  LEFT JOIN hh ON hh.household_id = b.household_id)
{outer}
""".replace("%(opt)d", str(_OPT_OUT_CODE))


def in_list(column: str, ids) -> tuple[str, list]:
    """`` AND column IN (?, …)`` for an id list; None means no filter; [] matches nothing."""
    if ids is None:
        return "", []
    ids = [int(i) for i in ids]
    return f" AND {column} IN ({','.join('?' * len(ids)) or 'NULL'})", ids


def _params(notice: dict, as_of: str | None) -> dict:
    return {"notice": notice["id"], "village": notice["village_id"], "as_of": as_of or FOREVER,
            "min_birth": current_year() - ELDERLY_AGE}


def query(db, notice: dict, outer: str, *, grid_ids=None, as_of: str | None = None, extra: dict | None = None):
    """Run ``outer`` (a SELECT over the ``people`` CTE) for one notice; returns dict rows."""
    named = {**_params(notice, as_of), **(extra or {})}
    people = ""
    if grid_ids is not None:  # named placeholders only: sqlite3 refuses a mix
        names = [f":g{i}" for i in range(len(grid_ids))]
        named.update({f"g{i}": int(g) for i, g in enumerate(grid_ids)})
        people = f" AND r.grid_id IN ({','.join(names) or 'NULL'})"
    return rows(db, PEOPLE_SQL.replace("{people}", people).replace("{outer}", outer), named)


def notice_of(db, notice_id: int) -> dict | None:
    found = rows(db, """SELECT n.id, n.village_id, n.title, n.created_at, v.name AS village_name, v.timezone
                        FROM notices n JOIN villages v ON v.id = n.village_id WHERE n.id = ?""", [notice_id])
    return found[0] if found else None


def people(db, notice: dict, *, grid_ids=None, as_of: str | None = None) -> list[dict]:
    """Every resident of the notice's village with state, reason and via (for drill-down and lists)."""
    return query(db, notice, """SELECT p.*, r.name, r.lives_elsewhere, h.house_number, g.name AS grid_name
        FROM people p JOIN residents r ON r.id = p.resident_id
        LEFT JOIN households h ON h.id = p.household_id LEFT JOIN grids g ON g.id = p.grid_id
        ORDER BY g.name IS NULL, g.name, h.house_number IS NULL, h.house_number, r.id""",
                 grid_ids=grid_ids, as_of=as_of)


def state_of(db, notice: dict, resident_id: int) -> dict:
    """One resident's state (same SQL, narrowed to them)."""
    found = query(db, notice, "SELECT * FROM people WHERE resident_id = :rid", extra={"rid": resident_id})
    return found[0] if found else {"state": NOT_CONTACTED, "reason": "", "via": ""}


COUNT_COLUMNS = """COUNT(*) AS targeted,
  SUM(state != 'not_contacted' AND reason != 'no_phone') AS contacted,  -- no phone and never visited: not contacted
  SUM(state IN ('delivered', 'heard_full', 'acknowledged')) AS delivered,
  SUM(state IN ('heard_full', 'acknowledged')) AS heard,
  SUM(state = 'acknowledged') AS acknowledged,
  SUM(via = 'proxy') AS proxy,
  SUM(state = 'unreachable') AS unreachable,
  SUM(state = 'attempted') AS attempted,
  SUM(state = 'not_contacted') AS not_contacted,
  SUM(elderly) AS elderly,
  SUM(elderly AND state IN ('delivered', 'heard_full', 'acknowledged')) AS elderly_reached,
  SUM(elderly AND state = 'acknowledged') AS elderly_acknowledged,
  SUM(alone) AS alone,
  SUM(alone AND state IN ('delivered', 'heard_full', 'acknowledged')) AS alone_reached,
  SUM(alone AND state = 'acknowledged') AS alone_acknowledged,
  SUM(state = 'unreachable' AND reason = 'moved') AS r_moved,
  SUM(state = 'unreachable' AND reason = 'refused') AS r_refused,
  SUM(state = 'unreachable' AND reason = 'opted_out') AS r_opted_out,
  SUM(state = 'unreachable' AND reason = 'no_phone') AS r_no_phone,
  SUM(state = 'unreachable' AND reason = 'all_failed') AS r_all_failed"""


def summary(db, notice: dict, *, group_by: str | None = None, grid_ids=None, as_of: str | None = None,
            day_modifier: str = "+480 minutes") -> tuple[list[dict], dict[str, dict]]:
    """State counts (whole village, or per ``grid_id``) and per local day the people first reached and
    first acknowledged — both from one pass over the notice's history.

    ``day_modifier`` is the SQLite modifier from UTC to the village's local time (stats.offset_modifier).
    """
    if group_by not in (None, "grid_id"):
        raise ValueError("counts can be grouped by grid_id only")
    from . import cache

    memo_key = ("summary", notice["id"], group_by, None if grid_ids is None else tuple(grid_ids), as_of, day_modifier)
    return cache.memo(db, memo_key, notice, lambda: _summary(db, notice, group_by, grid_ids, as_of, day_modifier))


def _summary(db, notice, group_by, grid_ids, as_of, day_modifier):
    key = group_by or "NULL"
    found = query(db, notice, f"""SELECT {key} AS key, date(reached_at, :mod) AS rd, date(ack_at, :mod) AS ad,
        {COUNT_COLUMNS} FROM people GROUP BY 1, 2, 3""", grid_ids=grid_ids, as_of=as_of,
                  extra={"mod": day_modifier})
    merged: dict = {}
    days: dict[str, dict] = {}
    for r in found:
        row = merged.setdefault(r["key"], {"key": r["key"]})
        for k, v in r.items():
            if k not in ("key", "rd", "ad"):
                row[k] = row.get(k, 0) + (v or 0)
        for day, what in ((r["rd"], "reached"), (r["ad"], "acknowledged")):
            if day:
                entry = days.setdefault(day, {"reached": 0, "acknowledged": 0})
                entry[what] += r["targeted"]
    if not merged and group_by is None:
        merged[None] = {"key": None, "targeted": 0}
    return [with_rates(r) for r in merged.values()], days


def counts(db, notice: dict, *, group_by: str | None = None, grid_ids=None, as_of: str | None = None) -> list[dict]:
    """State counts for the notice, whole village or per ``grid_id``, with rates in percent."""
    return summary(db, notice, group_by=group_by, grid_ids=grid_ids, as_of=as_of)[0]


COUNT_KEYS = tuple(re.findall(r"AS (\w+)", COUNT_COLUMNS))


def with_rates(row: dict) -> dict:
    """Fill every count (0 when missing) and add the rates in percent."""
    for k in COUNT_KEYS:
        row[k] = row.get(k) or 0
    total = row.get("targeted") or 0
    for name in ("delivered", "heard", "acknowledged", "unreachable"):
        row[f"{name}_rate"] = percent(row.get(name, 0), total)
    row["elderly_ack_rate"] = percent(row.get("elderly_acknowledged", 0), row.get("elderly", 0))
    row["alone_ack_rate"] = percent(row.get("alone_acknowledged", 0), row.get("alone", 0))
    return row


def percent(part, whole) -> float:
    return round(100.0 * (part or 0) / whole, 1) if whole else 0.0


def coverage(db, notice_id: int, *, since: str | None = None, until: str | None = None) -> dict:
    """Loudspeaker plays of the notice in its village: village-wide coverage, shown beside personal reach."""
    found = rows(db, """SELECT p.status, COUNT(*) AS n FROM plays p
        LEFT JOIN fires f ON f.id = p.fire_id LEFT JOIN schedules s ON s.id = f.schedule_id
        LEFT JOIN audio_assets a ON a.id = p.asset_id
        WHERE COALESCE(s.notice_id, a.notice_id) = ? AND p.created_at >= ? AND p.created_at <= ?
        GROUP BY p.status""", [notice_id, since or "", until or FOREVER])
    by = {r["status"]: r["n"] for r in found}
    missed_fires = scalar(db, """SELECT COUNT(*) FROM fires f JOIN schedules s ON s.id = f.schedule_id
        WHERE s.notice_id = ? AND s.kind = 'broadcast' AND f.status = 'missed' AND f.fire_at >= ? AND f.fire_at <= ?
        AND NOT EXISTS (SELECT 1 FROM plays p WHERE p.fire_id = f.id)""", [notice_id, since or "", until or FOREVER])
    return {"played": by.get("finished", 0) + by.get("confirmed", 0),
            "missed": by.get("missed", 0) + by.get("failed", 0) + (missed_fires or 0),
            "pending": sum(by.get(k, 0) for k in ("intent", "started", "retry", "awaiting_confirmation"))}
