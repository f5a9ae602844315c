"""The one clock and the working-day calendar of the State Council's holiday notices."""

from __future__ import annotations

from datetime import UTC, date, datetime

from medaid.core import clock, workdays


def test_weekdays_outside_holidays() -> None:
    # Friday 3 March 2023 → Tuesday 14 March: 6–10 (5), 13, 14 = 7
    assert workdays.workdays_between(date(2023, 3, 3), date(2023, 3, 14)) == 7
    assert workdays.workdays_between(date(2023, 3, 3), date(2023, 3, 3)) == 0
    assert workdays.workdays_between(date(2023, 3, 3), date(2023, 3, 1)) == 0  # received first
    # Friday 2024-03-01 + 1 → Monday 03-04; + 20 → Friday 03-29
    assert workdays.add_workdays(date(2024, 3, 1), 1) == date(2024, 3, 4)
    assert workdays.add_workdays(date(2024, 3, 1), 20) == date(2024, 3, 29)


def test_national_day_and_its_worked_weekends() -> None:
    # 2023 (国办发明电〔2022〕16号): 29 Sep – 6 Oct off, Saturday 7 and Sunday 8 Oct worked.
    # Thursday 28 Sep → Tuesday 10 Oct: 7, 8, 9, 10 = 4
    assert workdays.workdays_between(date(2023, 9, 28), date(2023, 10, 10)) == 4
    assert not workdays.is_workday(date(2023, 10, 2))  # a Monday, a holiday
    assert workdays.is_workday(date(2023, 10, 7))  # a Saturday, worked
    # 2024 (国办发明电〔2023〕7号): Sunday 29 Sep worked, 1–7 Oct off.
    # Friday 27 Sep + 3 → 29 Sep (Sunday), 30 Sep, 8 Oct
    assert workdays.add_workdays(date(2024, 9, 27), 3) == date(2024, 10, 8)


def test_spring_festival_deadline() -> None:
    # 2024 (国办发明电〔2023〕7号): 10–17 Feb off, Sunday 4 and Saturday 18 Feb worked.
    # Thursday 8 Feb + 2 → Friday 9 Feb, Sunday 18 Feb
    assert workdays.add_workdays(date(2024, 2, 8), 2) == date(2024, 2, 18)


def test_a_year_without_a_notice_counts_monday_to_friday() -> None:
    far = 2100
    assert not workdays.known(far)
    assert workdays.known(2024)
    # Friday 1 January 2100 + 1 → Monday 4 January
    assert workdays.add_workdays(date(far, 1, 1), 1) == date(far, 1, 4)


def test_today_is_beijing_date_and_can_be_frozen() -> None:
    # 16:30 UTC on 31 December is already 1 January in Beijing
    with clock.frozen(datetime(2023, 12, 31, 16, 30, tzinfo=UTC)):
        assert clock.today() == date(2024, 1, 1)
        assert clock.now() == datetime(2023, 12, 31, 16, 30, tzinfo=UTC)
    with clock.frozen(datetime(2024, 5, 6, 9, 0)):  # naive: Beijing time
        assert clock.today() == date(2024, 5, 6)
    assert abs((clock.now() - datetime.now(UTC)).total_seconds()) < 60  # the real clock again
