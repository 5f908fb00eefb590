"""Prefect 1 schedules and clocks as Prefect 2.20 deployment schedules (§16).

Cron, interval and date clocks with their filters and adjustments become ``cron``, ``interval`` or
``rrule`` schedules in the clock's time zone; what cannot be expressed exactly gets a TODO.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from meta_flows.core.deployments.plan import unevaluated_fields
from meta_flows.core.inventory.model import (
    ClockInfo,
    ScheduleInfo,
)

_DAY_CODES = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")  # cron numbering: 0 = Sunday


_ALL_DAYS = frozenset(range(7))


_WEEKDAYS = frozenset({1, 2, 3, 4, 5})


_WEEKEND = frozenset({0, 6})


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


@dataclass
class _Filters:
    """A schedule's filters folded into a set of allowed weekdays (None: no constraint)."""

    days: frozenset[int] | None = None
    unsupported: list[str] = field(default_factory=list)


def fold_filters(schedule: ScheduleInfo | None) -> _Filters:
    folded = _Filters()
    if schedule is None:
        return folded

    def restrict(days: frozenset[int]) -> None:
        folded.days = days if folded.days is None else folded.days & days

    for name in schedule.filters:
        days = {"is_weekday": _WEEKDAYS, "is_weekend": _WEEKEND}.get(_short(name))
        if days is None:
            folded.unsupported.append(f"filters=[{name}]")
        else:
            restrict(days)
    for name in schedule.not_filters:
        days = {"is_weekday": _WEEKEND, "is_weekend": _WEEKDAYS}.get(_short(name))
        if days is None:
            folded.unsupported.append(f"not_filters=[{name}]")
        else:
            restrict(days)
    if schedule.or_filters:
        names = [_short(n) for n in schedule.or_filters]
        if all(n in ("is_weekday", "is_weekend") for n in names):
            union: frozenset[int] = frozenset()
            for n in names:
                union |= _WEEKDAYS if n == "is_weekday" else _WEEKEND
            restrict(union)
        else:
            folded.unsupported.append(f"or_filters={schedule.or_filters}")
    for name in schedule.adjustments:
        folded.unsupported.append(f"adjustments=[{name}]")
    if folded.days == _ALL_DAYS:
        folded.days = None
    return folded


def _cron_days(days: frozenset[int]) -> str:
    ordered = sorted(days)
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{ordered[0]}-{ordered[-1]}"
    return ",".join(str(d) for d in ordered)


def _byday(days: frozenset[int]) -> str:
    order = [1, 2, 3, 4, 5, 6, 0]  # MO..SU
    return ",".join(_DAY_CODES[d] for d in order if d in days)


