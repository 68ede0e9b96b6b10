"""Tests of the dial worker, its claims and its limits."""
