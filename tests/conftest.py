import os

import pytest

# Tests see nefkit's own plugins only, never third-party ones installed on the machine.
os.environ["NEFKIT_LOAD_PLUGINS"] = ""
for variable in ("NEFKIT_DISABLE_PLUGINS", "NEFKIT_STRICT_PLUGINS", "NEFKIT_INSTRUMENTS_PATH"):
    os.environ.pop(variable, None)

from nefkit.plugins import PluginInfo, host  # noqa: E402


@pytest.fixture
def register_plugin():
    """Register plugin objects for one test; they are always unregistered afterwards."""
    names: list[str] = []

    def register(
        plugin, name: str = "test-plugin", distribution: str = "nefkit-test", version="0.1"
    ):
        host.load()
        host.register(plugin, PluginInfo(name, distribution, version, builtin=False))
        names.append(name)
        return plugin

    try:
        yield register
    finally:
        for name in names:
            host.unregister(name)
