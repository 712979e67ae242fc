"""The wheel must carry every package and every built-in plugin (CI also installs it)."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_package_is_in_the_wheel():
    listed = set(PROJECT["tool"]["setuptools"]["packages"])
    found = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in (ROOT / "nefkit").rglob("__init__.py")
    }
    found |= {path.parent.name for path in (ROOT / "plugins").glob("*/__init__.py")}
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"


def test_every_built_in_plugin_is_an_entry_point():
    entry_points = set(PROJECT["project"]["entry-points"]["nefkit"].values())
    plugins = {path.parent.name for path in (ROOT / "plugins").glob("*/__init__.py")}
    assert plugins == entry_points
