"""Whole numbers in query strings and forms, read the way the schema says them.

Pydantic reads ``"+0.0"``, ``"2.0"`` or ``" 5"`` as integers; the OpenAPI schema promises an
integer, so a client that sends one of those has a bug we should tell it about (422) rather than
guess what it meant.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic_core import PydanticCustomError

_INTEGER = re.compile(r"[+-]?[0-9]+")


def whole_number(value: Any) -> Any:
    """A ``BeforeValidator``: text must be an optional sign and ASCII digits; other values pass on."""
    if isinstance(value, str) and not _INTEGER.fullmatch(value):
        raise PydanticCustomError("int_parsing", "Input should be a whole number written in digits, e.g. 2")
    return value
