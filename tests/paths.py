"""Where the suite's own data lives: everything a test reads is inside the repository."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
FIXTURES = ROOT / "tests" / "fixtures"
OPENLINEAGE_EVENTS = FIXTURES / "openlineage" / "events"  # see tests/fixtures/openlineage/README.md
