"""Inventory of Prefect 1 repositories (see model.py for the JSON it produces)."""
