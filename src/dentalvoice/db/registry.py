"""Every table's model, imported so that `Base.metadata` is complete for migrations and tests."""

from __future__ import annotations

from dentalvoice.db.base import Base
from dentalvoice.leads import models as leads_models
from dentalvoice.locations import models as locations_models

metadata = Base.metadata

__all__ = ["leads_models", "locations_models", "metadata"]
