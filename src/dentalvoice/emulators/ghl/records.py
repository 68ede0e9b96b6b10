"""The request log: what the client asked and what it got, for counting writes in tests.

Only method, path, status, time and the token's name are kept: no bodies, no query strings,
so the log holds no contact data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class RequestRecord:
    """One request the emulator answered (or hung up on).

    Attributes:
        method: The HTTP method.
        path: The path, without the query string.
        status: The answer's status; 0 when the client left during an injected timeout.
        at: Emulator clock time it arrived (epoch seconds).
        token: The calling token's name (`pit:<name>`, `oauth:<app>:<type>`), or None.
        location_id: The location the token acts for, when known.
        fault: The id of the injected fault that answered it, if any.
    """

    method: str
    path: str
    status: int
    at: float
    token: str | None = None
    location_id: str | None = None
    fault: str | None = None

    @property
    def is_write(self) -> bool:
        """Whether it was a POST, PUT, PATCH or DELETE."""
        return self.method in ("POST", "PUT", "PATCH", "DELETE")

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass
class RequestLog:
    """Every API request in arrival order (admin routes are not logged)."""

    records: list[RequestRecord] = field(default_factory=list)

    def add(self, record: RequestRecord) -> None:
        """Append one record."""
        self.records.append(record)

    def clear(self) -> None:
        """Forget every record."""
        self.records.clear()

    def matching(
        self,
        *,
        method: str | None = None,
        path: str | None = None,
        path_prefix: str | None = None,
        status: int | None = None,
    ) -> list[RequestRecord]:
        """Records with this method, exact path or path prefix, and status."""
        return [
            r
            for r in self.records
            if (method is None or r.method == method.upper())
            and (path is None or r.path == path)
            and (path_prefix is None or r.path.startswith(path_prefix))
            and (status is None or r.status == status)
        ]
