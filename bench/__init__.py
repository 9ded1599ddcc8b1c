"""Benchmarks of the issue targets; ``python -m bench`` lists and runs them (see __main__)."""
