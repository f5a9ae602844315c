"""18-digit resident ID numbers (公民身份号码, GB 11643-1999).

Layout: 6-digit region code (first two digits a province), 8-digit birth date, 3-digit
sequence (odd for men, even for women), and an ISO 7064 MOD 11-2 check character
(0–9 or X). Errors carry a Chinese and an English reason, because the people reading
them are caseworkers and integrators.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Literal

from medaid.registry.types import Problem

# Province-level codes (GB/T 2260), plus 81–83 used by residence permits of Hong Kong,
# Macao and Taiwan residents, whose numbers follow the same layout.
PROVINCES: dict[str, str] = {
    "11": "北京", "12": "天津", "13": "河北", "14": "山西", "15": "内蒙古",
    "21": "辽宁", "22": "吉林", "23": "黑龙江",
    "31": "上海", "32": "江苏", "33": "浙江", "34": "安徽", "35": "福建", "36": "江西",
    "37": "山东",
    "41": "河南", "42": "湖北", "43": "湖南", "44": "广东", "45": "广西", "46": "海南",
    "50": "重庆", "51": "四川", "52": "贵州", "53": "云南", "54": "西藏",
    "61": "陕西", "62": "甘肃", "63": "青海", "64": "宁夏", "65": "新疆",
    "71": "台湾", "81": "香港", "82": "澳门", "83": "台湾",
}

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"  # indexed by the weighted sum mod 11
_SHAPE = re.compile(r"\d{17}[\dX]")
_SCIENTIFIC = re.compile(r"\d(\.\d+)?E\+?\d+", re.IGNORECASE)


class IdCardError(Problem):
    """An ID number that is not valid; `zh` and `en` say why."""


@dataclass(frozen=True, slots=True)
class ResidentId:
    number: str  # normalised: 18 characters, upper-case X
    region: str
    birth: date
    sex: Literal["male", "female"]

    @property
    def masked(self) -> str:
        return mask(self.number)


def normalize(text: str) -> str:
    """Full-width digits to ASCII, spaces removed, x upper-cased (as offices type them)."""
    return "".join(unicodedata.normalize("NFKC", text).split()).upper()


def check_digit(first17: str) -> str:
    """The MOD 11-2 check character of the first 17 digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("check_digit needs exactly 17 digits")
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def _birth(digits: str) -> date | None:
    try:
        return date(int(digits[0:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None


def validate(text: str, today: date) -> ResidentId:
    """A valid 18-digit number, or IdCardError with the first thing wrong."""
    n = normalize(text)
    if not n:
        raise IdCardError("身份证号为空", "ID number is empty")
    if _SCIENTIFIC.fullmatch(n):
        raise IdCardError("身份证号被存成了数字，末几位已丢失；请把该列设为文本",
                          "stored as a number (digits lost): format the column as text")
    if len(n) == 15 and n.isdigit():
        raise IdCardError("15位旧身份证号，请填写18位号码",
                          "old 15-digit number: give the 18-digit one")
    if len(n) != 18:
        raise IdCardError(f"应为18位（实为{len(n)}位）",
                          f"must be 18 characters (got {len(n)})")
    if not _SHAPE.fullmatch(n):
        raise IdCardError("前17位应为数字，末位为数字或X",
                          "first 17 characters must be digits, the last a digit or X")
    if n[:2] not in PROVINCES:
        raise IdCardError(f"地区码{n[:6]}无效（省级代码{n[:2]}不存在）",
                          f"region code {n[:6]} is not valid (no province {n[:2]})")
    birth = _birth(n[6:14])
    if birth is None:
        raise IdCardError(f"出生日期{n[6:14]}无效", f"birth date {n[6:14]} is not a date")
    if birth > today:
        raise IdCardError(f"出生日期{birth.isoformat()}晚于今天",
                          f"birth date {birth.isoformat()} is in the future")
    if birth.year < 1880:
        raise IdCardError(f"出生日期{birth.isoformat()}过早",
                          f"birth date {birth.isoformat()} is implausibly early")
    expected = check_digit(n[:17])
    if n[17] != expected:
        raise IdCardError("校验位错误", f"check digit should be {expected}")
    return ResidentId(n, n[:6], birth, "male" if int(n[16]) % 2 else "female")


def is_valid(text: str, today: date) -> bool:
    try:
        validate(text, today)
    except IdCardError:
        return False
    return True


def birth_date(number: str) -> date:
    """The birth date of a number already validated (ValueError otherwise)."""
    d = _birth(normalize(number)[6:14])
    if d is None:
        raise ValueError("not a valid ID number")
    return d


def sex(number: str) -> Literal["male", "female"]:
    """From the 17th character: odd for men, even for women."""
    n = normalize(number)
    if len(n) != 18 or not n[16].isdigit():
        raise ValueError("not a valid ID number")
    return "male" if int(n[16]) % 2 else "female"


def mask(number: str) -> str:
    """For display and logs: the first 6 and last 4 kept (320102********123X).

    Anything too short to keep both ends is masked whole, so a typo never leaks.
    """
    n = normalize(number)
    if len(n) < 14:
        return "*" * len(n)
    return n[:6] + "*" * (len(n) - 10) + n[-4:]


def make(region: str, born: date, sequence: int) -> str:
    """A number with a valid check digit (for generated test and demo persons)."""
    first17 = f"{region}{born:%Y%m%d}{sequence % 1000:03d}"
    return first17 + check_digit(first17)
