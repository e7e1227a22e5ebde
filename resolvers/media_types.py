"""Which JSON media type a GraphQL-over-HTTP response is served as.

The GraphQL over HTTP specification answers `application/graphql-response+json` to clients
that ask for it, with a 4xx status for request errors (the document does not parse or
validate, the variables do not coerce), and `application/json` with 200 to the others, as
clients written before it expect.
"""

from __future__ import annotations

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"


def prefers_graphql_response(accept: str | None) -> bool:
    """Whether an Accept header ranks `application/graphql-response+json` at least as high
    as `application/json` (a bare `*/*` or no header keeps `application/json`)."""
    if not accept:
        return False
    best = {GRAPHQL_RESPONSE: 0.0, JSON: 0.0}
    for media_range in accept.split(","):
        kind, _, params = media_range.partition(";")
        kind = kind.strip().lower()
        if kind not in best:
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        best[kind] = max(best[kind], quality)
    return best[GRAPHQL_RESPONSE] > 0 and best[GRAPHQL_RESPONSE] >= best[JSON]
