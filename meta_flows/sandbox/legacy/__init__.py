"""The Prefect 1 side of a migration: its managed environment and what runs inside it."""
