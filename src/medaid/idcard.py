"""Resident ID numbers (居民身份证号码, GB 11643): 18 characters, the last a check digit."""

from __future__ import annotations

from datetime import date

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"  # indexed by the weighted sum modulo 11


def check_digit(first17: str) -> str:
    return CHECK[sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True)) % 11]


def problem(certno: str) -> str | None:
    """Why `certno` is not a valid ID number, or None when it is."""
    if len(certno) != 18 or not certno[:17].isdigit() or certno[17] not in "0123456789Xx":
        return "must be 18 characters: 17 digits, then a digit or X"
    try:
        date(int(certno[6:10]), int(certno[10:12]), int(certno[12:14]))
    except ValueError:
        return f"birth date {certno[6:14]} is not a date"
    want = check_digit(certno[:17])
    if certno[17].upper() != want:
        return f"check digit is {certno[17]}, GB 11643 gives {want}"
    return None


def make(region: str, born: date, sequence: int) -> str:
    """An ID number with a valid check digit (for generated test and demo persons)."""
    first17 = f"{region}{born:%Y%m%d}{sequence % 1000:03d}"
    return first17 + check_digit(first17)
