"""The expected failures of a stage: each becomes a one-line `error: ...` and exit status 2."""


class ParamError(ValueError):
    """A parameter is missing, unknown, of the wrong type or out of range."""


class InputError(RuntimeError):
    """A declared input is missing or malformed."""


class DivergenceError(RuntimeError):
    """Training produced a non-finite loss or weight."""
