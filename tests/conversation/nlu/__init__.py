"""Tests for the deterministic NLU."""
