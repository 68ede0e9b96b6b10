"""Tests for the local service emulators."""
