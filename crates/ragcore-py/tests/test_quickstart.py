"""The quickstart example runs as a test."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO


def test_quickstart_runs() -> None:
    example = REPO / "crates" / "ragcore-py" / "examples" / "quickstart.py"
    done = subprocess.run(
        [sys.executable, str(example)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "In-stock items ship within 24 hours" in done.stdout
    assert "blocked (blocked)" in done.stdout
