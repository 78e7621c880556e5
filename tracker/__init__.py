"""Domain logic of Suivi QPV: progress method, queries, charts and French formatting."""
