"""Exceptions nefkit raises on purpose; the CLI shows their message as ``Error: ...``."""


class NefkitError(Exception):
    """A failure to be shown to the user as a plain message, without a traceback."""


class PluginError(NefkitError):
    """A plugin could not be loaded or registered something it should not have."""


class DuplicateRegistration(PluginError):
    """Two plugins registered the same instrument id, rule name or renderer format."""


class DefinitionError(NefkitError):
    """An instrument definition has problems; ``problems`` lists every one of them."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
