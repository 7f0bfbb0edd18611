"""Fixed choices. Codes are stored; labels live in the catalogs under the named prefix.

Each list's order is also stored: an expert profile keeps a bit mask per list (bit i is the
list's i-th code) so ranking can filter 10,000 experts in SQL without decoding JSON. Add new
codes at the END of a list, never reorder or remove one (a migration would have to rewrite
the masks).
"""

from __future__ import annotations

GIG_TYPES = (
    "talk",
    "peer_reception",
    "pair_work",
    "workgroup",
    "management",
    "recruitment",
    "group",
    "observation",
    "school",
    "fair",
    "media",
    "other",
)

TOPICS = (
    "mental_health",
    "substance_use",
    "gambling",
    "child_welfare",
    "chronic_illness",
    "disability",
    "loss",
    "violence",
    "homelessness",
    "relative",
)

REGIONS = (
    "uusimaa",
    "varsinais_suomi",
    "satakunta",
    "kanta_hame",
    "pirkanmaa",
    "paijat_hame",
    "kymenlaakso",
    "etela_karjala",
    "etela_savo",
    "pohjois_savo",
    "pohjois_karjala",
    "keski_suomi",
    "etela_pohjanmaa",
    "pohjanmaa",
    "keski_pohjanmaa",
    "pohjois_pohjanmaa",
    "kainuu",
    "lappi",
    "ahvenanmaa",
)

AUDIENCES = ("large", "small_group", "one_to_one")

LANGS = ("fi", "sv", "en")


# A code outside the list (an old or hand-edited row) still makes the mask non-empty.
OTHER_BIT = 1 << 30
KINDS = {
    "gig_types": GIG_TYPES,
    "topics": TOPICS,
    "languages": LANGS,
    "regions": REGIONS,
    "audiences": AUDIENCES,
}
_BITS = {kind: {code: 1 << i for i, code in enumerate(codes)} for kind, codes in KINDS.items()}


def mask(kind: str, codes: object) -> int:
    """The bit mask of `codes` (a list of one kind's codes; anything else counts as none)."""
    bits = _BITS[kind]
    out = 0
    for code in codes if isinstance(codes, list | tuple) else ():
        out |= bits.get(code, OTHER_BIT)
    return out


def known(kind: str, code: str) -> bool:
    return code in _BITS[kind]


# An expert's weekly pattern (/availability): three parts of each day, by the local hour a gig
# starts at, [start, end). A gig starting outside them (22-6) is not held back by the pattern.
SLOTS = ("morning", "afternoon", "evening")
SLOT_HOURS = ((6, 12), (12, 17), (17, 22))
WEEK_SLOTS = 7 * len(SLOTS)


def slot_of(hour: int) -> int | None:
    """The slot (index in SLOTS) a local hour falls in, or None outside them."""
    for index, (start, end) in enumerate(SLOT_HOURS):
        if start <= hour < end:
            return index
    return None


def slot_bit(weekday: int, hour: int) -> int:
    """The pattern's bit for a gig starting on this weekday (Monday 0) at this local hour; 0
    when the hour is outside every slot."""
    slot = slot_of(hour)
    return 0 if slot is None else 1 << (weekday * len(SLOTS) + slot)
