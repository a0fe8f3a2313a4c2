"""The audit-chain head travels with every sync and is kept centrally: a trail cut off or rewritten
locally afterwards stops the next sync with a plain message; an audited restore does not."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from conftest import applicant, needs_pg, on_central
from shebao_desk.store.database import connect_file
from shebao_desk.sync.central import SyncError, sync
from test_sync import issued, workstation

pytestmark = needs_pg


def _central_head(url, origin):
    return on_central(url, lambda conn: conn.execute(text("SELECT seq, hash FROM audit_head WHERE origin = :o"),
                                                     {"o": origin}).one())


def test_head_kept_centrally_and_a_cut_trail_stops_sync(tmp_path, policy, central):
    a, csa = workstation(tmp_path, policy, "A")
    issued(a, policy, csa, applicant(301))
    sync(a, central)
    origin = csa[1].window_code + "A"
    seq, digest = _central_head(central, origin)
    with connect_file(a.path) as conn:
        assert conn.execute("SELECT max(seq) FROM audit_seal").fetchone()[0] == seq
        assert conn.execute("SELECT hash FROM audit_seal WHERE seq = ?", (seq,)).fetchone()[0] == digest
    issued(a, policy, csa, applicant(302))
    sync(a, central)  # a grown chain is fine
    with connect_file(a.path) as conn:  # an intruder removes the latest audit entries and their seals
        top = conn.execute("SELECT max(seq) FROM audit_seal").fetchone()[0]
        conn.execute("DELETE FROM audit_entry WHERE id IN (SELECT audit_id FROM audit_seal WHERE seq > ?)", (top - 5,))
        conn.execute("DELETE FROM audit_seal WHERE seq > ?", (top - 5,))
    with pytest.raises(SyncError) as err:
        sync(a, central)
    assert "被截断" in err.value.message  # by the anchor kept outside the store, before central is asked
    a.close()


def test_a_restored_flag_set_by_hand_or_a_rewritten_chain_stops_sync_before_central_hears(tmp_path, policy, central):
    """The probe's T12: rewrite plus `audit_chain_restored=1` switched off central's comparison (sync rc 0)."""
    from test_protection_tamper import rewrite_chain
    a, csa = workstation(tmp_path, policy, "A")
    issued(a, policy, csa, applicant(303))
    sync(a, central)
    origin = csa[1].window_code + "A"
    held = _central_head(central, origin)
    with connect_file(a.path) as conn:
        conn.execute("UPDATE audit_entry SET workstation = 'Z' WHERE id = (SELECT audit_id FROM audit_seal WHERE seq = 3)")
        rewrite_chain(conn)
        conn.execute("INSERT INTO sync_state (key, value) VALUES ('audit_chain_restored', '1')")
    with pytest.raises(SyncError) as err:
        sync(a, central)
    assert "db check" in err.value.message and "不是由恢复操作设置的" in err.value.detail
    assert _central_head(central, origin) == held  # central's head is not overwritten
    a.close()
