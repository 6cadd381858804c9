"""benchmarks/device_all.py (issue 26), the one script that measures every GPU figure, runs end to end:
with --smoke every step runs on the CPU at toy sizes and the summary names each one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"


def test_device_script_smoke_runs_every_step(tmp_path):
    done = subprocess.run([sys.executable, "benchmarks/device_all.py", "--smoke", "--out", str(tmp_path)], cwd=REPO,
                          capture_output=True, text=True, timeout=900)
    summary = json.loads((tmp_path / "summary.json").read_text())
    statuses = {step["step"]: step["status"] for step in summary["steps"]}
    assert list(statuses) == ["gpu_tests", "word2vec", "glove", "bleu", "significance", "rnn_kernels", "seq2seq"]
    for step in summary["steps"]:
        assert step["status"] == "ok" or (step["status"] == "skipped" and not SHARED.is_dir()), (step, done.stdout)
        assert (tmp_path / f"{step['step']}.log").exists() or step["status"] == "skipped"
    assert done.returncode == 0, done.stdout + done.stderr
    report = (tmp_path / "summary.md").read_text()
    assert "| word2vec | ok |" in report or not SHARED.is_dir()
    words = (tmp_path / "word2vec.log").read_text() if SHARED.is_dir() else ""
    assert "gensim" in words or not SHARED.is_dir()
