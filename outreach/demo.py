"""A realistic demo county built from the field notes. Names and numbers are fictitious.

杨家坪村: 7 grids split into 32 sub-grids, ~2,000 residents, ~600 aged 70+, some living alone or
without a working phone, a few under home health monitoring with a 五包一 care team, party-member
contacts for 5–10 households each. 石门村: Three Gorges resettled villagers who speak 重庆话.
"""
from __future__ import annotations

import random

from .accounts import users
from .db import scalar, write
from .registry import places
from .registry.residents import (HARD_OF_HEARING, HOME_MONITORING, LIVES_ALONE, NO_PHONE, ResidentInput,
                                 current_year, upsert)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁任沈"
GIVEN = "德秀英兰华明国建军芳桂珍玉梅凤红文强伟平海云丽春生林金荣福贵宝成志勇刚"
DEMO_PASSWORD = "dalaba-demo"
VILLAGE_NUMBER = "+862388880001"  # fictitious; the simulator plays this number's network
DEMO_USERS = (  # username, role, display name, scope
    ("admin", users.ADMIN, "系统管理员", None),
    ("yang_shuji", users.SECRETARY, "杨家坪村 杨书记", ("village_id", "杨家坪村")),
    ("shimen_shuji", users.SECRETARY, "石门村 王书记", ("village_id", "石门村")),
    ("wangge_1", users.GRID_WORKER, "一网格 网格员 李芳", ("grid_id", "一网格")),
    ("zhenli", users.OFFICIAL, "西河镇 干部", ("township_id", "西河镇")),
)


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


def _phone(rng: random.Random, used: set) -> str:
    while True:
        number = f"+86139{rng.randint(0, 99_999_999):08d}"
        if number not in used:
            used.add(number)
            return number


def _populate(db, village_id: int, grids: list[str], households: int, rng: random.Random, language: str,
              used: set) -> list[int]:
    year = current_year()
    cache: dict = {}
    monitored = []
    with write(db):
        for h in range(1, households + 1):
            grid = grids[(h - 1) * len(grids) // households]
            house = f"{(h - 1) // 40 + 1}组{h:03d}号"
            size = rng.choice((1, 1, 2, 2, 2, 3, 3, 4, 5))
            surname = rng.choice(SURNAMES)
            for m in range(size):
                elderly = m < 2 and rng.random() < 0.42
                birth = year - (rng.randint(70, 94) if elderly else rng.randint(8, 69))
                tags = set()
                if size == 1 and year - birth >= 65:
                    tags.add(LIVES_ALONE)
                has_phone = rng.random() > (0.2 if year - birth >= 70 else 0.03)
                if not has_phone:
                    tags.add(NO_PHONE)
                if year - birth >= 75 and rng.random() < 0.15:
                    tags.add(HARD_OF_HEARING)
                if rng.random() < 0.01:
                    tags.add(HOME_MONITORING)
                away = m >= 2 and rng.random() < 0.3
                resident_id, _ = upsert(db, village_id, ResidentInput(
                    name=surname + _name(rng)[1:], phones=[_phone(rng, used)] if has_phone else [],
                    grid_name=grid, house_number=house, address=f"{house}", birth_year=birth,
                    sex=rng.choice("MF"), language=language, tags=tags, lives_elsewhere=away,
                    relation="户主" if m == 0 else rng.choice(("配偶", "子女", "孙子女", "父母")),
                    notes="在城里务工，可代为确认" if away else ""), cache=cache)
                if HOME_MONITORING in tags:
                    monitored.append(resident_id)
    return monitored


def _caretakers(db, village_id: int, rng: random.Random, monitored: list[int], used: set) -> None:
    with write(db):
        for grid in db.execute("SELECT id, name FROM grids WHERE village_id = ? AND parent_id IS NULL",
                               [village_id]).fetchall():
            worker = db.execute("INSERT INTO caretakers (village_id, name, phone, kind, role_note) VALUES (?,?,?,?,?)",
                                [village_id, _name(rng), _phone(rng, used), "grid_worker", grid["name"]]).lastrowid
            db.execute("""INSERT INTO caretaker_assignments (caretaker_id, household_id)
                          SELECT ?, id FROM households WHERE grid_id IN
                          (SELECT id FROM grids WHERE id = ? OR parent_id = ?)""", [worker, grid["id"], grid["id"]])
        households = [r[0] for r in db.execute("SELECT id FROM households WHERE village_id = ? ORDER BY id",
                                               [village_id]).fetchall()]
        i = 0
        while i < len(households):  # 党员联户: one member, 5–10 households
            contact = db.execute("INSERT INTO caretakers (village_id, name, phone, kind, role_note) VALUES (?,?,?,?,?)",
                                 [village_id, _name(rng), _phone(rng, used), "party_contact", "党员联户"]).lastrowid
            n = rng.randint(5, 10)
            db.conn.executemany("INSERT INTO caretaker_assignments (caretaker_id, household_id) VALUES (?, ?)",
                                [(contact, h) for h in households[i:i + n]])
            i += n
        for resident_id in monitored:  # 五包一
            for note in ("乡镇干部", "村干部", "医生", "民警", "网格员"):
                member = db.execute("INSERT INTO caretakers (village_id, name, phone, kind, role_note) "
                                    "VALUES (?,?,?,?,?)",
                                    [village_id, _name(rng), _phone(rng, used), "care_team", note]).lastrowid
                db.execute("INSERT INTO caretaker_assignments (caretaker_id, resident_id) VALUES (?, ?)",
                           [member, resident_id])


def seed(db, *, seed_value: int = 2020, households: int = 800) -> bool:
    """Build the demo county unless a village exists already; returns whether it seeded. Commits."""
    if scalar(db, "SELECT COUNT(*) FROM villages"):
        return False
    rng = random.Random(seed_value)
    used: set = set()
    county = places.ensure_county(db, "青山县")
    township = places.ensure_township(db, county, "西河镇")
    places.ensure_township(db, county, "东岭乡")
    yang = places.ensure_village(db, township, "杨家坪村")
    with write(db):  # the village number residents call to hear today's notice again
        db.execute("UPDATE villages SET phone_number = ? WHERE id = ?", [VILLAGE_NUMBER, yang])
    shimen = places.ensure_village(db, township, "石门村", default_language="重庆话")
    big = ["一网格", "二网格", "三网格", "四网格", "五网格", "六网格", "七网格"]
    sub = [f"{g}/{i}小组" for g in big for i in range(1, 5 + (big.index(g) < 4))]  # 32 sub-grids
    monitored = _populate(db, yang, sub, households, rng, "mandarin", used)
    _caretakers(db, yang, rng, monitored, used)
    monitored = _populate(db, shimen, ["移民一组", "移民二组", "移民三组"], households // 5, rng, "重庆话", used)
    _caretakers(db, shimen, rng, monitored, used)
    ids = {"village_id": {"杨家坪村": yang, "石门村": shimen}, "township_id": {"西河镇": township},
           "grid_id": {"一网格": scalar(db, "SELECT id FROM grids WHERE village_id = ? AND name = '一网格'", [yang])}}
    for username, role, display, scope in DEMO_USERS:
        scopes = {scope[0]: [ids[scope[0]][scope[1]]]} if scope else None
        users.create_user(db, username, DEMO_PASSWORD, role, display_name=display, scopes=scopes)
    return True
