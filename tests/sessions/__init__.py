"""Tests of the live call-session stores."""
