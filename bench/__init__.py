"""Benchmarks of the ETL, the SQL status layer and the pages on a synthetic national dataset.

`python -m bench.generate` writes the data, `python -m bench` (or `make bench`) measures.
See bench/README.md.
"""
