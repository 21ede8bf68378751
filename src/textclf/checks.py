"""The package's base error for bad data files and its one integer-argument check.

``DataError`` lives here so that every module raises the same class; ``textclf.files`` re-exports
it, and ``from textclf.files import DataError`` keeps working.
"""

from __future__ import annotations

import numbers


class DataError(Exception):
    """A data file is missing, unreadable or not the file we expect."""


def check_int(value: object, name: str, minimum: int | None = None, allow_none: bool = False) -> int | None:
    """``value`` as an int (numpy ints too), or a TypeError/ValueError that names the argument.

    A bool, a float (even ``2.0``) or a str is a TypeError; an int below ``minimum`` a ValueError.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):  # numpy bools are not Integral
        accepted = "an int or None" if allow_none else "an int"
        raise TypeError(f"{name} must be {accepted}, got {type(value).__name__}: {value!r:.60}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)
