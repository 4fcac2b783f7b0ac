"""Benchmarks, run by hand or by `make bench`; see bench/README.md."""
