"""Tests for the OpenAI-backed conversation agent."""
