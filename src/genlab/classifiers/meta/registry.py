"""Meta-learners in :data:`genlab.trainable.FAMILIES` (config ``family.name``)."""

from __future__ import annotations

from genlab.trainable import FAMILIES  # noqa: F401  (entries are registered below as they land)
