"""Benchmarks: our matcher against a reference."""
