from __future__ import annotations

from datetime import datetime

import strawberry


@strawberry.type(description="A signed, short-lived link to a person's data (exportContactData).")
class DataExport:
    url: str = strawberry.field(description="GET it (no header needed) for the zip.")
    expires_at: datetime
