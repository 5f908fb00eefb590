"""meta-flows: migrate Prefect 1 estates to Prefect 2, as Prefect 2 flows."""

__version__ = "0.1.0"
