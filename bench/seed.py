"""What the benchmarks seed, in one place: rows for bulk INSERTs (people, expert profiles,
gigs, offers, fees, check-ins) and the one unit of work that writes them.

Rows are plain dicts with explicit ids, so thousands go in one statement each with no
per-object flushes. Each benchmark keeps its own random draws (the figures stay comparable
from run to run); only the shape of a row lives here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from storage.db import Database
from storage.models import (
    Base,
    CheckInStatus,
    ExpertProfile,
    ExpertStatus,
    FeeStatus,
    FeeType,
    GigStatus,
    OfferStatus,
    Role,
    User,
    profile_masks,
)

TOKEN = "123456789:AA" + "x" * 35
HELSINKI = ZoneInfo("Europe/Helsinki")

COORDINATOR_TG = 100  # the settings the benchmarks make name this id as the coordinator
ORDERER_TG = 200
EXPERT_TG_BASE = 1_000_000  # expert i has Telegram id EXPERT_TG_BASE + i
COORDINATOR_ID, ORDERER_ID, FIRST_EXPERT_ID = 1, 2, 3  # database ids
CHUNK = 5_000  # rows per bulk INSERT

Row = dict[str, Any]


def chunks(rows: Sequence[Row], size: int = CHUNK) -> Iterator[Sequence[Row]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


async def insert_rows(
    db: Database, tables: Sequence[tuple[type[Base], Sequence[Row]]], size: int = CHUNK
) -> dict[str, int]:
    """Bulk-insert each table's rows in order, in one unit of work; rows per table name."""
    counts: dict[str, int] = {}
    async with db.unit_of_work() as s:
        for model, rows in tables:
            for part in chunks(rows, size):
                await s.execute(insert(model), part)
            counts[model.__tablename__] = len(rows)
    return counts


def user_row(
    uid: int, telegram_id: int, role: Role, now: datetime, *, language: str = "fi", name: str = ""
) -> Row:
    return {
        "id": uid,
        "telegram_id": telegram_id,
        "role": role,
        "language": language,
        "name": name or f"user {uid}",
        "active": True,
        "reachable": True,
        "created_at": now,
    }


def staff_rows(now: datetime, *, orderer: bool = True) -> list[Row]:
    """The coordinator and (unless `orderer` is False) one orderer."""
    rows = [user_row(COORDINATOR_ID, COORDINATOR_TG, Role.COORDINATOR, now)]
    if orderer:
        rows.append(user_row(ORDERER_ID, ORDERER_TG, Role.ORDERER, now))
    return rows


def expert_profile(
    uid: int,
    now: datetime,
    contract_until: date,
    *,
    name: str,
    topic: str = "mental_health",
    region: str = "keski_suomi",
    youth: bool = False,
) -> Row:
    """An approved, trained expert who gives talks in Finnish, under contract."""
    row: Row = {
        "user_id": uid,
        "display_name": name,
        "gig_types": ["talk"],
        "topics": [topic],
        "languages": ["fi"],
        "regions": [region],
        "remote_ok": True,
        "audiences": [],
        "notes": "",
        "consent_at": now,
        "updated_at": now,
        "status": ExpertStatus.APPROVED,
        "decided_at": now,
        "decided_by": COORDINATOR_ID,
        "basic_training": True,
        "paikko": False,
        "contract_until": contract_until,
        "youth": youth,
    }
    # A bulk INSERT skips the model's flush hook: the masks ranking filters on, by hand.
    return row | profile_masks(row)


def gig_values(starts_at: datetime, created_at: datetime, **changes: Any) -> Row:
    """A gig every seeded expert fits: a talk on mental health, in Finnish, in Keski-Suomi."""
    values: Row = {
        "orderer_id": ORDERER_ID,
        "status": GigStatus.OPEN,
        "organisation": "Keski-Suomen hyvinvointialue",
        "gig_type": "talk",
        "topics": ["mental_health"],
        "starts_at": starts_at,
        "duration_min": 90,
        "remote": False,
        "place": "Sairaalantie 1, Jyväskylä",
        "region": "keski_suomi",
        "audience": "large",
        "audience_size": 20,
        "seats": 1,
        "seats_filled": 0,
        "language": "fi",
        "fee_cents": 10_000,
        "contact": "Hoitaja Helena, 040 123 4567",
        "notes": "",
        "reject_reason": "",
        "created_at": created_at,
        "decided_at": created_at,
        "decided_by": COORDINATOR_ID,
    }
    values.update(changes)
    return values


def offer_row(gig_id: int, expert_id: int, created_at: datetime, **changes: Any) -> Row:
    """An accepted offer, answered when it was made (change `status` and the times)."""
    values: Row = {
        "gig_id": gig_id,
        "expert_id": expert_id,
        "status": OfferStatus.ACCEPTED,
        "created_at": created_at,
        "answered_at": created_at,
    }
    values.update(changes)
    return values


def fee_row(gig_id: int, expert_id: int, agreed_at: datetime, **changes: Any) -> Row:
    """A fee paid as salary, agreed and not yet paid."""
    values: Row = {
        "gig_id": gig_id,
        "expert_id": expert_id,
        "fee_type": FeeType.PALKKIO,
        "amount_cents": 10_000,
        "status": FeeStatus.AGREED,
        "agreed_at": agreed_at,
    }
    values.update(changes)
    return values


def checkin_row(
    kind: str, expert_id: int, due_at: datetime, created_at: datetime, **changes: Any
) -> Row:
    """A check-in waiting for its time (change `status`, `offer_id` and the rest)."""
    values: Row = {
        "kind": kind,
        "expert_id": expert_id,
        "due_at": due_at,
        "status": CheckInStatus.SCHEDULED,
        "created_at": created_at,
    }
    values.update(changes)
    return values


async def seed_people(db: Database, experts: int) -> list[int]:
    """A coordinator, an orderer and `experts` approved experts; returns the experts' ids."""
    now = datetime.now(UTC)
    contract = date.today() + timedelta(days=3 * 365)
    users = staff_rows(now)
    profiles: list[Row] = []
    for i in range(experts):
        uid = FIRST_EXPERT_ID + i
        users.append(user_row(uid, EXPERT_TG_BASE + i, Role.EXPERT, now))
        profiles.append(expert_profile(uid, now, contract, name=f"Asiantuntija {i + 1}"))
    await insert_rows(db, [(User, users), (ExpertProfile, profiles)])
    return [p["user_id"] for p in profiles]
