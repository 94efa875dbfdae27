"""The method conformance table: every registered method x every check of tests/test_method_conformance.py.

Runs that test file (with this checkout's ``src/`` first on the path) and prints a Markdown table: ``pass``,
``FAIL``, or ``skip`` with the reason's first words (a method whose optional extra is missing, a check that does
not apply). Usage: ``python tools/conformance_table.py [extra pytest arguments]``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST = "tests/test_method_conformance.py"


def results(xml_path: Path, methods: list[str]) -> dict[tuple[str, str], str]:
    """(method, check) -> outcome, from a junit XML report; several cases of one check fold into the worst."""
    table: dict[tuple[str, str], str] = {}
    for case in ET.parse(xml_path).getroot().iter("testcase"):
        name = case.get("name", "")
        check, _, params = name.removeprefix("test_").partition("[")  # the method is the last parameter
        method = next((m for m in sorted(methods, key=len, reverse=True) if params.rstrip("]").endswith(m)), None)
        if method is None:
            continue
        if case.find("failure") is not None or case.find("error") is not None:
            outcome = "FAIL"
        elif (skipped := case.find("skipped")) is not None:
            reason = (skipped.get("message") or "").split(": ", 1)[-1]
            outcome = "n/a (deterministic)" if reason.endswith("is deterministic") else f"skip: {reason[:60]}"
        else:
            outcome = "pass"
        before = table.get((method, check))
        table[(method, check)] = outcome if before in (None, "pass") else before
    return table


def main(argv: list[str]) -> int:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT / "tests"),
                                                          os.environ.get("PYTHONPATH", "")])}
    sys.path[:0] = [str(ROOT / "src")]
    from colorbench.methods import method_names

    methods = method_names()
    with tempfile.TemporaryDirectory() as tmp:
        xml_path = Path(tmp) / "conformance.xml"
        subprocess.run([sys.executable, "-m", "pytest", "-q", TEST, f"--junitxml={xml_path}", "-p", "no:cacheprovider",
                        *argv], cwd=ROOT, env=env, check=False, stdout=subprocess.DEVNULL)
        table = results(xml_path, methods)
    checks = list(dict.fromkeys(check for _, check in table))
    print("| method | " + " | ".join(c.replace("_", " ") for c in checks) + " |")
    print("|---" * (len(checks) + 1) + "|")
    for method in methods:
        print(f"| {method} | " + " | ".join(table.get((method, c), "—") for c in checks) + " |")
    return 1 if any(v == "FAIL" for v in table.values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
