"""--config NAME finds the presets shipped in the package from any directory; an unknown name lists them."""

from __future__ import annotations

import pytest

from seqlab.config import build_config, preset_path
from seqlab.errors import ConfigError
from seqlab.shipped import config_file
from seqlab.vision.train import SECTION, VisionConfig


@pytest.mark.parametrize("name", ["digits_lenet", "digits_lenet.toml"])
def test_a_bare_name_is_the_shipped_preset_from_any_directory(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert preset_path(name) == config_file("digits_lenet.toml")
    assert build_config(VisionConfig, name, SECTION) == build_config(VisionConfig, config_file("digits_lenet.toml"),
                                                                     SECTION)


def test_a_file_here_wins_and_an_unknown_name_lists_the_presets(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "digits_lenet.toml").write_text("[vision]\nepochs = 3\n")
    assert build_config(VisionConfig, "digits_lenet.toml", SECTION).epochs == 3
    with pytest.raises(ConfigError, match=r"nope: no such config file \(nor a preset of that name: see .*digits_lenet"):
        build_config(VisionConfig, "nope", SECTION)
    with pytest.raises(ConfigError, match="sub/digits_lenet: no such config file"):  # a path is never a preset
        build_config(VisionConfig, "sub/digits_lenet", SECTION)
