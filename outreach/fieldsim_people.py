"""The field simulation's people: how each demo resident behaves on the phone, and the grid workers.

Phones: every number of the village is configured in the phone-network simulator from the registry
(age from the birth year, so answer rates follow age and the hour of the residents' clock). What a
person does once they answer is drawn here, per resident, from ``Random(f"{seed}:{resident_id}")``:

* keys: 80 % press 1 at once, 5 % ask to hear it again (9) then press 1, 15 % press nothing —
  85 % of those who answer and listen acknowledge;
* 4 % hang up before the notice ends (patience 5–15 s of a ~25 s message);
* 2 % of the numbers in the register are dead (disconnected, the phone lost);
* busy 5 %; voicemail picks up 5 % of the unanswered calls of the elderly, 15 % of the others;
* texts: the elderly reply "1"/"收到" to 25 % of delivered texts, the others 50 %.

Grid workers (网格员), one per large grid, visit each household with someone on their list::

    household ─┬─ 8 %  nobody home ─▶ not_home (each listed person) ─▶ 17:00 revisit, 80 % informed
               └─ 92 % someone home ─▶ per listed person: refused 1 %, moved 1 %, otherwise informed

so about 90 % informed, 8 % not home and 2 % refused or moved at the first visit.
"""
from __future__ import annotations

import random
from datetime import datetime

from .reach import doorknock
from .registry.residents import current_year

PRESS_1, REPEAT_THEN_1, SILENT = 0.80, 0.05, 0.15  # keys of a person who answers (sum 1)
IMPATIENT = 0.04          # hangs up before the notice ends
DEAD_NUMBER = 0.02        # number in the register no longer works
BUSY = 0.05               # line busy
VOICEMAIL_ELDERLY, VOICEMAIL_OTHERS = 0.05, 0.15
REPLY_ELDERLY, REPLY_OTHERS = 0.25, 0.50
NOBODY_HOME = 0.08        # first visit: nobody at home
REFUSED, MOVED = 0.01, 0.01  # of the people found at home
REVISIT_SUCCESS = 0.80    # 17:00 revisit of a household nobody answered at 14:00
ELDERLY_AGE = 70


def phone_profiles(db, village_id: int, seed) -> list[dict]:
    """One simulator profile per phone number of the village (``POST /sim/residents`` rows)."""
    year = current_year()
    found = db.execute("""SELECT p.e164, p.kind, r.id, r.birth_year FROM resident_phones p
                          JOIN residents r ON r.id = p.resident_id WHERE r.village_id = ?
                          ORDER BY r.id, p.position""", [village_id]).fetchall()
    profiles = []
    for number, kind, resident_id, birth_year in found:
        rng = random.Random(f"{seed}:{resident_id}")
        age = year - birth_year if birth_year else 45
        elderly = age >= ELDERLY_AGE
        r = rng.random()
        keys = ["1"] if r < PRESS_1 else (["9", "1"] if r < PRESS_1 + REPEAT_THEN_1 else [])
        profiles.append({
            "number": number, "age": age, "kind": "landline" if kind == "landline" else "mobile",
            "has_working_phone": rng.random() >= DEAD_NUMBER, "answer_probability": None,
            "busy_probability": BUSY, "voicemail_probability": VOICEMAIL_ELDERLY if elderly else VOICEMAIL_OTHERS,
            "keys": keys, "patience_s": round(rng.uniform(5, 15), 1) if rng.random() < IMPATIENT else None,
            "sms_reply": rng.choice(("1", "收到")), "reply_probability": REPLY_ELDERLY if elderly else REPLY_OTHERS,
        })
    return profiles


def grid_workers(db, village_id: int) -> list[dict]:
    """One worker per large grid: name (from the village's caretakers) and the grid ids they cover."""
    grids = db.execute("SELECT id, name FROM grids WHERE village_id = ? AND parent_id IS NULL ORDER BY id",
                       [village_id]).fetchall()
    workers = []
    for grid_id, name in grids:
        covered = [grid_id] + [r[0] for r in db.execute("SELECT id FROM grids WHERE parent_id = ?", [grid_id])]
        who = db.execute("SELECT name FROM caretakers WHERE village_id = ? AND kind = 'grid_worker' "
                         "AND role_note = ?", [village_id, name]).fetchone()
        workers.append({"grid": name, "grid_ids": covered, "name": who[0] if who else f"{name}网格员"})
    return workers


def _by_household(listed: list[dict]) -> list[list[dict]]:
    households: dict = {}
    for p in listed:  # the list is in walking order already (grid, house number)
        households.setdefault(p["household_id"] or -p["resident_id"], []).append(p)
    return list(households.values())


def knock(db, notice: dict, *, when: datetime, seed, round_no: int, elderly_only: bool = True,
          only: set | None = None, lists: str = "unreached") -> dict:
    """One round of door-knocking at ``when``: every grid worker walks their list and records each visit.

    ``lists`` is which product list they are handed: ``unreached`` (doorknock.door_list, the
    door-knock page) or ``unacknowledged`` (doorknock.roll_call, everyone not acknowledged).
    ``only`` limits the round to these resident ids (the revisit). Returns counts by outcome and
    the resident ids found not at home.
    """
    tally = {"listed": 0, "households": 0, doorknock.INFORMED: 0, doorknock.NOT_HOME: 0,
             doorknock.REFUSED: 0, doorknock.MOVED: 0, "not_home_ids": set()}
    for worker in grid_workers(db, notice["village_id"]):
        if lists == "unacknowledged":
            listed = [p for g in doorknock.roll_call(db, notice, grid_ids=worker["grid_ids"])
                      for h in g["households"] for p in h["people"] if p["reason"] not in ("moved", "refused")]
        else:
            listed = doorknock.door_list(db, notice, grid_ids=worker["grid_ids"], now=when)
        listed = [p for p in listed if (not elderly_only or (p["age"] or 0) >= ELDERLY_AGE)
                  and (only is None or p["resident_id"] in only)]
        for household in _by_household(listed):
            tally["households"] += 1
            rng = random.Random(f"{seed}:visit:{round_no}:{household[0]['household_id']}")
            home = rng.random() >= NOBODY_HOME if round_no == 1 else rng.random() < REVISIT_SUCCESS
            for person in household:
                tally["listed"] += 1
                if not home:
                    outcome = doorknock.NOT_HOME
                    tally["not_home_ids"].add(person["resident_id"])
                else:
                    r = rng.random() if round_no == 1 else 1.0  # a revisit finds them and tells them
                    outcome = (doorknock.REFUSED if r < REFUSED else doorknock.MOVED if r < REFUSED + MOVED
                               else doorknock.INFORMED)
                tally[outcome] += 1
                doorknock.record_visit(db, notice=notice, resident_id=person["resident_id"], outcome=outcome,
                                       user=None, note=f"模拟入户：{worker['name']}（第{round_no}轮）", now=when)
    return tally
