"""Domain errors. Each carries the `extensions.code` the GraphQL contract promises clients.

Services raise these; one place at the API edge turns them into GraphQL errors. Anything else
that escapes is reported as INTERNAL with its details kept in the server log only.
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    code = "INTERNAL"

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        # graphql-core copies an exception's `extensions` onto the GraphQL error it reports.
        self.extensions = {"code": self.code}
        self.extensions.update((k, v) for k, v in extensions.items() if v is not None)

    def __str__(self) -> str:
        return self.message


class Unauthenticated(AppError):
    code = "UNAUTHENTICATED"


class Forbidden(AppError):
    code = "FORBIDDEN"


class NotFound(AppError):
    code = "NOT_FOUND"


class BadInput(AppError):
    """Invalid input; `field` names the offending input field (dotted path) when there is one."""

    code = "BAD_USER_INPUT"

    def __init__(self, message: str, field: str | None = None, **extensions: Any) -> None:
        super().__init__(message, field=field, **extensions)
        self.field = field


class Conflict(AppError):
    code = "CONFLICT"


class RateLimited(AppError):
    code = "RATE_LIMITED"

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message, retryAfter=None if retry_after is None else round(retry_after, 3))


class EvolutionNotConfigured(AppError):
    code = "EVOLUTION_NOT_CONFIGURED"

    def __init__(self) -> None:
        super().__init__(
            "WhatsApp is not configured on this server: set EVOLUTION_API_BASE_URL and "
            "EVOLUTION_API_KEY",
            variables=["EVOLUTION_API_BASE_URL", "EVOLUTION_API_KEY"],
        )


class EvolutionUnavailable(AppError):
    code = "EVOLUTION_UNAVAILABLE"


class EvolutionFailed(AppError):
    """Evolution API answered with an error; its message is passed on to the client."""

    code = "EVOLUTION_ERROR"

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message, status=status)
        self.status = status
