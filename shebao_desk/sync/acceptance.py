"""What a bundle's payload says and which of its changes a store takes: the layer under the signature.

The signed header names the signer's window, so a store that relays them (pushes
them to central before their origin ever synced) can tell central which window they are
from. A pinned peer writes only its own: its audit entries are in its own workstation's name,
its clerks are name cards under the username their id derives from (never a username this store
holds under another id), and a new incarnation comes with the restore record that explains it.
A name card is logged as a change of its own, with the lowest clock there is: relayed, it gives
central the clerk a case names, and the account's own insert wins every field wherever it arrives.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, select

from shebao_desk.errors import ShebaoError
from shebao_desk.models import Clerk, Site, SyncChange, SyncState
from shebao_desk.models.base import stable_uuid, utcnow
from shebao_desk.store import state

NAME_CARD_NS = uuid.UUID("3d5e2a7c-91b4-4f0e-8c6d-1a2b3c4d5e6f")
BOTTOM = "0000000000000-00000-"  # a name card's clock (+ origin): below every change a PC ever makes
PEER_WINDOW = "peer_window:"  # sync_state: the window a site signed its bundles under
RESTORE_TABLE = "store"  # record_event's table for a restore or a new incarnation noticed at sync
REFUSED = "，已拒绝导入，数据未改变"

Change = dict[str, Any]


class PayloadError(ShebaoError):
    pass


def window_of(header: dict[str, Any]) -> str | None:
    """The signer's window, from the signed header; None for a bundle written before it travelled."""
    window = header.get("window")
    if window is None:
        return None
    origin = header["origin"]
    if not isinstance(window, str) or not window or not origin.startswith(window) or len(window) >= len(origin):
        raise PayloadError(f"数据包中的窗口编号与站点 {origin} 不符{REFUSED}", f"window {str(window)[:20]!r} of {origin}")
    return window


def exportable(changes: Iterable[Change]) -> list[Change]:
    """A name card made here for another site's clerk is not this site's to send."""
    return [c for c in changes if not c["hlc"].startswith(BOTTOM)]


def workstation_of(origin: str, window: str | None) -> str | None:
    return origin[len(window):] if window else None


# --- a pinned peer writes only its own --------------------------------------------------------

def check_audit_names(conn: Connection, changes: list[Change], origin: str, window: str | None) -> None:
    """Every audit entry in a bundle is the signer's own act: in its workstation's name. An entry in no
    workstation's name (written before the site had its codes, or by an older version's admin command)
    passes only if it names no account of this store: the probe's forgery named this store's admin."""
    own = workstation_of(origin, window)
    unnamed: dict[str, str] = {}
    for c in changes:
        if c["table_name"] != "audit_entry":
            continue
        workstation, clerk = c["values"].get("workstation"), c["values"].get("clerk_id")
        if workstation == "" and (clerk is None or isinstance(clerk, str)):
            if clerk:
                unnamed[clerk] = c["row_id"]
            continue
        mine = workstation == own if own is not None else (
            isinstance(workstation, str) and bool(workstation) and origin.endswith(workstation))
        if not mine:
            raise PayloadError(f"数据包中有以其他工作站（{str(workstation)[:8]}）名义写的审计记录{REFUSED}",
                               f"audit entry {c['row_id']} of workstation {workstation!r} from {origin}")
    if unnamed:
        accounts = set(conn.scalars(select(Clerk.id).where(Clerk.id.in_(sorted(unnamed)), Clerk.password_hash != "")))
        if accounts:
            clerk = sorted(accounts)[0]
            raise PayloadError(f"数据包中有以本机账号名义写的审计记录{REFUSED}",
                               f"audit entry {unnamed[clerk]} names local account {clerk}, from {origin}")


