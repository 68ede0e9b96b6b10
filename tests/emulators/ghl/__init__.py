"""Tests of the GoHighLevel emulator."""
