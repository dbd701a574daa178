"""The three kinds of expected failure; each becomes one `error: ...` line and exit status 2
(see `imbcl.core.cli.run`)."""


class ParamError(ValueError):
    """A parameter is missing, unknown, of the wrong type or out of range."""


class InputError(RuntimeError):
    """A declared input is missing or malformed."""


class DivergenceError(RuntimeError):
    """Training produced a non-finite loss or weight."""
