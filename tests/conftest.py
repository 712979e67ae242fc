import os
import tempfile

import pytest

# Tests see nefkit's own plugins only, never third-party ones installed on the machine.
os.environ["NEFKIT_LOAD_PLUGINS"] = ""
for variable in ("NEFKIT_DISABLE_PLUGINS", "NEFKIT_STRICT_PLUGINS", "NEFKIT_INSTRUMENTS_PATH"):
    os.environ.pop(variable, None)
# ... and never the settings file of whoever runs them: a folder that is not there holds none.
os.environ.pop("NEFKIT_CONFIG", None)
os.environ["XDG_CONFIG_HOME"] = os.path.join(tempfile.gettempdir(), f"nefkit-tests-{os.getpid()}")


@pytest.fixture
def register_plugin(nefkit_register):
    """nefkit's own tests use the fixture it ships to plugin authors."""
    return nefkit_register
