"""Schedules shared by ACME's flows."""
import pendulum
from prefect.schedules import Schedule
from prefect.schedules.clocks import CronClock

NIGHTLY = Schedule(clocks=[CronClock("0 2 * * *", start_date=pendulum.datetime(2024, 1, 1, tz="Europe/Berlin"))])
