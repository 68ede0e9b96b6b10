"""Tests for the Twilio adapter."""
