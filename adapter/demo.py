"""``make demo``: the main job on the embedded default.

Until the end-to-end pipeline exists (issue 6), the demo checks the bundled example batch
against the LDI 1.0 contract and the committed config.yaml, and says what it did.
"""

from __future__ import annotations

import sys
from pathlib import Path

from adapter.config import config_problems
from ldi.schema import xsd_path
from ldi.validation import check_document


def main() -> int:
    """Validate config.yaml and the golden example batch; exit non-zero on any problem."""
    example = xsd_path().parent / "examples" / "golden-batch.xml"
    check = check_document(example.read_bytes(), source=str(example))
    print(f"1. Checked the example batch {example.name} against the LDI 1.0 XSD and BR-01..BR-08:")
    print(
        f"   schema valid: {check.schema_valid}; records: {check.record_count}; held: {check.held}"
    )
    config, problems = config_problems(Path("config.yaml"))
    print("2. Checked config.yaml:", "OK" if config else "; ".join(problems))
    print("   (The end-to-end demo, sources -> reference hub, arrives with issue 6.)")
    return 0 if check.schema_valid and check.held == 0 and config else 1


if __name__ == "__main__":
    sys.exit(main())
