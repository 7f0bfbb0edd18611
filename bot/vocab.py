"""Fixed choices. Codes are stored; labels live in the catalogs under the named prefix."""

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
