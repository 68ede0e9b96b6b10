"""Tests for the Twilio emulator."""
