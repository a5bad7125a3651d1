"""Benchmark scripts, run by hand against the local stack (`gosreg stack`); not tests."""
