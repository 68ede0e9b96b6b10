"""Tests for the fake OpenAI-compatible server."""
