"""Conversation scripts shipped with dentalvoice (YAML)."""
