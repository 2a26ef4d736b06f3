"""The upload RSS bench still runs (on a small upload; the 1 GiB run is
for bench/ by hand)."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_upload_rss_bench_small():
    child = subprocess.run(
        [sys.executable, os.path.join(ROOT, "bench", "upload_rss.py"), "--size", str(4 << 20)],
        capture_output=True, text=True, timeout=120,
        env=dict(os.environ, PYTHONPATH=ROOT))
    assert child.returncode == 0, child.stdout + child.stderr
    assert "result" in child.stdout and "PASS" in child.stdout


def test_form_memory_bench():
    """bench/form_memory.py (issue 12's memory cases) runs and meets its
    targets; it takes a few seconds, the bodies are refused early or
    spooled."""
    child = subprocess.run(
        [sys.executable, os.path.join(ROOT, "bench", "form_memory.py")],
        capture_output=True, text=True, timeout=300,
        env=dict(os.environ, PYTHONPATH=ROOT))
    assert child.returncode == 0, child.stdout + child.stderr
    assert child.stdout.count("PASS") == 4, child.stdout
