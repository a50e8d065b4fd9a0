"""Summarise DAISY Ace's report.json for `make check`: one line per violation; exit 1 if any."""

import json
import sys
from pathlib import Path

report = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
violations = [(subject["earl:testSubject"]["url"], test["earl:test"]["dct:title"],
               test["earl:test"].get("earl:impact", ""))
              for subject in report["assertions"] for test in subject.get("assertions", [])]
for url, title, impact in violations:
    print(f"{url}: {impact}: {title}")
print(f"ace: {len(violations)} violation(s)")
sys.exit(1 if violations else 0)
