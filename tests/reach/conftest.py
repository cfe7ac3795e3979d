"""Reach fixtures: the root conftest's app and base data, plus ``hist`` to write channel histories.

``hist`` writes rows the way the delivery code leaves them (outbox status/outcome, responses with
the notice id, visits), straight into the real SQLite file, so a test states a history in one
line per event and then asks reach what it makes of it.
"""
from __future__ import annotations

import itertools

import pytest

from outreach.delivery import campaigns
from outreach.notices import store
from outreach.registry.residents import ResidentInput, upsert


class History:
    def __init__(self, db, ids):
        self.db, self.ids = db, ids
        self.keys = itertools.count(1)
        self.notice_id = store.create(db, ids["yang"], "取消聚集通知", "近期不办酒席，按1表示收到")
        db.execute("UPDATE notices SET status = 'ready' WHERE id = ?", [self.notice_id])
        self.campaign_id = self.campaign("voice")

    @property
    def notice(self) -> dict:
        from outreach.reach import state
        return state.notice_of(self.db, self.notice_id)

    def campaign(self, channel: str, notice_id: int | None = None, started_at="2024-05-01T01:00:00.000Z") -> int:
        cid = campaigns.create(self.db, village_id=self.ids["yang"], notice_id=notice_id or self.notice_id,
                               name=f"c-{channel}", channel=channel,
                               audience=campaigns.Audience(village_id=self.ids["yang"]))
        self.db.execute("UPDATE campaigns SET status = 'done', started_at = ? WHERE id = ?", [started_at, cid])
        return cid

    def resident(self, name: str, *, house: str = "1组050号", grid: str = "一网格", phones=None,
                 birth_year: int = 1975, tags=(), lives_elsewhere: bool = False) -> int:
        if phones is None:  # a fresh number each: the registry merges people who share one
            phones = [f"+86139{20000000 + next(self.keys):08d}"]
        return upsert(self.db, self.ids["yang"], ResidentInput(
            name=name, phones=list(phones), grid_name=grid, house_number=house, birth_year=birth_year,
            tags=set(tags), lives_elsewhere=lives_elsewhere))[0]

    def send(self, rid: int, channel: str = "voice", status: str = "done", outcome: str | None = "answered",
             *, heard: bool = False, attempts: int = 1, error_code: int | None = None, campaign_id: int | None = None,
             at: str = "2024-05-01T02:00:00.000Z") -> int:
        return self.db.execute(
            """INSERT INTO outbox (campaign_id, resident_id, village_id, channel, to_e164, status, attempts, outcome,
               heard_full, error_code, created_at, updated_at) VALUES (?, ?, ?, ?, '+8613911110000', ?, ?, ?, ?, ?, ?, ?)""",
            [campaign_id or self.campaign_id, rid, self.ids["yang"], channel, status, attempts, outcome, int(heard),
             error_code, at, at]).lastrowid

    def respond(self, rid: int, kind: str = "ack", channel: str = "voice", at: str = "2024-05-01T02:01:00.000Z"):
        self.db.execute("""INSERT INTO responses (village_id, resident_id, campaign_id, notice_id, channel, kind,
                           dedupe_key, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                        [self.ids["yang"], rid, self.campaign_id, self.notice_id, channel, kind,
                         f"t{next(self.keys)}", at])

    def visit(self, rid: int, outcome: str, at: str = "2024-05-02T03:00:00.000Z"):
        self.db.execute("INSERT INTO visits (village_id, resident_id, notice_id, outcome, visited_at) "
                        "VALUES (?, ?, ?, ?, ?)", [self.ids["yang"], rid, self.notice_id, outcome, at])

    def state(self, rid: int) -> tuple[str, str, str]:
        from outreach.reach import state
        s = state.state_of(self.db, self.notice, rid)
        return s["state"], s["reason"], s["via"]


@pytest.fixture(autouse=True)
def fresh_cache():
    from outreach.reach import cache
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def hist(db, ids):
    return History(db, ids)
