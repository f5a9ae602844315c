"""The case contract's checks on visit amounts and dates, in one compiled pass.

`first_problem` returns the first row that breaks a rule and which rule, so the error
names the row and field exactly as `medaid.engine.case.parse_visit` names a JSON path. The
bounds are medaid.policy.fields', with the converters' words.
"""

from __future__ import annotations

from numba import njit

from medaid.batch.schema import AMOUNTS, EPOCH
from medaid.engine.case import amount_bound, date_bound
from medaid.policy import fields

HIGH = fields.MAX_VISIT_FEN  # checked before any sum: int64 sums of larger amounts overflow
FIRST = (fields.FIRST_DAY - EPOCH).days  # days since 1970-01-01, as the columns hold dates
LAST = (fields.LAST_DAY - EPOCH).days

PROBLEMS = (
    ("medfee_sumamt", "must be ≥ 0"),
    ("fulamt_ownpay_amt", "must be ≥ 0"),
    ("overlmt_selfpay", "must be ≥ 0"),
    ("preselfpay_amt", "must be ≥ 0"),
    ("hifp_pay", "must be ≥ 0"),
    ("hifmi_pay", "must be ≥ 0"),
    ("oth_pay", "must be ≥ 0"),
    ("end", "before start"),
    ("medfee_sumamt", "less than fulamt_ownpay_amt + overlmt_selfpay + preselfpay_amt"),
    ("hifp_pay", "hifp_pay + hifmi_pay + oth_pay exceed the policy-range amount"),
    ("hifmi_pay", "hifp_pay + hifmi_pay + oth_pay exceed the policy-range amount"),
    ("oth_pay", "hifp_pay + hifmi_pay + oth_pay exceed the policy-range amount"),
    ("hospital_level", "must be 1, 2, 3 or absent"),
    *((name, amount_bound(name, HIGH)) for name in AMOUNTS),  # 13–19, in the columns' order
    ("start", date_bound("start")),
    ("end", date_bound("end")),
)
OVER, START_OUT, END_OUT = 13, 13 + len(AMOUNTS), 14 + len(AMOUNTS)


@njit(cache=True, nogil=True)
def first_problem(medfee, ownpay, overlmt, preself, hifp, hifmi, oth, start, end, level,  # type: ignore[no-untyped-def]
                  inscp):
    """Fill `inscp`; return (row, index into PROBLEMS) of the first problem, or (−1, −1).
    An absent hifp_pay/hifmi_pay is −1 (computed later), counted as 0 here."""
    for i in range(len(medfee)):
        for k, a in enumerate((medfee[i], ownpay[i], overlmt[i], preself[i])):
            if a < 0:
                return i, k
        for k, a in enumerate((medfee[i], ownpay[i], overlmt[i], preself[i], hifp[i],
                               hifmi[i], oth[i])):
            if a > HIGH:
                return i, OVER + k
        if start[i] < FIRST or start[i] > LAST:
            return i, START_OUT
        if end[i] < FIRST or end[i] > LAST:
            return i, END_OUT
        if hifp[i] < -1:
            return i, 4
        if hifmi[i] < -1:
            return i, 5
        if oth[i] < 0:
            return i, 6
        if end[i] < start[i]:
            return i, 7
        v = medfee[i] - ownpay[i] - overlmt[i] - preself[i]
        if v < 0:
            return i, 8
        inscp[i] = v
        paid = max(hifp[i], 0)
        if paid > v:
            return i, 9
        paid += max(hifmi[i], 0)
        if paid > v:
            return i, 10
        if paid + oth[i] > v:
            return i, 11
        if level[i] < 0 or level[i] > 3:
            return i, 12
    return -1, -1
