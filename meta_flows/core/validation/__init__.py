"""Validation: run a flow on both sides of the migration and compare what each produced."""
