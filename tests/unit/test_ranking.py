"""The fair rotation's rules over plain values: no database, no Telegram."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from bot.services.dispatch.ranking import (
    Ranked,
    Rotation,
    by_rotation,
    figures,
    next_wave,
    order_key,
    pickable,
    rotation_key,
    rotation_order,
    rotation_stats,
)
from storage.models import OfferStatus

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def ranked(*ids: int) -> list[Ranked]:
    return [Ranked(uid, f"expert {uid}", place, 0) for place, uid in enumerate(ids, start=1)]


def ids(people: list[Ranked]) -> list[int]:
    return [r.expert_id for r in people]


def test_fewer_gigs_come_first_whatever_the_hours_or_dates() -> None:
    stats = {
        1: Rotation(2, 60, NOW - timedelta(days=80)),
        2: Rotation(1, 600, NOW - timedelta(days=1)),
        3: Rotation(3, 0, None),
    }
    assert rotation_order(stats) == [2, 1, 3]


def test_with_as_many_gigs_fewer_hours_come_first() -> None:
    stats = {1: Rotation(2, 240, None), 2: Rotation(2, 90, NOW - timedelta(days=1))}
    assert rotation_order(stats) == [2, 1]


def test_then_the_longest_since_the_last_gig_and_never_had_one_is_first() -> None:
    stats = {
        1: Rotation(1, 60, NOW - timedelta(days=3)),
        2: Rotation(1, 60, NOW - timedelta(days=200)),
        3: Rotation(1, 60, None),
    }
    assert rotation_order(stats) == [3, 2, 1]


def test_a_full_tie_goes_to_the_earlier_registration() -> None:
    same = Rotation(1, 60, NOW - timedelta(days=5))
    assert rotation_order({9: same, 4: same, 7: same}) == [4, 7, 9]


def test_the_key_orders_as_the_rotation_does() -> None:
    never = rotation_key(0, 0, None, 5)
    long_ago = rotation_key(0, 0, NOW - timedelta(days=400), 1)
    assert never < long_ago < rotation_key(0, 0, NOW, 1) < rotation_key(0, 1, None, 1)


def test_a_ranking_sorts_its_rows_as_the_rotation_orders_them() -> None:
    """`by_rotation` (one integer key per row, as the SELECT gives it) and the rotation's
    rules are one order: many ties on gigs and hours, nobody-yet and the same last gig, as a
    real register has, and rows in any order."""
    rng = random.Random(7)
    lasts = [None, NOW, NOW - timedelta(days=1), NOW - timedelta(days=1, seconds=1)]
    lasts.append(datetime(1999, 12, 31, tzinfo=UTC))  # before the key's epoch: still "had one"
    facts = {}
    for uid in rng.sample(range(1, 5000), 600):
        facts[uid] = (rng.randint(0, 2), rng.choice([0, 60, 90]), rng.choice(lasts))
    rows = [(uid, f"e{uid}", None, None, order_key(*f)) for uid, f in facts.items()]
    by_rotation(rows)

    def by_the_rules(uid: int) -> tuple[object, ...]:
        gigs, minutes, last = facts[uid]
        # Never had one: first; then the earlier the last gig, the longer the wait.
        return (gigs, minutes, last is not None, last or NOW, uid)

    assert [r[0] for r in rows] == sorted(facts, key=by_the_rules)


def test_the_key_gives_back_the_figures_it_was_made_of() -> None:
    for gigs, minutes, last in [
        (0, 0, None),
        (3, 270, NOW - timedelta(days=12)),
        (1023, (1 << 20) - 1, datetime(2272, 1, 1, tzinfo=UTC)),
        (1, 60, datetime(2000, 1, 1, tzinfo=UTC)),
    ]:
        r = Ranked(1, "e", 1, order_key(gigs, minutes, last))
        assert (r.gigs_90d, r.minutes_90d, r.last_gig) == (gigs, minutes, last)


def test_figures_past_the_keys_widths_count_as_the_largest_and_stay_in_order() -> None:
    top = order_key(5000, 10**7, datetime(2300, 1, 1, tzinfo=UTC))
    assert top == (1 << 63) - 1  # fits a signed 64-bit column
    assert order_key(1023, 0, None) < top
    assert order_key(1022, (1 << 20) - 1, NOW) < order_key(1023, 0, None)


def test_somebody_without_gigs_has_zeros_and_no_last_gig() -> None:
    last = NOW - timedelta(days=100)
    stats = rotation_stats([1, 2], {1: (2, 150)}, {1: last, 3: NOW})
    assert stats == {1: Rotation(2, 150, last), 2: Rotation(0, 0, None)}
    # A newcomer goes before somebody who has worked, and nobody else is ranked.
    assert rotation_order(stats) == [2, 1]


def test_a_broadcast_asks_everyone_not_asked_yet() -> None:
    people = ranked(1, 2, 3, 4, 5, 6)
    states = {
        1: OfferStatus.DECLINED,
        2: OfferStatus.OPEN,
        3: OfferStatus.ACCEPTED,
        4: OfferStatus.CLOSED,
    }
    assert ids(next_wave(people, states, "broadcast", 1)) == [4, 5, 6]


def test_a_no_is_never_asked_again() -> None:
    people = ranked(1, 2, 3, 4, 5)
    states = {
        1: OfferStatus.DECLINED,
        2: OfferStatus.WITHDRAWN,
        3: OfferStatus.EXPIRED,
        4: OfferStatus.CANCELLED,
    }
    assert ids(next_wave(people, states, "broadcast", 3)) == [5]


def test_a_cascade_keeps_k_offers_open_in_rotation_order() -> None:
    people = ranked(1, 2, 3, 4, 5)
    assert ids(next_wave(people, {}, "cascade", 2)) == [1, 2]
    # One declined, one still waiting: one more is asked, the next in order.
    states = {1: OfferStatus.DECLINED, 2: OfferStatus.OPEN}
    assert ids(next_wave(people, states, "cascade", 2)) == [3]
    # As many waiting as the cascade allows: nobody new.
    full = {1: OfferStatus.OPEN, 2: OfferStatus.OPEN}
    assert next_wave(people, full, "cascade", 2) == []


def test_a_hand_pick_reaches_only_the_eligible_once_each() -> None:
    people = ranked(1, 2, 3, 4)
    states = {2: OfferStatus.DECLINED, 3: OfferStatus.CLOSED, 4: OfferStatus.OPEN}
    # 9 is not eligible, 2 said no, 4 is already asked; 3's offer closed when the gig filled.
    assert ids(pickable(people, states, [3, 9, 1, 2, 3, 4])) == [3, 1]


def test_the_kept_figures_count_a_gig_from_its_start_for_90_days_and_say_until_when() -> None:
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    day = timedelta(days=1)
    held, old, ahead = now - 10 * day, now - 200 * day, now + 3 * day
    assert figures([], now) == (Rotation(0, 0, None), None)
    # Held 10 days ago: counts, and leaves the window in 80 days; one ahead counts from its
    # start, which comes first; one 200 days old is only the last gig if nothing is later.
    assert figures([(held, 90), (old, 60), (ahead, 120)], now) == (
        Rotation(1, 90, held),
        ahead,
    )
    assert figures([(old, 60)], now) == (Rotation(0, 0, old), None)
    assert figures([(held, 90)], now) == (Rotation(1, 90, held), held + 90 * day)
    # At its very start a gig has not been held yet; exactly 90 days on it still counts.
    assert figures([(now, 60)], now) == (Rotation(0, 0, None), now)
    assert figures([(now - 90 * day, 60)], now)[0] == Rotation(1, 60, now - 90 * day)
    assert figures([(now - 90 * day - timedelta(seconds=1), 60)], now)[0].gigs == 0
