"""What seqlab.io promises about outputs: a failed write (a full disk) is one error naming the path that
leaves the previous file and no temporary; an unwritable place is refused before any work; a second
run writing the same output is refused while the first holds it, and a killed run blocks nothing."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from seqlab.errors import DataError
from seqlab.io import atomic_open, check_writable, claim_output, load_checkpoint, save_checkpoint


def _full_disk(monkeypatch, after: int = 10):
    """Make writes fail with ENOSPC once ``after`` bytes have gone to a file opened for writing."""
    real_open = open

    class Full:
        def __init__(self, fh):
            self.fh, self.written = fh, 0

        def write(self, data):
            self.written += len(data)
            if self.written > after:
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.fh.write(data)

        def __getattr__(self, name):
            return getattr(self.fh, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

    def fake_open(file, mode="r", *args, **kwargs):
        fh = real_open(file, mode, *args, **kwargs)
        return Full(fh) if "w" in mode and str(file).endswith(".tmp") else fh

    monkeypatch.setattr("builtins.open", fake_open)


def test_a_full_disk_leaves_the_previous_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "last.safetensors"
    save_checkpoint({"kind": "k", "w": torch.ones(3)}, path)
    before = path.read_bytes()
    _full_disk(monkeypatch)
    with pytest.raises(DataError, match=r"last.safetensors: cannot write \(No space left on device\)"):
        save_checkpoint({"kind": "k", "w": torch.zeros(1000)}, path)
    with pytest.raises(DataError, match=r"out.txt: cannot write \(No space left on device\)"):
        with atomic_open(tmp_path / "out.txt") as fh:
            fh.write("x" * 100)
    monkeypatch.undo()
    assert path.read_bytes() == before and torch.equal(load_checkpoint(path)["w"], torch.ones(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.safetensors"]


def test_unwritable_places_are_refused_before_the_work(tmp_path):
    with pytest.raises(DataError, match=r"/proc/x.bin: cannot write there"):
        check_writable("/proc/x.bin")
    with pytest.raises(DataError, match="is a directory; give a file name"):
        check_writable(tmp_path)
    (tmp_path / "f").write_text("")
    with pytest.raises(DataError, match="is a file; give a directory"):
        check_writable(tmp_path / "f", directory=True)
    assert check_writable(tmp_path / "new" / "deep" / "v.bin") == tmp_path / "new" / "deep" / "v.bin"
    assert (tmp_path / "new" / "deep").is_dir() and not list((tmp_path / "new" / "deep").iterdir())


def test_a_second_writer_is_refused_and_the_lock_goes_with_the_run(tmp_path):
    out = tmp_path / "run"
    with claim_output(out, directory=True):
        assert (tmp_path / "run.lock").read_text().strip() == str(os.getpid())
        with pytest.raises(DataError, match=rf"run: another seqlab run \(PID {os.getpid()}\) is writing it"):
            with claim_output(out, directory=True):
                pass
    assert not (tmp_path / "run.lock").exists()
    with claim_output(out, directory=True):  # free again
        pass


def test_a_killed_run_leaves_no_lock_and_its_temporaries_are_cleaned(tmp_path):
    out = tmp_path / "v.bin"
    code = ("import sys, time; from seqlab.io import claim_output\n"
            f"with claim_output({str(out)!r}):\n"
            f"    open({str(out) + '.tmp'!r}, 'w').write('half'); open({str(out) + '.ckpt.tmp'!r}, 'w').write('h')\n"
            "    print('held', flush=True); time.sleep(60)\n")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(DataError, match=rf"PID {holder.pid}\) is writing it"):
            with claim_output(out):
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert (tmp_path / "v.bin.tmp").exists() and (tmp_path / "v.bin.lock").exists()  # what a kill leaves
    with claim_output(out):
        assert not (tmp_path / "v.bin.tmp").exists() and not (tmp_path / "v.bin.ckpt.tmp").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_ddp_worker_takes_no_lock(tmp_path, monkeypatch):
    with claim_output(tmp_path / "run", directory=True):
        monkeypatch.setenv("RANK", "1")
        with claim_output(tmp_path / "run", directory=True):  # rank 1 writes nothing, so it needs no lock
            pass


def test_stdout_that_cannot_be_written_is_one_line(tmp_path):
    """``seqlab bleu ... > /dev/full`` and ``... | head``: no traceback."""
    hyp = tmp_path / "h.txt"
    hyp.write_text("the cat sat on the mat\n")
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    command = [sys.executable, "-m", "seqlab.cli.main", "bleu", str(hyp), str(hyp)]
    with open("/dev/full", "w") as full:
        done = subprocess.run(command, stdout=full, stderr=subprocess.PIPE, text=True, env=env, timeout=120)
    assert done.returncode == 2 and done.stderr == "seqlab: error: cannot write the output (No space left on device)\n"
    reader = subprocess.Popen(command + ["--sentence"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env)
    reader.stdout.close()  # the reader goes away before the output comes
    time.sleep(0.1)
    assert reader.wait(timeout=120) in (0, 141) and "Traceback" not in reader.stderr.read()
    assert Path(hyp).read_text() == "the cat sat on the mat\n"
