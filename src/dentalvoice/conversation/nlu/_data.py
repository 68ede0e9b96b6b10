"""Loading the NLU's YAML tables from `dentalvoice.conversation.data`, once, at import."""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml

_PACKAGE = "dentalvoice.conversation.data"


def load_table(name: str) -> dict[str, Any]:
    """Read one YAML table shipped with the package.

    Args:
        name: File name inside `dentalvoice.conversation.data`, e.g. "carriers.yaml".

    Returns:
        The parsed mapping.

    Raises:
        ValueError: When the file is not a mapping with a `version`.
    """
    text = resources.files(_PACKAGE).joinpath(name).read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or "version" not in data:
        raise ValueError(f"{name}: expected a mapping with a version")
    return data
