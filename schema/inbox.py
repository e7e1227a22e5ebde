from __future__ import annotations

import strawberry


@strawberry.type(description="A label of a number and how many of its contacts carry it.")
class LabelCount:
    label: str
    count: int
