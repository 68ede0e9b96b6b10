"""`dentalvoice demo`: one whole call on the embedded defaults, written back to the GHL emulator.

`call` runs it (`run_demo`); `clinic` seeds the scenario's clinic and lead in GHL and
configures our side for them; `ghl_view` reads what GHL shows for the lead afterwards.
"""

from dentalvoice.demo.call import DemoResult, morning, run_demo, throwaway_settings
from dentalvoice.demo.ghl_view import LeadInGhl

__all__ = ["DemoResult", "LeadInGhl", "morning", "run_demo", "throwaway_settings"]
