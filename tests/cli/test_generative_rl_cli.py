"""``seqlab generative train|sample|eval`` and ``seqlab rl train|eval`` through Click's test runner."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from seqlab.cli.main import generative, rl
from seqlab.io import save_checkpoint

ROOT = Path(__file__).resolve().parents[2]


def test_generative_train_sample_eval(tmp_path, one_thread):
    out = tmp_path / "vae"
    runner = CliRunner()
    result = runner.invoke(generative, ["train", "--config", str(ROOT / "configs" / "digits_vae.toml"), "--epochs",
                                        "2", "-o", str(out), "--device", "cpu", "--quiet", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["kind"] == "vae" and summary["epochs"] == 2 and (out / "config.toml").exists()
    result = runner.invoke(generative, ["sample", str(out), "-n", "16", "-o", str(tmp_path / "grid.png")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "grid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    result = runner.invoke(generative, ["sample", str(out), "-n", "5", "-o", str(tmp_path / "s.npy")])
    assert np.load(tmp_path / "s.npy").shape == (5, 1, 8, 8)
    result = runner.invoke(generative, ["eval", str(out), "-n", "50", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["noise"]["confident_rate"] == 0.0 and report["model"]["mmd_pixels"] > 0


def test_generative_errors_are_one_line(tmp_path):
    runner = CliRunner()
    result = runner.invoke(generative, ["sample", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "no such model" in result.output
    save_checkpoint({"kind": "vision-model"}, tmp_path / "other.pt")
    result = runner.invoke(generative, ["sample", str(tmp_path / "other.pt")])
    assert result.exit_code == 2 and "other.pt: not a generative model" in result.output
    save_checkpoint({"kind": "generative-model", "config": {"latnet": 2}, "shape": [1, 8, 8], "model": {}},
                    tmp_path / "broken.pt")
    result = runner.invoke(generative, ["sample", str(tmp_path / "broken.pt")])
    assert result.exit_code == 2 and "broken.pt: incompatible generative checkpoint" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(generative, ["train", "--set", "model='flow'", "-o", str(tmp_path / "x")])
    assert result.exit_code == 2 and "model must be one of ae, vae, gan" in result.output
    bad = tmp_path / "bad.toml"
    bad.write_text("[generative]\nlatnet_size = 3\n")
    result = runner.invoke(generative, ["train", "--config", str(bad), "-o", str(tmp_path / "x")])
    assert result.exit_code == 2 and "unknown key 'latnet_size'" in result.output


def test_rl_train_qlearning_and_dqn(tmp_path, one_thread):
    runner = CliRunner()
    result = runner.invoke(rl, ["train", "--config", str(ROOT / "configs" / "gridworld_qlearning.toml"), "-o",
                                str(tmp_path / "q"), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["optimal_share"] == 1.0 and summary["route_return"] == summary["optimal_route_return"]
    result = runner.invoke(rl, ["train", "--config", str(ROOT / "configs" / "cartpole_dqn.toml"), "-o",
                                str(tmp_path / "dqn"), "--set", "total_steps=600", "--set", "eval_every=300",
                                "--set", "learning_starts=200", "--set", "frame_stack=2", "--quiet", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["final_episodes"] == 100
    result = runner.invoke(rl, ["eval", str(tmp_path / "dqn"), "--episodes", "5", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["episodes"] == 5
    result = runner.invoke(rl, ["eval", str(tmp_path / "q")])
    assert result.exit_code == 2 and "not a seqlab DQN model" in result.output
