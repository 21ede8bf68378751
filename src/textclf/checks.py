"""The package's base error for bad data files and its two argument checks (an int, a number in a range).

``DataError`` lives here so that every module raises the same class; ``textclf.files`` re-exports
it, and ``from textclf.files import DataError`` keeps working.
"""

from __future__ import annotations

import math
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


def check_real(value: object, name: str, low: float, high: float = math.inf, *, low_open: bool = False,
               high_open: bool = False, allow_none: bool = False, meaning: str = "") -> float | None:
    """``value`` as a float from ``low`` to ``high`` (an end left out where ``*_open``; never infinite
    or NaN), or an error naming the argument: a TypeError for a non-number or bool, else a ValueError."""
    if value is None and allow_none:
        return None
    accepted = "None or a " if allow_none else "a "
    if high == math.inf:
        accepted += f"finite number {'>' if low_open else '>='} {low:g}"
    else:
        accepted += f"number in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {accepted}{meaning}, got {type(value).__name__}: {value!r:.40}")
    above = low < value if low_open else low <= value
    below = value < high if high_open else value <= high
    if not (above and below and math.isfinite(value)):
        raise ValueError(f"{name} must be {accepted}{meaning}, got {value!r:.40}")
    return float(value)
