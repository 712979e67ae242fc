"""A variant registered in-process with ``nefkit_register``: here a service's local norms for
the same items, as a second plugin would ship them, registered for one test only.

The installed plugin is loaded from its entry point as usual; its module is not passed to
``nefkit_register`` again (the same module cannot be registered twice).
"""

import warnings

import nefkit
import pytest
from nefkit import PluginWarning
from nefkit.testing import assert_scores


def local_norms() -> nefkit.Instrument:
    """wellbeing-5 with another (equally invented) table: T = 20 + 3 x raw, and its bands."""
    data = nefkit.get_registry().instrument("wellbeing-5").model_dump()
    data["id"] = "wellbeing-5-local"
    data["examples"] = []
    for score in data["scores"]:
        if score["id"] == "t":
            score["params"]["table"] = [{"raw": r, "t": 20 + 3 * r} for r in range(21)]
        if score["id"] == "band":
            score["params"]["bands"] = [
                {"min": 20, "max": 39, "label": "Low"},
                {"min": 40, "max": 59, "label": "Average"},
                {"min": 60, "max": 80, "label": "High"},
            ]
    return nefkit.Instrument.model_validate(data)


class LocalNorms:
    """A plugin is any object (or module) with @nefkit.hookimpl functions. Its instrument is
    built beforehand: a hook must never call get_registry(), which calls the hooks."""

    def __init__(self, instrument: nefkit.Instrument):
        self.instrument = instrument

    @nefkit.hookimpl
    def register_instruments(self, register):
        register(self.instrument)


def test_a_variant_registered_in_process(nefkit_register):
    plugin = LocalNorms(local_norms())
    nefkit_register(plugin, name="local-norms", distribution="clinic-norms", version="1.0")
    with warnings.catch_warnings():
        warnings.simplefilter("error", PluginWarning)  # a broken registration fails the test
        registry = nefkit.get_registry()
    entry = registry.instruments["wellbeing-5-local"]
    assert entry.origin == "clinic-norms 1.0 (plugin local-norms)"
    assert registry.instruments["wellbeing-5"].origin == "nefkit-tscore 0.1.0 (plugin tscore)"
    assert_scores(
        entry.value,
        [
            {"fill": 0, "expected": {"t": 20, "band": "Low"}},
            {"fill": 4, "expected": {"t": 80, "band": "High"}},
            {"answers": {"wb1": 3, "wb2": 3, "wb3": 2, "wb4": 2}, "expected": {"t": 59}},
        ],
    )


def test_the_variant_is_gone_after_its_test():
    with pytest.raises(nefkit.NefkitError, match="unknown instrument 'wellbeing-5-local'"):
        nefkit.get_registry().instrument("wellbeing-5-local")


def test_bands_that_miss_the_new_range_would_be_one_warning(nefkit_register, monkeypatch):
    monkeypatch.delenv("NEFKIT_STRICT_PLUGINS", raising=False)  # strict: an error instead
    data = local_norms().model_dump()
    data["scores"][2]["params"]["bands"][-1]["max"] = 73  # the old top: 74-80 left uncovered
    sloppy = LocalNorms(nefkit.Instrument.model_validate(data))
    nefkit_register(sloppy, name="sloppy", distribution="clinic-sloppy", version="0.1")
    with pytest.warns(PluginWarning, match="clinic-sloppy 0.1 .* registered an invalid instrument"):
        registry = nefkit.get_registry()
    assert "wellbeing-5-local" not in registry.instruments
    assert "wellbeing-5" in registry.instruments  # the rest carries on