def restore_incarnations(changes: Iterable[Change]) -> set[int]:
    """The incarnations whose restore record is among ``changes``."""
    found = set()
    for c in changes:
        values = c["values"]
        after = values.get("after")
        if c["table_name"] == "audit_entry" and values.get("table_name") == RESTORE_TABLE \
                and isinstance(after, dict) and type(after.get("incarnation")) is int:
            found.add(after["incarnation"])
    return found


def check_incarnation(restores: set[int], origin: str, incarnation: int, known: int) -> None:
    """A bundle from a later incarnation than the last one seen must carry the restore record of it."""
    if incarnation <= known or incarnation in restores:
        return
    raise PayloadError(f"数据包声称 {origin} 已从备份恢复（第 {incarnation} 次），却没有恢复记录{REFUSED}",
                       f"{origin}: incarnation {known} -> {incarnation} without a restore record")


def name_cards(conn: Connection, changes: list[Change], origin: str) -> list[Change]:
    """Clerks arrive as inactive name cards, never as accounts: one change per clerk new here, in its
    place in the merge. Refused: a clerk whose id is not the one its username derives to, or a
    username this store holds under another id."""
    clerk_changes = [c for c in changes if c["table_name"] == "clerk"]
    if not clerk_changes:
        return []
    ids = sorted({c["row_id"] for c in clerk_changes})
    known = set(conn.scalars(select(Clerk.id).where(Clerk.id.in_(ids))))
    cards: dict[str, Change] = {}
    for c in clerk_changes:
        v = c["values"]
        username, display_name = v.get("username"), v.get("display_name")
        if c["row_id"] in known or c["row_id"] in cards:
            continue
        if not isinstance(username, str) or not isinstance(display_name, str):
            raise PayloadError(f"数据包中的经办员信息不完整{REFUSED}", f"clerk {c['row_id']}: {sorted(v)}")
        if c["row_id"] != stable_uuid("clerk", username):
            raise PayloadError(f"数据包中的经办员 {username[:40]} 的编号与用户名不符{REFUSED}",
                               f"clerk {c['row_id']} is not the id of {username!r}")
        holder = conn.scalar(select(Clerk.id).where(Clerk.username == username))
        if holder is not None:
            raise PayloadError(f"数据包中的经办员用户名 {username[:40]} 在本机已属于另一个账号{REFUSED}",
                               f"username {username!r} held here by {holder}, bundle says {c['row_id']}")
        now = utcnow().isoformat()
        card = {"id": c["row_id"], "username": username, "display_name": display_name, "role": "clerk",
                "password_hash": "", "active": False, "failed_logins": 0, "locked_until": None,
                "last_login_at": None, "created_at": v.get("created_at") or now, "updated_at": v.get("updated_at") or now}
        cards[c["row_id"]] = {"change_id": str(uuid.uuid5(NAME_CARD_NS, c["change_id"])), "table_name": "clerk",
                              "row_id": c["row_id"], "hlc": BOTTOM + origin, "origin": origin, "values": card}
    return list(cards.values())


def name_card_owner(conn: Connection, clerk_id: str) -> str | None:
    """The site whose bundle (or relayed push) made this name card, if it is one."""
    return conn.scalar(select(SyncChange.origin).where(SyncChange.table_name == "clerk", SyncChange.row_id == clerk_id,
                                                       SyncChange.hlc.startswith(BOTTOM)).limit(1))


# --- the windows of the sites whose changes this store relays ---------------------------------

def remember_window(conn: Connection, origin: str, window: str | None) -> None:
    if window:
        state.put(conn, PEER_WINDOW + origin, window)


def relayed_windows(conn: Connection) -> dict[str, str]:
    """origin -> window, for every site whose bundle named its window here (and this site itself)."""
    out = {key[len(PEER_WINDOW):]: value for key, value in conn.execute(
        select(SyncState.key, SyncState.value).where(SyncState.key.startswith(PEER_WINDOW)))}
    site = conn.execute(select(Site.window_code, Site.workstation_id).limit(1)).first()
    if site is not None:
        out[f"{site[0]}{site[1]}"] = site[0]
    return out
