"""Fixed choices. Codes are stored; labels live in the catalogs under the named prefix.

The lists live in `storage.vocab` (the database keeps bit masks over them, see there); this
module is where the rest of the bot reads them.
"""

from __future__ import annotations

from storage.vocab import AUDIENCES, GIG_TYPES, LANGS, REGIONS, TOPICS

# Especially heavy themes an order can name (the order form's buttons; a free line besides).
# Only stored on the gig as codes, never as a mask: order free to change.
CONTENT_THEMES = ("suicide", "self_harm", "violence", "sexual_violence", "recent_death", "other")

__all__ = ["AUDIENCES", "CONTENT_THEMES", "GIG_TYPES", "LANGS", "REGIONS", "TOPICS"]
