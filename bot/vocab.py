"""Fixed choices. Codes are stored; labels live in the catalogs under the named prefix.

The lists live in `storage.vocab` (the database keeps bit masks over them, see there); this
module is where the rest of the bot reads them.
"""

from __future__ import annotations

from storage.vocab import AUDIENCES, GIG_TYPES, LANGS, REGIONS, TOPICS

__all__ = ["AUDIENCES", "GIG_TYPES", "LANGS", "REGIONS", "TOPICS"]
