"""nefkit install / uninstall run pip inside nefkit's own environment."""

import runpy
import sys

import pytest


@pytest.fixture
def pip_calls(monkeypatch):
    calls = []
    monkeypatch.setattr(
        runpy, "run_module", lambda name, run_name: calls.append((name, sys.argv[:]))
    )
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    return calls


def test_install_runs_pip_in_this_environment(nefkit_cli, pip_calls):
    assert nefkit_cli("install", "nefkit-tscore", "-U").exit_code == 0
    assert pip_calls == [("pip", ["pip", "install", "--upgrade", "nefkit-tscore"])]


def test_install_editable(nefkit_cli, pip_calls):
    assert nefkit_cli("install", "-e", "examples/nefkit-tscore").exit_code == 0
    assert pip_calls == [("pip", ["pip", "install", "-e", "examples/nefkit-tscore"])]


def test_uninstall(nefkit_cli, pip_calls):
    assert nefkit_cli("uninstall", "nefkit-tscore", "-y").exit_code == 0
    assert pip_calls == [("pip", ["pip", "uninstall", "nefkit-tscore", "-y"])]


def test_install_needs_a_package(nefkit_cli, pip_calls):
    result = nefkit_cli("install")
    assert result.exit_code == 2 and pip_calls == []


def test_the_real_pip_is_reached():
    import subprocess

    result = subprocess.run(
        [sys.executable, "-m", "nefkit", "uninstall", "nefkit-surely-not-installed", "-y"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0
    assert "nefkit-surely-not-installed" in result.stdout + result.stderr
    assert "not installed" in result.stdout + result.stderr
