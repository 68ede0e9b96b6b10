"""The compliance gate: may this lead be called now, later, or never — and why."""
