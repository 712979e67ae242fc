"""The helpers nefkit ships to plugin authors through its pytest11 entry point."""

import pytest

import nefkit
from nefkit.plugins import host
from nefkit.testing import assert_scores


def test_assert_scores_passes_on_agreeing_cases_and_names_every_mismatch():
    assert_scores("gad-7", [{"fill": 1, "expected": {"total": 7, "severity": "Mild"}}])
    with pytest.raises(AssertionError) as failure:
        assert_scores(
            "gad-7",
            [
                {"label": "wrong total", "fill": 1, "expected": {"total": 8}},
                {"label": "wrong flag", "fill": 0, "expected": {"nosuch": 1}},
            ],
        )
    message = str(failure.value)
    assert "wrong total: total is 7, expected 8" in message
    assert "wrong flag: expects a score 'nosuch' that the instrument does not have" in message


def test_assert_scores_takes_a_definitions_own_examples():
    instrument = nefkit.get_registry().instrument("neq-20")
    assert_scores(instrument, instrument.examples)


def test_nefkit_register_unregisters_after_the_test(nefkit_register):
    class Plugin:
        @nefkit.hookimpl
        def register_templates(self, register):
            pass

    nefkit_register(Plugin(), name="helper-check")
    assert host.pm.has_plugin("helper-check")


def test_the_plugin_registered_above_is_gone():
    assert not host.pm.has_plugin("helper-check")


def test_nefkit_cli_runs_commands_in_process(nefkit_cli):
    result = nefkit_cli("show", "gad-7")
    assert result.exit_code == 0
    assert "Generalized Anxiety Disorder" in result.output
