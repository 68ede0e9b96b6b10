"""Every table's model, imported so that `Base.metadata` is complete for migrations and tests."""

from __future__ import annotations

from dentalvoice.compliance import models as compliance_models
from dentalvoice.crm import models as crm_models
from dentalvoice.db.base import Base
from dentalvoice.dialer import models as dialer_models
from dentalvoice.leads import models as leads_models
from dentalvoice.locations import models as locations_models
from dentalvoice.voice import records as voice_records

metadata = Base.metadata

__all__ = [
    "compliance_models",
    "crm_models",
    "dialer_models",
    "leads_models",
    "locations_models",
    "metadata",
    "voice_records",
]
