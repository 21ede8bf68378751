import hashlib
import os

import pytest
import torch

from textclf import files, settings, training


@pytest.mark.parametrize("value,quick", [("1", True), ("true", True), ("YES", True), ("0", False), ("", False), ("off", False)])
def test_quick_mode_reads_the_environment(monkeypatch, value, quick):
    monkeypatch.setenv("TEXTCLF_QUICK", value)
    assert settings.quick_mode() is quick


def test_data_dir_defaults_to_the_project_and_can_move(monkeypatch, tmp_path):
    monkeypatch.delenv("TEXTCLF_DATA_DIR", raising=False)
    assert settings.data_dir() == settings.PROJECT_ROOT / "data"
    monkeypatch.setenv("TEXTCLF_DATA_DIR", str(tmp_path))
    assert settings.data_dir() == tmp_path


def test_mirror_dirs_are_a_path_list(monkeypatch, tmp_path):
    monkeypatch.setenv("TEXTCLF_DATA_MIRROR", f"{tmp_path / 'a'}{os.pathsep}{tmp_path / 'b'}{os.pathsep}")
    assert settings.mirror_dirs() == [tmp_path / "a", tmp_path / "b"]
    monkeypatch.delenv("TEXTCLF_DATA_MIRROR")
    assert settings.mirror_dirs() == []


def test_file_checksum(tmp_path):
    (tmp_path / "x").write_bytes(b"abc")
    assert files.file_checksum(tmp_path / "x") == hashlib.sha256(b"abc").hexdigest()
    assert files.file_checksum(tmp_path / "x", "md5") == hashlib.md5(b"abc").hexdigest()


def test_device_helpers_on_this_machine():
    device = training.pick_device()
    assert device.type in {"cpu", "cuda", "mps"}
    assert training.describe_device(torch.device("cpu")).startswith("cpu (")


def test_logits_to_probabilities():
    binary = training.logits_to_probabilities(torch.tensor([[0.0], [100.0]]))
    assert torch.allclose(binary, torch.tensor([[0.5, 0.5], [0.0, 1.0]]))
    multi = training.logits_to_probabilities(torch.zeros(2, 4))
    assert torch.allclose(multi, torch.full((2, 4), 0.25))


def test_full_or_quick_picks_by_mode_and_checks_its_arguments(monkeypatch):
    monkeypatch.delenv("TEXTCLF_QUICK", raising=False)
    assert settings.full_or_quick(5000, 100) == 5000
    monkeypatch.setenv("TEXTCLF_QUICK", "1")
    assert settings.full_or_quick(5000, 100) == 100
    with pytest.raises(ValueError, match="quick must be at least 1, got 0"):
        settings.full_or_quick(5000, 0)
