from __future__ import annotations

from services.instances.reconciler import Reconciler
from tests.helpers import create_instance_row


async def test_stale_statuses_are_corrected_from_evolution(server, pg, vault, evolution):
    await create_instance_row(pg, vault, name="up", token="T-UP")
    await create_instance_row(pg, vault, name="down", token="T-DOWN")
    await create_instance_row(pg, vault, name="gone", token="T-GONE")
    evolution.add_instance("up", token="T-UP", state="open")
    evolution.add_instance("down", token="T-DOWN", state="close")
    await pg.execute("UPDATE whatsapp_instances SET status = 'qr_code', reconcile_at = NOW()")

    reconciler = Reconciler(server.runtime)
    assert await reconciler.reconcile_due() == 2
    statuses = {
        r["instance_name"]: (r["status"], r["reconcile_at"], r["reconcile_attempts"])
        for r in await pg.fetch("SELECT * FROM whatsapp_instances")
    }
    assert statuses["up"][:1] == ("connected",) and statuses["up"][1] is None
    assert statuses["down"][:1] == ("disconnected",)
    # Evolution does not know "gone" (404): checked again later, with backoff, never in a loop.
    assert statuses["gone"][0] == "qr_code" and statuses["gone"][2] == 1
    assert statuses["gone"][1] is not None
    assert await reconciler.reconcile_due() == 0  # nothing due now
