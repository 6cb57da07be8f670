"""Table-driven tests of :func:`tablesmith.spec.cron.cron_problem` (AWS Backup's cron)."""

from __future__ import annotations

import pytest

from tablesmith.spec.cron import cron_problem

VALID = [
    "cron(0 2 * * ? *)",  # the module's default: daily at 02:00 UTC
    "cron(0 */1 * * ? *)",  # the module README's prod schedule: hourly
    "cron(0 5 ? * MON-FRI *)",  # weekdays
    "cron(30 1 L * ? *)",  # last day of the month
    "cron(0 3 ? * 2#1 *)",  # first Monday of the month
    "cron(0 3 ? * MON#2 *)",  # second Monday, by name
    "cron(0 3 ? * 6L *)",  # last Friday
    "cron(0 3 15W * ? *)",  # the weekday nearest the 15th
    "cron(0 3 LW * ? *)",  # the last weekday of the month
    "cron(0 0,12 * * ? *)",  # twice a day
    "cron(59 23 31 12 ? 2199)",  # the highest values of each field
    "cron(0 0 1 1 ? 1970)",  # the lowest
    "cron(15 6 1 JAN,JUL ? *)",  # month names
    "cron(0 8 ? * SUN,SAT *)",  # day names
    "cron(0 8 ? * 1-7 *)",  # day numbers, 1 = Sunday
    "cron(0 8 1-15 * ? *)",  # a day-of-month range
    "cron(0 0/6 * * ? *)",  # every six hours from midnight
    "cron(0 2 * * ? 2025-2030)",  # a year range
    "cron(0 2 ? * mon *)",  # names are case-insensitive
    "  cron(0 2 * * ? *)  ",  # surrounding blanks are ignored
    "cron(0 2 ? * L *)",  # the last day of the week (EventBridge cron reference: L alone)
]

INVALID = [
    ("cron(0 2 * * *)", "has 5 field(s)"),  # Unix cron
    ("cron(0 2 * * ? * *)", "has 7 field(s)"),
    ("cron()", "has 0 field(s)"),
    ("cron(0 2 ? * ? *)", "exactly one of day-of-month and day-of-week must be '?'"),
    ("cron(0 2 * * * *)", "(got '*' and '*')"),
    ("cron(0 2 1 * MON *)", "(got '1' and 'MON')"),
    ("cron(0 24 * * ? *)", "hours field '24': 24 is out of range 0-23"),
    ("cron(60 2 * * ? *)", "minutes field '60': 60 is out of range 0-59"),
    ("cron(0 2 32 * ? *)", "day-of-month field '32': 32 is out of range 1-31"),
    ("cron(0 2 0 * ? *)", "day-of-month field '0': 0 is out of range 1-31"),
    ("cron(0 2 * 13 ? *)", "month field '13': 13 is out of range 1-12"),
    ("cron(0 2 ? * 8 *)", "day-of-week field '8': 8 is out of range 1-7"),
    ("cron(0 2 ? * 0 *)", "day-of-week field '0': 0 is out of range 1-7"),
    ("cron(0 2 * * ? 1969)", "year field '1969': 1969 is out of range 1970-2199"),
    ("cron(0 2 * FOO ? *)", "'FOO' is not a valid value (expected 1-12)"),
    ("cron(0 2 ? * FUN *)", "'FUN' is not a valid value (expected 1-7)"),
    ("cron(0 2 ? * MON#6 *)", "the n-th weekday must be 1 to 5"),
    ("cron(0 2 ? * MON#0 *)", "the n-th weekday must be 1 to 5"),
    ("cron(0 2 ? * MON-SOB *)", "'SOB' is not a valid value"),
    ("cron(0 */0 * * ? *)", "the step after '/' must be a positive number"),
    ("cron(0 */x * * ? *)", "the step after '/' must be a positive number"),
    ("cron(? 2 * * ? *)", "minutes field '?': '?' is not allowed here"),
    ("cron(0 2 * ? * *)", "month field '?': '?' is not allowed here"),
    ("cron(0 2 L * L *)", "exactly one of day-of-month and day-of-week must be '?'"),
    ("cron(0 2 ? * */2 *)", "day-of-week"),  # '/' is not a day-of-week wildcard
    ("cron(*/5 * * * ? *)", "AWS Backup runs at most once an hour"),  # every 5 minutes
    ("cron(* 2 * * ? *)", "AWS Backup runs at most once an hour"),  # every minute of 2h
    ("cron(0,30 * * * ? *)", "AWS Backup runs at most once an hour"),  # twice an hour
    ("cron(0-5 2 * * ? *)", "AWS Backup runs at most once an hour"),
    ("rate(1 hour)", "not rate(...)"),
    ("rate(12 hours)", "not rate(...)"),
    ("0 2 * * ? *", "must be written cron(Minutes Hours Day-of-month Month Day-of-week Year)"),
    ("", "must be written cron("),
    ("cron(0 2 * * ? *", "must be written cron("),
    ("CRON(0 2 * * ? *)", "must be written cron("),
]


@pytest.mark.parametrize("expression", VALID)
def test_valid_expression_has_no_problem(expression: str) -> None:
    assert cron_problem(expression) is None


@pytest.mark.parametrize(("expression", "expected"), INVALID)
def test_invalid_expression_says_why(expression: str, expected: str) -> None:
    problem = cron_problem(expression)
    assert problem is not None, f"{expression!r} was accepted"
    assert expected in problem
