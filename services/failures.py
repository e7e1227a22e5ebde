"""Telling a webhook event that can never be applied from one that failed for a while.

Retrying an event holds back every later event of its instance (they are applied in order),
so only a failure that may go away is worth it: an outage (the database, the network,
Evolution API) or one we cannot tell. An error in the data itself — a value PostgreSQL
refuses, a number out of range, a shape the code does not expect — fails the same way on
every try: the event is set aside at once, with its error, to be replayed by hand.
"""

from __future__ import annotations

import asyncpg

# What the data makes fail, whatever the try: PostgreSQL's class 22 (data exception: invalid
# text, numeric out of range, untranslatable character…), row or index entries too big, a
# CHECK or NOT NULL refused; Python's errors for a value or a shape it cannot handle.
# A unique violation is not one: it can be a race with another writer, gone on the next try.
DATA_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.DataError,
    asyncpg.ProgramLimitExceededError,
    asyncpg.CheckViolationError,
    asyncpg.NotNullViolationError,
    ValueError,  # UnicodeError, asyncpg's own "invalid input for query argument" too
    ArithmeticError,  # OverflowError among them
    TypeError,
    LookupError,
    AttributeError,
    RecursionError,
)


def is_data_error(error: BaseException) -> bool:
    """True when `error` comes from the event's data: trying again cannot help."""
    return isinstance(error, DATA_ERRORS)
