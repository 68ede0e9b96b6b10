"""Clinics: one GoHighLevel sub-account each, with the settings calls and writes need."""
