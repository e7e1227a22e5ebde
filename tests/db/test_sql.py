"""The one helper behind every kwargs-built `UPDATE … SET` of db/."""

from __future__ import annotations

import pytest

from db.sql import update_returning
from tests.helpers import create_instance_row


async def test_the_given_columns_change_and_updated_at_moves(server, pg, vault):
    row = await create_instance_row(pg, vault)
    before = await pg.fetchval("SELECT updated_at FROM whatsapp_instances WHERE id = $1", row["id"])
    updated = await update_returning(
        server.runtime.db,
        "whatsapp_instances i",
        {"display_name": "Loja Centro"},
        where="i.id = :instance_id",
        returning="i.display_name, i.updated_at",
        instance_id=row["id"],
    )
    assert updated is not None and updated["display_name"] == "Loja Centro"
    assert updated["updated_at"] > before


@pytest.mark.parametrize(
    "changes, keys",
    [
        ({"display_name = 'x', status": "open"}, {}),  # a column name that is SQL
        ({"Display_Name": "x"}, {}),
        ({"instance_id": "x"}, {"instance_id": "k"}),  # would rebind the WHERE parameter
    ],
)
async def test_what_is_not_a_plain_column_is_refused_before_any_sql(
    server, pg, vault, changes, keys
):
    row = await create_instance_row(pg, vault)
    with pytest.raises(ValueError):
        await update_returning(
            server.runtime.db,
            "whatsapp_instances i",
            changes,
            where="i.id = :id",
            returning="*",
            id=row["id"],
            **keys,
        )
    assert (
        await pg.fetchval("SELECT display_name FROM whatsapp_instances WHERE id = $1", row["id"])
        == row["display_name"]
    )
