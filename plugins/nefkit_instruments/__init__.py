"""The instruments bundled with nefkit (the repository's ``instruments/`` folder), registered
through the same hook a third-party instrument package uses."""

from importlib.resources import files

from nefkit import hookimpl


@hookimpl
def register_instruments(register):
    for definition in sorted(
        files(__name__).joinpath("definitions").iterdir(), key=lambda f: f.name
    ):
        if definition.name.endswith(".toml"):
            register(definition)
