"""The demo clinic: what `dentalvoice emulate ghl` seeds unless told not to.

One location ("Sunrise Dental", New York time) with a Private Integration Token, the custom
fields the agent writes, a new-patient pipeline, a weekday consult calendar with a lunch
break, one fictional lead and one installed OAuth app. Fixed ids, so a demo configuration
can name them.
"""

from __future__ import annotations

from typing import Any

from dentalvoice.emulators.ghl.emulator import GhlEmulator

DEMO_LOCATION_ID = "DemoLoc0SunriseDent1"
DEMO_COMPANY_ID = "DemoCo00SunriseGrp01"
DEMO_CALENDAR_ID = "DemoCal0NewPatient01"
DEMO_PIPELINE_ID = "DemoPipeNewPatient01"
DEMO_CONTACT_ID = "DemoCont0JordanLee01"
DEMO_PIT_NAME = "dentalvoice-demo"
DEMO_CLIENT_ID = "demoapp0dentalvoice1-demo0001"

_HOURS = {day: [("09:00", "12:00"), ("13:00", "17:00")] for day in range(5)}


def seed_demo(emulator: GhlEmulator) -> dict[str, Any]:
    """Seed the demo clinic; returns the seed summary (see `GhlEmulator.seed`)."""
    return emulator.seed(
        {
            "locations": [
                {
                    "id": DEMO_LOCATION_ID,
                    "company_id": DEMO_COMPANY_ID,
                    "name": "Sunrise Dental",
                    "timezone": "America/New_York",
                    "pits": [{"name": DEMO_PIT_NAME}],
                    "custom_fields": [
                        {
                            "name": "Pain level",
                            "field_key": "contact.pain_level",
                            "data_type": "NUMERICAL",
                        },
                        {"name": "Treatment interest", "field_key": "contact.treatment_interest"},
                        {"name": "Insurance carrier", "field_key": "contact.insurance_carrier"},
                        {
                            "name": "Call outcome",
                            "field_key": "contact.call_outcome",
                            "data_type": "SINGLE_OPTIONS",
                            "picklist_options": [
                                "booked",
                                "callback",
                                "not_interested",
                                "voicemail",
                                "no_answer",
                            ],
                        },
                        {
                            "name": "Call summary",
                            "field_key": "contact.call_summary",
                            "data_type": "LARGE_TEXT",
                        },
                    ],  # fmt: skip
                    "pipelines": [
                        {
                            "id": DEMO_PIPELINE_ID,
                            "name": "New Patients",
                            "stages": [
                                "New Lead",
                                "Contacted",
                                "Qualified",
                                "Appointment Booked",
                                "Not Interested",
                            ],
                        }
                    ],
                    "calendars": [
                        {
                            "id": DEMO_CALENDAR_ID,
                            "name": "New Patient Consult",
                            "open_hours": _HOURS,
                            "slot_minutes": 30,
                        }
                    ],
                    "contacts": [
                        {
                            "id": DEMO_CONTACT_ID,
                            "first_name": "Jordan",
                            "last_name": "Lee",
                            "phone": "+13055550123",
                            "email": "jordan.lee@example.test",
                            "timezone": "America/New_York",
                            "tags": ["new lead"],
                            "source": "website form",
                            "opportunities": [
                                {"pipeline": DEMO_PIPELINE_ID, "name": "Jordan Lee - consult"}
                            ],
                        }
                    ],
                }
            ],
            "oauth_clients": [
                {
                    "client_id": DEMO_CLIENT_ID,
                    "name": "dentalvoice",
                    "company_id": DEMO_COMPANY_ID,
                }
            ],
        }
    )
