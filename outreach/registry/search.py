"""Finding residents: free text (name, pinyin, initials, phone digits) and filters, paginated."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..db import rows, scalar
from .residents import current_year

PER_PAGE = 50


@dataclass
class ResidentQuery:
    """Filters from the residents list. ``village_ids``/``grid_ids`` come from the user's scope."""
    village_ids: list[int] | None = None  # None: every village (admin)
    grid_ids: list[int] | None = None     # None: no grid restriction
    text: str = ""
    village_id: int | None = None
    grid_id: int | None = None
    min_age: int | None = None
    tags: list[str] = field(default_factory=list)
    language: str = ""
    page: int = 1
    per_page: int = PER_PAGE


def people_filters(*, grid_id: int | None = None, min_age: int | None = None, tags=(), language: str = "") \
        -> tuple[list[str], list]:
    """WHERE fragments on residents ``r`` shared by the residents list and campaign audiences."""
    clauses, params = [], []
    if grid_id:
        # A parent grid includes its sub-grids.
        clauses.append("(r.grid_id = ? OR r.grid_id IN (SELECT id FROM grids WHERE parent_id = ?))")
        params += [grid_id, grid_id]
    if min_age is not None:
        clauses.append("r.birth_year <= ?")
        params.append(current_year() - min_age)
    for tag in tags:
        clauses.append("EXISTS (SELECT 1 FROM resident_tags t WHERE t.resident_id = r.id AND t.tag = ?)")
        params.append(tag)
    if language:
        clauses.append("r.language = ?")
        params.append(language)
    return clauses, params


def _where(q: ResidentQuery) -> tuple[str, list]:
    clauses, params = [], []
    if q.village_ids is not None:
        clauses.append(f"r.village_id IN ({','.join('?' * len(q.village_ids)) or 'NULL'})")
        params += q.village_ids
    if q.grid_ids is not None:
        clauses.append(f"r.grid_id IN ({','.join('?' * len(q.grid_ids)) or 'NULL'})")
        params += q.grid_ids
    if q.village_id:
        clauses.append("r.village_id = ?")
        params.append(q.village_id)
    more, more_params = people_filters(grid_id=q.grid_id, min_age=q.min_age, tags=q.tags, language=q.language)
    clauses += more
    params += more_params
    text = q.text.strip()
    if text:
        digits = re.sub(r"\D", "", text)
        like = f"%{text.lower()}%"
        alternatives = ["r.name LIKE ?", "r.name_pinyin LIKE ?", "r.name_initials LIKE ?"]
        params += [f"%{text}%", like.replace(" ", ""), like]
        if len(digits) >= 3:
            alternatives.append("EXISTS (SELECT 1 FROM resident_phones p WHERE p.resident_id = r.id "
                                "AND p.e164 LIKE ?)")
            params.append(f"%{digits}%")
        clauses.append("(" + " OR ".join(alternatives) + ")")
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def search(db, q: ResidentQuery) -> tuple[list[dict], int]:
    """One page of residents (with primary phone and tags) and the total count."""
    where, params = _where(q)
    total = scalar(db, f"SELECT COUNT(*) FROM residents r{where}", params)
    page = max(1, q.page)
    found = rows(db, f"""
        SELECT r.id, r.name, r.birth_year, r.sex, r.language, r.village_id, v.name AS village_name,
               g.name AS grid_name, h.house_number,
               (SELECT e164 FROM resident_phones p WHERE p.resident_id = r.id ORDER BY position LIMIT 1) AS phone,
               (SELECT group_concat(tag, ',') FROM resident_tags t WHERE t.resident_id = r.id) AS tags
        FROM residents r JOIN villages v ON v.id = r.village_id
        LEFT JOIN grids g ON g.id = r.grid_id LEFT JOIN households h ON h.id = r.household_id
        {where} ORDER BY v.name, g.name, h.house_number, r.name LIMIT ? OFFSET ?""",
                 params + [q.per_page, (page - 1) * q.per_page])
    year = current_year()
    for r in found:
        r["age"] = year - r["birth_year"] if r["birth_year"] else None
        r["tags"] = sorted(r["tags"].split(",")) if r["tags"] else []
    return found, total
