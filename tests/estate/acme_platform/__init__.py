"""A company's in-house Prefect 1 framework (a test fixture): installed in the estate from a wheel."""

from acme_platform.flows import Flow

__all__ = ["Flow"]
