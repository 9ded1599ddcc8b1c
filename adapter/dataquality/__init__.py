"""The local data quality report (spec section 6, IA-DQ-01 … IA-DQ-05): the library interface.

``assess_source`` reads one configured source, maps each record and passes it through the
policy gate exactly as a feed would (nothing is queued or written to the store), and measures
completeness, validity, internal consistency, usefulness and likely duplicates against the
thresholds in ``config.quality``. ``assess`` does it for every enabled source (or ``names``).
Instance accreditation calls these; ``cpadapter dq report`` renders the result as HTML + JSON.

Types: :mod:`adapter.dataquality.model`. Thresholds: :class:`adapter.config.QualityConfig`.
"""

from __future__ import annotations

from adapter.dataquality.assess import assess, assess_source
from adapter.dataquality.model import (
    CHECK_IDS,
    DuplicatePair,
    FailingRow,
    ItemFigure,
    QualityCheck,
    QualityReport,
    SourceQuality,
    Verdict,
)

__all__ = [
    "CHECK_IDS",
    "DuplicatePair",
    "FailingRow",
    "ItemFigure",
    "QualityCheck",
    "QualityReport",
    "SourceQuality",
    "Verdict",
    "assess",
    "assess_source",
]
