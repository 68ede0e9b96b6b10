"""Tests for the fake Amazon Polly."""
