"""Synthetic test functions (filled in by the next commit)."""
