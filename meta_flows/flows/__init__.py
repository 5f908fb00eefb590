"""meta-flows' own Prefect 2 flows (thin layers over the core libraries)."""
