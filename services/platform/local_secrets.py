"""Secrets generated once and kept in DATA_DIR when the operator did not configure them.

Two replicas starting together on one data folder must end up with the same value, so the file
is created with O_EXCL and the loser reads the winner's file.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path


def load_or_create(
    path: Path, generate: Callable[[], str] = lambda: secrets.token_urlsafe(48)
) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):
            value = path.read_text(encoding="utf-8").strip()
            if value:
                return value
            time.sleep(0.02)  # the creator is between open() and write()
        raise RuntimeError(
            f"{path} exists but is empty; delete it to generate a new secret"
        ) from None
    value = generate()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    return value
