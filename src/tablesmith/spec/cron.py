"""AWS cron expressions as AWS Backup accepts them.

``cron(Minutes Hours Day-of-month Month Day-of-week Year)``: six fields, not Unix cron's
five; exactly one of day-of-month and day-of-week must be ``?`` (AWS rejects both set, and
both ``?``); months 1-12 or JAN-DEC, weekdays 1-7 or SUN-SAT (1 = Sunday); ``L``, ``W`` and
``#`` only where AWS allows them. AWS Backup also requires at least an hour between backups,
so the minutes field must be one fixed minute.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MONTHS = {m: i + 1 for i, m in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"])}
_DAYS = {d: i + 1 for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int]


_FIELDS = (
    _Field("minutes", 0, 59, {}),
    _Field("hours", 0, 23, {}),
    _Field("day-of-month", 1, 31, {}),
    _Field("month", 1, 12, _MONTHS),
    _Field("day-of-week", 1, 7, _DAYS),
    _Field("year", 1970, 2199, {}),
)

_WRAPPED = re.compile(r"^cron\((?P<body>.*)\)$")


def cron_problem(expression: str) -> str | None:
    """Why AWS Backup would reject ``expression``, or None when it is valid."""
    match = _WRAPPED.match(expression.strip())
    if not match:
        if expression.startswith("rate("):
            return "AWS Backup schedules take a cron(...) expression, not rate(...)"
        return "must be written cron(Minutes Hours Day-of-month Month Day-of-week Year)"
    fields = match.group("body").split()
    if len(fields) != 6:
        return (f"has {len(fields)} field(s); AWS cron has six: "
                "Minutes Hours Day-of-month Month Day-of-week Year (Unix cron has five)")
    for spec, text in zip(_FIELDS, fields, strict=True):
        problem = _field_problem(spec, text)
        if problem:
            return f"{spec.name} field '{text}': {problem}"
    dom, dow = fields[2], fields[4]
    if (dom == "?") == (dow == "?"):
        return ("exactly one of day-of-month and day-of-week must be '?' "
                f"(got '{dom}' and '{dow}')")
    if not fields[0].isdigit():
        return (f"minutes field '{fields[0]}': AWS Backup runs at most once an hour, "
                "so the minutes must be a single fixed minute such as 0")
    return None


def _field_problem(spec: _Field, text: str) -> str | None:
    if text == "?":
        return None if spec.name in ("day-of-month", "day-of-week") else "'?' is not allowed here"
    for part in text.split(","):
        problem = _part_problem(spec, part)
        if problem:
            return problem
    return None


def _part_problem(spec: _Field, part: str) -> str | None:
    if spec.name == "day-of-month" and part in ("L", "LW"):
        return None
    if spec.name == "day-of-month" and part.endswith("W") and part[:-1].isdigit():
        return _value_problem(spec, part[:-1])
    if spec.name == "day-of-week":
        if part == "L":  # the last day of the week (Saturday)
            return None
        if "/" in part:  # AWS lists no '/' wildcard for day-of-week
            return f"'{part}': day-of-week takes , - * ? L # but not /"
        if part.endswith("L") and len(part) > 1:
            return _value_problem(spec, part[:-1])
        if "#" in part:
            day, _, nth = part.partition("#")
            if not nth.isdigit() or not 1 <= int(nth) <= 5:
                return f"'{part}': the n-th weekday must be 1 to 5"
            return _value_problem(spec, day)
    base, slash, step = part.partition("/")
    if slash and (not step.isdigit() or int(step) == 0):
        return f"'{part}': the step after '/' must be a positive number"
    if base == "*":
        return None
    low, dash, high = base.partition("-")
    problem = _value_problem(spec, low)
    if problem or not dash:
        return problem
    return _value_problem(spec, high)


def _value_problem(spec: _Field, value: str) -> str | None:
    number = spec.names.get(value.upper()) if value.isalpha() else None
    if number is None:
        if not value.isdigit():
            return f"'{value}' is not a valid value (expected {spec.low}-{spec.high})"
        number = int(value)
    if not spec.low <= number <= spec.high:
        return f"{number} is out of range {spec.low}-{spec.high}"
    return None
