"""Reading values out of providers' JSON, which is not always what their documentation promises."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def number(value: Any) -> float | None:
    """A JSON number (not a boolean) as a float, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def number_or_text(value: Any) -> float | None:
    """A number, also when the provider writes it as text (`"24909.71"`, as COROS and Wahoo do)."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return number(value)


def integer_or_text(value: Any) -> int | None:
    read = number_or_text(value)
    return int(read) if read is not None else None


def aware(value: Any) -> datetime | None:
    """An ISO 8601 date-time, read as UTC when it has no offset; None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
