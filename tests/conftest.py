import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Tests see nefkit's own plugins only, never third-party ones installed on the machine.
os.environ["NEFKIT_LOAD_PLUGINS"] = ""
for variable in ("NEFKIT_DISABLE_PLUGINS", "NEFKIT_STRICT_PLUGINS", "NEFKIT_INSTRUMENTS_PATH"):
    os.environ.pop(variable, None)
# ... and never the settings file, clinic database or definitions cache of whoever runs them: a
# folder that is not there holds none.
os.environ.pop("NEFKIT_CONFIG", None)
os.environ.pop("NEFKIT_DB", None)
_ISOLATED = os.path.join(tempfile.gettempdir(), f"nefkit-tests-{os.getpid()}")
os.environ["XDG_CONFIG_HOME"] = _ISOLATED
os.environ["XDG_DATA_HOME"] = os.path.join(_ISOLATED, "data")
os.environ["XDG_CACHE_HOME"] = os.path.join(_ISOLATED, "cache")
atexit.register(shutil.rmtree, _ISOLATED, ignore_errors=True)  # the cache is made there


@pytest.fixture
def register_plugin(nefkit_register):
    """nefkit's own tests use the fixture it ships to plugin authors."""
    return nefkit_register


@pytest.fixture
def make_clinic_db(nefkit_cli):
    """Makes a clinic database as a user does, with ``nefkit db init PATH``: no other command
    creates one at a path it is given."""

    def make(path: Path) -> Path:
        made = nefkit_cli("db", "init", path)
        assert made.exit_code == 0, made.output
        return path

    return make


@pytest.fixture
def clinic_db(make_clinic_db, tmp_path, monkeypatch) -> Path:
    """A new clinic database, named by NEFKIT_DB."""
    path = make_clinic_db(tmp_path / "clinic.db")
    monkeypatch.setenv("NEFKIT_DB", str(path))
    return path
