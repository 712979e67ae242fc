"""nefkit's settings file: TOML at ``NEFKIT_CONFIG`` if set, else
``$XDG_CONFIG_HOME/nefkit/config.toml`` (``~/.config/nefkit/config.toml``). A missing file at the
default place means no settings; a file that is there must be right, every key known.

The keys, each documented on its model below::

    [clinic]
    crisis_contact = "..."   # what a client should do in a crisis, on information sheets

A command-line option always wins over the file. Add a setting as a field of a table's model,
with a description; add a table as a field of :class:`Config`.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Optional

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from ..errors import NefkitError

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Clinic(Settings):
    """``[clinic]``: how this service works with its clients."""

    crisis_contact: Optional[Text] = Field(
        None,
        description="What a client should do in a crisis, in the service's words (who to call,"
        " when); shown on client information sheets. Unset, a sheet tells the client to ask"
        " their clinician for it.",
    )


class Config(Settings):
    clinic: Clinic = Field(default_factory=Clinic)


def config_path() -> Path:
    """``NEFKIT_CONFIG``, else ``$XDG_CONFIG_HOME/nefkit/config.toml``."""
    if os.environ.get("NEFKIT_CONFIG"):
        return Path(os.environ["NEFKIT_CONFIG"]).expanduser()
    config_home = os.environ.get("XDG_CONFIG_HOME") or "~/.config"
    return Path(config_home).expanduser() / "nefkit" / "config.toml"


def load_config() -> Config:
    """The settings in :func:`config_path`, or a :class:`NefkitError` naming the file and every
    key that is wrong. Only the default file may be missing: a file named in ``NEFKIT_CONFIG``
    that is not there is a mistake to report."""
    named = bool(os.environ.get("NEFKIT_CONFIG"))
    path = config_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if named:
            raise NefkitError(f"{path}: the settings file does not exist") from None
        return Config()
    except UnicodeDecodeError as e:
        raise NefkitError(f"{path}: is not UTF-8 text ({e.reason})") from None
    except tomllib.TOMLDecodeError as e:
        raise NefkitError(f"{path}: is not valid TOML: {e}") from None
    except OSError as e:
        raise NefkitError(f"{path}: cannot be read: {e.strerror or e}") from None
    try:
        return Config.model_validate(data)
    except ValidationError as e:
        raise NefkitError(
            f"{path}: " + "; ".join(_problem(error) for error in e.errors())
        ) from None


def _problem(error) -> str:
    """E.g. ``clinic.crisis_contact: input should be a valid string``."""
    loc = error["loc"]
    where = ".".join(str(part) for part in loc)
    if error["type"] == "extra_forbidden":
        return f"{where}: not a setting nefkit knows (known: {', '.join(_known(loc[:-1]))})"
    return f"{where}: {error['msg'][0].lower()}{error['msg'][1:]}"


def _known(loc: tuple) -> list[str]:
    """The keys the table at ``loc`` may hold."""
    model: type[BaseModel] = Config
    for key in loc:
        model = model.model_fields[key].annotation
    return list(model.model_fields)
