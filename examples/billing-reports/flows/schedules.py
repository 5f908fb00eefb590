"""Schedules shared by the billing team's flows (Europe/Amsterdam business calendar)."""

import pendulum
from prefect.schedules import Schedule
from prefect.schedules.clocks import CronClock

START = pendulum.datetime(2024, 1, 1, tz="Europe/Amsterdam")

# Invoices close on the 1st; the export runs early on the 2nd, the usage summary every Monday.
MONTHLY_CLOSE = Schedule(clocks=[CronClock("30 4 2 * *", start_date=START)])
WEEKLY = Schedule(clocks=[CronClock("0 7 * * 1", start_date=START)])
