"""Tests of the GHL API client, its credentials and its rate limits."""
