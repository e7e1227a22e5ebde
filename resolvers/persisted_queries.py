"""Automatic persisted queries, as Apollo Client's persisted-query link speaks them.

A client sends `extensions.persistedQuery.sha256Hash` without the document; the first time
the answer is PERSISTED_QUERY_NOT_FOUND, the client sends the document with its hash once, and
from then on the hash alone (over GET too, so responses can be cached by URL). The documents
live in a bounded per-process LRU: a replica that never saw a hash answers NOT_FOUND and the
client registers it there as well. Parse and validation are cached by document text, so a
known hash skips both.
"""

from __future__ import annotations

import hashlib
from typing import Any

from cachetools import LRUCache

# Documents remembered per process; a front end has a few hundred at most.
CAPACITY = 10_000


class PersistedQueryNotFound(Exception):
    """The hash is not known here: the client sends the document with it."""


class PersistedQueryMismatch(Exception):
    """The document sent does not hash to the hash sent with it."""


class PersistedQueries:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self._documents: LRUCache[str, str] = LRUCache(maxsize=capacity)

    def resolve(
        self, query: str | None, extensions: dict[str, Any] | None, may_register: bool
    ) -> str | None:
        """The document to run: `query` itself, or the one registered under the hash the
        extensions name. A document sent with its hash is registered (by signed-in callers
        only: nobody else can fill the cache)."""
        persisted = (extensions or {}).get("persistedQuery")
        if not isinstance(persisted, dict):
            return query
        digest = persisted.get("sha256Hash")
        if persisted.get("version") != 1 or not isinstance(digest, str):
            raise PersistedQueryMismatch("persistedQuery needs version 1 and a sha256Hash")
        if query is None:
            known = self._documents.get(digest)
            if known is None:
                raise PersistedQueryNotFound("PersistedQueryNotFound")
            return known
        if hashlib.sha256(query.encode()).hexdigest() != digest.lower():
            raise PersistedQueryMismatch("provided sha does not match query")
        if may_register:
            self._documents[digest.lower()] = query
        return query
