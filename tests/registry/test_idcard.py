"""Resident ID numbers (GB 11643-1999): format, region, birth date, MOD 11-2 check digit."""

from __future__ import annotations

import re
from datetime import date

import pytest
from registry_helpers import TODAY, make_id, with_wrong_check

from medaid.registry import idcard
from medaid.registry.idcard import IdCardError, check_digit, validate


def test_check_digit_of_the_standard_example() -> None:
    # GB 11643-1999 appendix example: 11010519491231002X
    assert check_digit("11010519491231002") == "X"
    assert validate("11010519491231002X", TODAY).number == "11010519491231002X"


def test_valid_number_and_its_parts() -> None:
    n = make_id("320102", "19900307", "123")
    r = validate(n, TODAY)
    assert r.region == "320102"
    assert r.birth == date(1990, 3, 7)
    assert r.sex == "male"  # 17th digit 3 is odd
    assert idcard.birth_date(n) == date(1990, 3, 7)
    assert idcard.sex(make_id(seq="124")) == "female"


def test_every_check_value_including_x_is_reachable() -> None:
    seen = {make_id(seq=f"{s:03d}")[-1] for s in range(100)}
    assert seen == set("0123456789X")


def test_wrong_check_digit_names_the_right_one() -> None:
    n = make_id()
    with pytest.raises(IdCardError) as e:
        validate(with_wrong_check(n), TODAY)
    assert e.value.zh == "校验位错误"
    assert e.value.en == f"check digit should be {n[-1]}"
    assert str(e.value) == f"校验位错误 / check digit should be {n[-1]}"


def test_lowercase_x_is_accepted_and_normalised() -> None:
    n = next(make_id(seq=f"{s:03d}") for s in range(100) if make_id(seq=f"{s:03d}")[-1] == "X")
    r = validate(n.lower(), TODAY)
    assert r.number == n
    assert r.number.endswith("X")


def test_full_width_digits_and_spaces_are_normalised() -> None:
    n = make_id()
    wide = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in n)
    assert validate(f" {wide[:6]} {wide[6:]} ", TODAY).number == n


@pytest.mark.parametrize("birth", ["19900230", "19901301", "19900000"])
def test_impossible_birth_date(birth: str) -> None:
    with pytest.raises(IdCardError, match=f"birth date {birth} is not a date"):
        validate(make_id(birth=birth), TODAY)


def test_birth_date_in_the_future() -> None:
    with pytest.raises(IdCardError, match="in the future"):
        validate(make_id(birth="20240316"), TODAY)
    assert validate(make_id(birth="20240315"), TODAY).birth == TODAY


@pytest.mark.parametrize("region", ["000000", "992101", "190102", "720102"])
def test_bad_region(region: str) -> None:
    with pytest.raises(IdCardError) as e:
        validate(make_id(region=region), TODAY)
    assert "地区码" in e.value.zh and f"region code {region}" in e.value.en


@pytest.mark.parametrize(("text", "en"), [
    ("", "empty"),
    ("32010219800101123", "must be 18 characters (got 17)"),
    ("3201021980010112345", "must be 18 characters (got 19)"),
    ("320102800101123", "old 15-digit number"),
    ("32010219800101A234", "first 17 characters must be digits"),
    ("3.20102198001011E+17", "stored as a number"),
])
def test_malformed(text: str, en: str) -> None:
    with pytest.raises(IdCardError, match=re.escape(en)):
        validate(text, TODAY)


def test_is_valid() -> None:
    assert idcard.is_valid(make_id(), TODAY)
    assert not idcard.is_valid(with_wrong_check(make_id()), TODAY)


def test_mask_keeps_first_six_and_last_four() -> None:
    assert idcard.mask("32010219800101123x") == "320102********123X"
    assert validate(make_id(), TODAY).masked == make_id()[:6] + "*" * 8 + make_id()[-4:]
    assert idcard.mask("12345") == "*****"  # too short: nothing shown
    assert idcard.mask("") == ""
