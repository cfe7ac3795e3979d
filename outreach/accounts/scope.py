"""What a user may see: villages and grids resolved from their role and scope rows.

Deny by default: a user with no scope rows sees nothing (admins excepted). Objects outside
the scope are reported as *not found*, so a secretary cannot even learn that a resident of
another village exists.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..db import rows
from .users import ADMIN, GRID_WORKER, OFFICIAL, SECRETARY


@dataclass(frozen=True)
class Scope:
    role: str
    village_ids: tuple[int, ...] | None  # None: all villages (admin)
    grid_ids: tuple[int, ...] | None     # None: every grid of the villages

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    @property
    def sees_people(self) -> bool:
        """Officials see aggregates only; everyone else works with named residents."""
        return self.role != OFFICIAL

    @property
    def masks_phones(self) -> bool:
        return self.role == OFFICIAL

    @property
    def can_edit_registry(self) -> bool:
        return self.role in (ADMIN, SECRETARY)

    def village_list(self) -> list[int] | None:
        return None if self.village_ids is None else list(self.village_ids)

    def grid_list(self) -> list[int] | None:
        return None if self.grid_ids is None else list(self.grid_ids)

    def allows_village(self, village_id: int) -> bool:
        return self.village_ids is None or village_id in self.village_ids

    def allows_resident(self, resident: dict) -> bool:
        if not self.allows_village(resident["village_id"]):
            return False
        return self.grid_ids is None or resident.get("grid_id") in self.grid_ids


def resolve(db, user: dict) -> Scope:
    """Expand a user's scope rows into village and grid ids (reads only)."""
    role = user["role"]
    if role == ADMIN:
        return Scope(role, None, None)
    scope_rows = rows(db, "SELECT * FROM user_scopes WHERE user_id = ?", [user["id"]])
    villages: set[int] = set()
    grids: set[int] = set()
    for s in scope_rows:
        if s["village_id"] and role in (SECRETARY, OFFICIAL):
            villages.add(s["village_id"])
        elif s["township_id"] and role == OFFICIAL:
            villages |= {r["id"] for r in rows(db, "SELECT id FROM villages WHERE township_id = ?",
                                              [s["township_id"]])}
        elif s["county_id"] and role == OFFICIAL:
            villages |= {r["id"] for r in rows(db, """SELECT v.id FROM villages v
                         JOIN townships t ON t.id = v.township_id WHERE t.county_id = ?""", [s["county_id"]])}
        elif s["grid_id"] and role == GRID_WORKER:
            for g in rows(db, "SELECT id, village_id FROM grids WHERE id = ? OR parent_id = ?",
                          [s["grid_id"], s["grid_id"]]):
                grids.add(g["id"])
                villages.add(g["village_id"])
    return Scope(role, tuple(sorted(villages)), tuple(sorted(grids)) if role == GRID_WORKER else None)