def _parse_dt(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _local(text: str, tz: str) -> str:
    """An ISO datetime as the wall-clock time in ``tz``, RFC 5545 style (``20230101T060000``)."""
    return _parse_dt(text).astimezone(ZoneInfo(tz)).strftime("%Y%m%dT%H%M%S")


def _with_until(rrule: str, until: str) -> str | None:
    """Add ``UNTIL`` to the single RRULE line of ``rrule`` (None if that is not possible)."""
    lines = rrule.strip().splitlines()
    rule_lines = [i for i, line in enumerate(lines) if not line.startswith(("DTSTART", "RDATE"))]
    if len(rule_lines) != 1 or re.search(r"(UNTIL|COUNT)=", rrule):
        return None if len(rule_lines) != 1 else rrule
    index = rule_lines[0]
    lines[index] = f"{lines[index]};UNTIL={until}"
    return "\n".join(lines)


def _with_byday(rrule: str, days: frozenset[int]) -> str | None:
    lines = rrule.strip().splitlines()
    rule_lines = [i for i, line in enumerate(lines) if not line.startswith(("DTSTART", "RDATE"))]
    if len(rule_lines) != 1 or "BYDAY=" in rrule:
        return None
    index = rule_lines[0]
    lines[index] = f"{lines[index]};BYDAY={_byday(days)}"
    return "\n".join(lines)


def _simple_cron_rrule(cron: str) -> str | None:
    """``"0 6 * * 1-5"`` -> ``RRULE:FREQ=DAILY;BYHOUR=6;BYMINUTE=0;BYSECOND=0;BYDAY=…``; else None."""
    fields = cron.split()
    if len(fields) != 5:
        return None
    minute, hour, dom, month, dow = fields
    number_list = re.compile(r"^\d+(,\d+)*$")
    if not (number_list.match(minute) and number_list.match(hour)) or dom != "*" or month != "*":
        return None
    rule = f"RRULE:FREQ=DAILY;BYHOUR={hour};BYMINUTE={minute};BYSECOND=0"
    if dow not in ("*", "?"):
        days = _cron_dow_set(dow)
        if days is None:
            return None
        rule += f";BYDAY={_byday(days)}"
    return rule


def _cron_dow_set(dow: str) -> frozenset[int] | None:
    days: set[int] = set()
    for part in dow.split(","):
        match = re.fullmatch(r"(\d)(?:-(\d))?", part)
        if not match:
            return None
        start = int(match.group(1))
        end = int(match.group(2) or start)
        days.update(d % 7 for d in range(start, end + 1))
    return frozenset(days)


def _interval_rrule(clock: ClockInfo, tz: str, anchor: str) -> str | None:
    seconds = int(clock.interval or 0)
    if seconds <= 0 or seconds != clock.interval:
        return None
    for unit, freq in ((86400, "DAILY"), (3600, "HOURLY"), (60, "MINUTELY"), (1, "SECONDLY")):
        if seconds % unit == 0:
            return f"DTSTART:{_local(anchor, tz)}\nRRULE:FREQ={freq};INTERVAL={seconds // unit}"
    return None  # pragma: no cover - unit 1 always divides


# Prefect 1's IntervalClock anchors at 2019-01-01 UTC when it has no start_date.
PREFECT1_INTERVAL_ANCHOR = "2019-01-01T00:00:00+00:00"


def translate_clock(clock: ClockInfo, filters: _Filters) -> tuple[dict[str, Any] | None, list[str]]:
    """One Prefect 1 clock -> a ``schedules:`` entry (``active: false``) and TODO messages."""
    unread = clock.unevaluated + unevaluated_fields(clock.model_dump(exclude={"unevaluated"}))
    if unread:
        return None, [
            f"{clock.type} could not be read statically ({'; '.join(unread)}): add its schedule"
        ]
    tz = clock.timezone or "UTC"
    todos: list[str] = []
    entry: dict[str, Any] | None = None
    days = filters.days
    until = _local(clock.end_date, tz) if clock.end_date else None

    if clock.type == "CronClock" and clock.cron:
        cron = clock.cron
        fields = cron.split()
        if days is not None:
            if len(fields) == 5 and fields[2] == "*" and fields[4] in ("*", "?"):
                fields[4] = _cron_days(days)
                cron = " ".join(fields)
                days = None
            else:
                todos.append(f"the schedule's weekday filter cannot be folded into cron {cron!r}")
        if clock.day_or is False and len(fields) == 5 and "*" not in (fields[2], fields[4]):
            todos.append(
                f"cron {cron!r} used day_or=False (day-of-month AND day-of-week); prefect.yaml "
                "schedules cannot set day_or: set it on the deployment's schedule in the UI/API"
            )
        if until:
            rule = _simple_cron_rrule(cron)
            if rule is None:
                entry = {"cron": cron}
                todos.append(
                    f"the clock ended at {clock.end_date}; cron {cron!r} has no end date in "
                    "Prefect 2: pause or delete this schedule then"
                )
            else:
                start = f"DTSTART:{_local(clock.start_date, tz)}\n" if clock.start_date else ""
                entry = {"rrule": f"{start}{rule};UNTIL={until}"}
        else:
            entry = {"cron": cron}
    elif clock.type == "IntervalClock" and clock.interval:
        anchor = clock.start_date or PREFECT1_INTERVAL_ANCHOR
        if days is not None or until:
            rule = _interval_rrule(clock, tz, anchor)
            if rule is not None and days is not None:
                rule = _with_byday(rule, days)
                days = None
            if rule is not None and until:
                rule = _with_until(rule, until)
                until = None
            if rule is not None:
                entry = {"rrule": rule}
                if clock.interval % 86400 and tz != "UTC":
                    todos.append(
                        "interval clock rewritten as an rrule (for its filter/end date); "
                        "check the run times around daylight-saving changes"
                    )
        if entry is None:
            seconds = clock.interval
            entry = {"interval": int(seconds) if seconds == int(seconds) else seconds}
            entry["anchor_date"] = anchor
    elif clock.type == "RRuleClock" and clock.rrule:
        rule = clock.rrule
        if days is not None:
            folded = _with_byday(rule, days)
            if folded is None:
                todos.append("the schedule's weekday filter cannot be folded into this rrule")
            else:
                rule, days = folded, None
        if until:
            folded = _with_until(rule, until)
            if folded is None:
                todos.append(f"the clock ended at {clock.end_date}: add UNTIL to this rrule")
            else:
                rule = folded
        entry = {"rrule": rule}
    elif clock.type == "DatesClock":
        dates = [_parse_dt(d) for d in clock.dates]
        if clock.start_date:
            dates = [d for d in dates if d >= _parse_dt(clock.start_date)]
        if clock.end_date:
            dates = [d for d in dates if d <= _parse_dt(clock.end_date)]
        if days is not None:
            dates = [d for d in dates if (d.weekday() + 1) % 7 in days]
            days = None
        if not dates:
            todos.append("DatesClock has no dates left to schedule: no schedule written")
            return None, todos
        rdates = ",".join(
            sorted(d.astimezone(ZoneInfo(tz)).strftime("%Y%m%dT%H%M%S") for d in dates)
        )
        entry = {"rrule": f"RDATE:{rdates}"}
        todos.append("DatesClock translated to an rrule of RDATEs (C): check the listed run times")
    else:
        todos.append(f"{clock.type} without a cron/interval/rrule/dates value: no schedule written")
        return None, todos

    if days is not None:
        todos.append(f"the schedule only ran on {_byday(days)}: restrict this schedule by hand")
    entry["timezone"] = tz
    entry["active"] = False
    return entry, todos
