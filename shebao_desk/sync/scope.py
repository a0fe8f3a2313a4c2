"""Scoped replication: each window receives its own rows and its people's, not the whole city.

Central side only (PostgreSQL). Every change in the central log gets a *scope*, derived
from its row when it is pushed:

- a person's id, for the rows of that person's history (person, card, case, loss report,
  inquiry about them, and the audit entries of those rows);
- ``c:<clerk id>`` for a clerk account, the clerk's attendance days (one id per clerk and day,
  wherever the clerk signs in) and their audit entries;
- ``w:<window>`` for a window's own business (supervision visits, the audit of anything that is
  neither a person's nor a clerk's);
- ``*`` for reference data every window shares (calendar, outlets, anything else).

``scope_member`` says which windows hold which person or clerk: the window where a change
about them was made, and a window that looked them up. ``sync_scope`` is every window's own
stream of the log (one row per change and window that should receive it), appended under the
push lock, so a pull is one index range on (window, pos), proportional to the window's share.
A person a window adopts later is appended to its stream then, history and all, so both PCs of
the window receive it whatever their cursors. A change a window relays (received by bundle) joins
its stream too, so the PC that did not take the bundle gets it as well.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, text

from shebao_desk.changes.merge import COPY_MIN, PG_LIST, copy_if_all_new, pg_cursor, pg_list

SHARED = "*"
PUSH_LOCK = 0x5EBA0  # the central push lock (sync.central.PUSH_LOCK): streams grow in commit order
PERSON_TABLES = {"person", "card", "case", "loss_report", "inquiry", "temp_card", "case_rating"}
WINDOW_TABLES = {"attendance", "supervision_visit"}
CLERK_REFS = {"case": ("accepted_by", "completed_by"), "inquiry": ("owner_id",), "temp_card": ("returned_by",)}

_IDS = PG_LIST.format(":ids")  # the ids, sent as one pg_list parameter
# The column of a row that names its owner, a person (or, for an attendance day, a clerk: it has one id,
# clerk and day, wherever the clerk signs in, so it travels with the clerk: a window-scoped copy would
# diverge).
_OWNER_IN_ROW = {"card": "person_id", "case": "person_id", "inquiry": "person_id", "temp_card": "person_id",
                 "attendance": "clerk_id"}
# ...or names the row whose owner it shares: (its table, the column) (a loss report its card's; 好差评,
# issue 28: a rating its case's).
_OWNER_VIA = {"loss_report": ("card", "card_id"), "case_rating": ("case", "case_id")}
_CLERK_OF = frozenset(t for t, column in _OWNER_IN_ROW.items() if column == "clerk_id")  # rows a clerk owns
# row id -> its owner, on the central tables: the tables whose rows belong to an owner, and how to read it
_OWNER_OF = {table: f'SELECT id, {column} FROM "{table}" WHERE id = ANY({_IDS})'
             for table, column in _OWNER_IN_ROW.items()} | {
    table: f'SELECT r.id, o.{_OWNER_IN_ROW[owning]} FROM "{table}" r JOIN "{owning}" o ON o.id = r.{column} '
           f'WHERE r.id = ANY({_IDS})' for table, (owning, column) in _OWNER_VIA.items()}
_CLERKS_OF = {table: f'SELECT id, {", ".join(columns)} FROM "{table}" WHERE id = ANY({_IDS})'
              for table, columns in CLERK_REFS.items()}  # row id -> the clerks it names
_OWNED = frozenset(_OWNER_OF)
# Two lists (pg_list parameters :a and :b) as rows (a, b), zipped in order.
_PAIRS = "ROWS FROM (json_array_elements_text(CAST({} AS json)), json_array_elements_text(CAST({} AS json)))"
_COLUMNS = "c.change_id, c.table_name, c.row_id, c.hlc, c.origin, c.values"


def register_origin(conn: Connection, origin: str, window: str) -> None:
    conn.execute(text("INSERT INTO scope_origin (origin, window_code) VALUES (:o, :w) "
                      "ON CONFLICT (origin) DO UPDATE SET window_code = EXCLUDED.window_code"),
                 {"o": origin, "w": window})


def register_relayed(conn: Connection, windows: dict[str, str]) -> None:
    """The windows of sites whose changes a store relays, as their signed bundles named them: so
    their changes reach their own window before they ever sync themselves (their own check-in,
    :func:`register_origin`, has the last word)."""
    if windows:
        conn.execute(text("INSERT INTO scope_origin (origin, window_code) SELECT * FROM unnest(CAST(:o AS text[]), "
                          "CAST(:w AS text[])) ON CONFLICT (origin) DO NOTHING"),
                     {"o": list(windows), "w": [windows[o] for o in windows]})


def _windows_of_origins(conn: Connection, origins: Iterable[str], fallback: str | None) -> dict[str, str]:
    """A change relayed by bundle may come from an origin that never pushed itself: it is
    counted to the window that pushed it (or, with no pusher, to a window named as the origin)."""
    origins = list(set(origins))
    known: dict[str, str] = dict(conn.execute(
        text("SELECT origin, window_code FROM scope_origin WHERE origin = ANY(:o)"), {"o": origins}).all())
    for origin in set(origins) - set(known) if fallback is None else ():
        # Not registered (a log from before scoping): a case number names its window and workstation
        # (a scan of the cases, once per origin: registered when found).
        window = conn.scalar(text(
            'SELECT left(number, length(:o) - length(workstation)) FROM "case" '
            "WHERE left(number, length(:o) + 1) = :o || '-' AND right(:o, length(workstation)) = workstation "
            "LIMIT 1"), {"o": origin})
        if window:
            register_origin(conn, origin, window)
            known[origin] = window
    return {o: known.get(o, fallback or o) for o in origins}


def _lookup(conn: Connection, sql: str, ids: set[str]) -> Sequence[tuple[Any, ...]]:
    return conn.execute(text(sql), {"ids": pg_list(sorted(ids))}).all() if ids else []


def _static_scope(table: str, row_id: str, window: str) -> str | None:
    """The scope of a change that needs no row looked up (None: it does): a person's own row, a
    clerk's account, a window's own business, shared reference data."""
    if table == "audit_entry" or table in _OWNED:
        return None
    if table == "person":
        return row_id
    if table == "clerk":
        return "c:" + row_id
    if table in WINDOW_TABLES:
        return window
    return SHARED


def _target(change: dict[str, Any]) -> tuple[Any, Any, bool]:
    """(table, row id) of the row a change is about (an audit entry: the audited row), and whether it is
    an audit entry."""
    if change["table_name"] != "audit_entry":
        return change["table_name"], change["row_id"], False
    values = change["values"] if isinstance(change["values"], dict) else {}
    return values.get("table_name"), values.get("row_id"), True


def _needs_row(change: dict[str, Any]) -> bool:
    """Whether the change's scope is its row's owner, which only the merged row can confirm."""
    return _target(change)[0] in _OWNED


def _as_inserted(change: dict[str, Any], scope: str, inserted: Mapping[tuple[str, str], dict[str, Any]] | None) -> bool:
    """Whether ``scope``, presumed for a change of a row with an owner (or its audit entry), is the one the
    merged row gives: the merge inserted the row, and the owner its written values name is someone (the
    scope of nobody depends on the window a change came from: left to :func:`scopes_of`)."""
    if not inserted:
        return False
    table, row_id, _ = _target(change)
    values = inserted.get((table, row_id))
    column = _OWNER_IN_ROW.get(table)
    if values is None or column is None:
        return False
    owner = values.get(column)
    return isinstance(owner, str) and owner != "" and scope == _owner_scope(table, owner, "")


def _presumed_scope(change: dict[str, Any], window: str) -> str | None:
    """The scope a row's change most likely has, from the owner its own values name (an insert names
    it): checked against the merged row by :func:`assign`, which rewrites the few that differ."""
    column = _OWNER_IN_ROW.get(change["table_name"])
    values = change["values"]
    if column is None or not isinstance(values, dict) or column not in values:
        return None
    owner = values[column]
    if owner is not None and not isinstance(owner, str):  # not an id: left to the merged row
        return None
    return _owner_scope(change["table_name"], owner, window)


def _owner_scope(table: str, owner: str | None, window: str) -> str:
    """The scope a row's owner makes: the person's id, ``c:`` and the clerk's; nobody named (an inquiry
    about nobody in particular): the window."""
    if not owner:
        return window
    return "c:" + owner if table in _CLERK_OF else owner


def _audit_scope(table: Any, row_id: Any, window: str) -> str | None:
    """The scope of an audit entry of a row that has no owner but itself (as :func:`scopes_of` gives it)."""
    if table in ("person", "clerk"):
        return None if not row_id else row_id if table == "person" else "c:" + row_id
    return window


def windows_of(conn: Connection, changes: list[dict[str, Any]], window: str | None) -> dict[str, str]:
    """The window each origin of these pushed changes counts to (see :func:`_windows_of_origins`)."""
    return _windows_of_origins(conn, (c["origin"] for c in changes), window)


def prescopes(conn: Connection, changes: list[dict[str, Any]], window: str,
              window_of: dict[str, str] | None = None) -> dict[str, str]:
    """Before a push is merged, each change's scope as far as it can be told: a person's own changes and
    their audit entries for certain; a card's, a case's (any row with an owner) and their audit entries
    presumed, from the owner the row's insert in this batch names, or its row's owner as central holds it
    now. So they are written with the log rows; :func:`assign` checks the presumed ones against the merged
    rows and rewrites the few that differ, instead of an UPDATE of every one (#29: 80,000 cards and cases
    of a city's push, 1.5 s of 12; half of a real push is audit entries). ``window_of``: :func:`windows_of`
    of these changes, when the caller has it."""
    window_of = window_of if window_of is not None else windows_of(conn, changes, window)
    windows = {o: "w:" + w for o, w in window_of.items()}
    out: dict[str, str] = {}
    owners: dict[str, str] = {}  # a row with an owner -> the scope that owner makes
    owned: list[tuple[str, Any, Any]] = []  # (change id, table, row id) of the changes of owned rows
    via = []
    for c in changes:
        table, row_id, audit_of = _target(c)
        if table in _OWNED:
            owned.append((c["change_id"], table, row_id))
            if audit_of:
                continue
            if table in _OWNER_VIA:
                via.append(c)
            elif (scope := _presumed_scope(c, windows[c["origin"]])) is not None:
                owners.setdefault(row_id, scope)
            continue
        own_window = windows[c["origin"]]
        scope = _audit_scope(table, row_id, own_window) if audit_of else _static_scope(table, row_id, own_window)
        if scope is not None:
            out[c["change_id"]] = scope
    # Rows not inserted by this batch: as central holds them (a row not there yet is left to the merge).
    _owners_at_central(conn, owners, {(t, r) for _, t, r in owned if r and r not in owners}, window)
    # A loss report new to central shares its card's owner, a rating its case's.
    refs = {c["row_id"]: (_OWNER_VIA[c["table_name"]][0], ref) for c in via
            if c["row_id"] not in owners and isinstance(c["values"], dict)
            and isinstance(ref := c["values"].get(_OWNER_VIA[c["table_name"]][1]), str)}
    _owners_at_central(conn, owners, {ref for ref in refs.values() if ref[1] not in owners}, window)
    for row_id, (_, ref) in refs.items():
        if ref in owners:
            owners[row_id] = owners[ref]
    for change_id, _, row_id in owned:
        if (scope := owners.get(row_id)) is not None:
            out[change_id] = scope
    return out


def _owners_at_central(conn: Connection, owners: dict[str, str], rows: set[tuple[Any, Any]], window: str) -> None:
    """Add to ``owners`` the scopes of these (table, row id) as central's rows now say (as
    :func:`scopes_of` has them)."""
    for (table, row_id), owner in _row_owners(conn, rows).items():
        owners[row_id] = _owner_scope(table, owner, "w:" + window)


def _row_owners(conn: Connection, rows: Iterable[tuple[Any, Any]]) -> dict[tuple[str, str], str | None]:
    """(table, row id) -> the owner central's row names, for those of these rows central holds."""
    by_table: dict[str, set[str]] = defaultdict(set)
    for table, row_id in rows:
        by_table[table].add(row_id)
    return {(table, row_id): owner for table, ids in by_table.items()
            for row_id, owner in _lookup(conn, _OWNER_OF[table], ids)}


def scopes_of(conn: Connection, changes: list[dict[str, Any]], window_of: dict[str, str]) -> dict[str, str]:
    """change_id -> scope, from the rows as they now stand in the central tables."""
    person_of = _row_owners(conn, {(table, row_id) for table, row_id, _ in map(_target, changes) if table in _OWNED})
    # The changes of rows that are in this batch but were refused (held back in quarantine at their
    # sender) are not in the tables: the audit entries of such a row wait for it (pending_scope).
    out = {}
    for c in changes:
        window = "w:" + window_of[c["origin"]]
        target, target_id, audit_of = _target(c)
        if not audit_of and (static := _static_scope(target, target_id, window)) is not None:
            out[c["change_id"]] = static
            continue
        if audit_of and target in _OWNED and (target, target_id) not in person_of:
            scope = pending_scope(target, target_id)  # its row is not here yet: it follows the row
        elif target == "person":
            scope = target_id
        elif target in _OWNED and target not in _CLERK_OF:
            scope = person_of.get((target, target_id)) or window  # an inquiry about nobody in particular
        elif target == "clerk":
            scope = "c:" + target_id
        elif target in _CLERK_OF and (clerk_id := person_of.get((target, target_id))):
            scope = "c:" + clerk_id
        elif target in WINDOW_TABLES or audit_of:
            scope = window
        else:
            scope = SHARED
        out[c["change_id"]] = scope
    return out


def pending_scope(table: str, row_id: str) -> str:
    """An audit entry pushed before the row it describes reached central: in no stream until the
    row arrives, then in the row's (:func:`_settle_pending`), so every window holding the row gets it."""
    return "r:" + row_id  # row ids are UUIDs: unique across tables


def _settle_pending(conn: Connection, fresh: list[Any], by_id: dict[str, dict[str, Any]]) -> list[tuple[int, str, str]]:
    """Audit entries that waited for rows now scoped: they take the rows' scopes. Returns them as
    (seq, change_id, scope), to be appended to the streams with the rows."""
    resolved = {pending_scope(by_id[cid]["table_name"], by_id[cid]["row_id"]): scope for _, cid, scope in fresh
                if by_id[cid]["table_name"] in _OWNED}
    if not resolved:
        return []
    keys = sorted(resolved)
    rows = conn.execute(text(f"UPDATE sync_change c SET scope = v.scope FROM {_PAIRS.format(':k', ':s')} "
                             "AS v(key, scope) WHERE c.scope = v.key RETURNING c.seq, c.change_id, c.scope"),
                        {"k": pg_list(keys), "s": pg_list([resolved[k] for k in keys])}).all()
    return [(seq, change_id, scope) for seq, change_id, scope in rows]


def assign(conn: Connection, changes: list[dict[str, Any]], window: str | None,
           logged_after: int | None = None, inserted: Mapping[tuple[str, str], dict[str, Any]] | None = None,
           window_of: dict[str, str] | None = None) -> int:
    """After a pushed batch is merged (same transaction, under the push lock): scope the new
    changes, record which windows now hold whom, and append them to those windows' streams.
    ``window``: the pushing workstation's (None when scoping an existing log, see :func:`backfill`).
    A window that meets a person for the first time (a person it created offline who was already
    known elsewhere) gets the person's earlier history first, as after a lookup.
    ``logged_after``: the log's last seq before this batch was merged; the changes logged since are
    this batch's new ones, most of them scoped as they were logged (:func:`prescopes`). ``inserted``: the rows
    the merge inserted, with the values it wrote (``ApplyResult.inserted``): a scope presumed from the owner
    they name needs no look at the merged row. ``window_of``: :func:`windows_of` of these
    changes, when the caller has it."""
    if not changes:
        return 0
    if window_of is None:
        window_of = windows_of(conn, changes, window)
    by_id = {c["change_id"]: c for c in changes}
    fresh: Sequence[Any]
    if logged_after is None:
        scopes = scopes_of(conn, changes, window_of)
        ids = list(scopes)
        fresh = _scope(conn, ids, scopes)
    else:
        logged = conn.execute(text("SELECT seq, change_id, scope FROM sync_change WHERE seq > :a ORDER BY seq"),
                              {"a": logged_after}).all()
        bare = [by_id[cid] for _, cid, scope in logged if scope is None]
        presumed = [by_id[cid] for _, cid, scope in logged
                    if scope is not None and _needs_row(by_id[cid]) and not _as_inserted(by_id[cid], scope, inserted)]
        scopes = {cid: scope for _, cid, scope in logged if scope is not None}
        found = scopes_of(conn, bare + presumed, window_of) if bare or presumed else {}
        wrong = [c["change_id"] for c in presumed if found[c["change_id"]] != scopes[c["change_id"]]]
        disproved = set(wrong)
        scopes.update(found)
        fresh = [r for r in logged if r[2] is not None and r[1] not in disproved]
        fresh += _scope(conn, [c["change_id"] for c in bare], scopes) if bare else []
        fresh += _scope(conn, wrong, scopes, rewrite=True) if wrong else []
    if not fresh:
        if window:
            _relay(conn, changes, window, {})
        return 0
    fresh = [(f[0], f[1], f[2]) for f in fresh if not f[2].startswith("r:")]  # pending: in no stream yet
    if not fresh:
        if window:
            _relay(conn, changes, window, {})
        return 0
    settled = _settle_pending(conn, fresh, by_id)
    members = set()
    for _, change_id, scope in fresh:
        if scope == SHARED or scope.startswith("w:"):
            continue
        members.add((window_of[by_id[change_id]["origin"]], scope))
        if window:
            members.add((window, scope))  # the pushing window holds it too (a change relayed by bundle)
    first = min(s for s, _, _ in fresh)
    born = frozenset(by_id[cid]["row_id"] for _, cid, _ in fresh
                     if by_id[cid]["table_name"] == "person" and "id" in by_id[cid]["values"])
    new = _add_members(conn, members, born)
    known = _with_history(conn, {key for _, key in new}, first)  # most are new people: nothing to bring
    by_window: dict[str, list[str]] = defaultdict(list)
    for w, key in new:
        if key in known:
            by_window[w].append(key)
    for w, keys in sorted(by_window.items()):
        _bring(conn, w, keys, before=first)
    persons = {scope for _, _, scope in fresh if scope != SHARED and ":" not in scope}
    _follow_clerks(conn, [by_id[cid] for _, cid, scope in fresh if scope in persons], scopes, inserted or {})
    fresh = sorted(fresh + settled)
    seqs = [s for s, _, _ in fresh]
    conn.execute(text(
        "INSERT INTO sync_scope (window_code, change_seq) "
        f"WITH b AS (SELECT CAST(v.seq AS bigint) AS seq, v.scope FROM {_PAIRS.format(':seqs', ':scopes')} "
        "  AS v(seq, scope)) "
        "SELECT w, seq FROM ("
        "  SELECT m.window_code AS w, b.seq FROM b JOIN scope_member m ON m.key = b.scope"
        "  UNION ALL SELECT substr(b.scope, 3), b.seq FROM b WHERE b.scope LIKE 'w:%'"
        "  UNION ALL SELECT '*', b.seq FROM b WHERE b.scope = '*'"
        ") fan ORDER BY seq, w"), {"seqs": pg_list(seqs), "scopes": pg_list([s for _, _, s in fresh])})
    if window:
        _relay(conn, changes, window, {cid: (seq, scope) for seq, cid, scope in fresh})
    return len(fresh)


def _scope(conn: Connection, ids: list[str], scopes: dict[str, str], rewrite: bool = False) -> Sequence[Any]:
    """Write the scopes of these changes (those not scoped yet; ``rewrite``: a presumed scope the merged
    row disproved as well); returns them as (seq, change_id, scope)."""
    unscoped = "" if rewrite else " AND c.scope IS NULL"
    return conn.execute(text(
        f"UPDATE sync_change c SET scope = v.scope FROM {_PAIRS.format(':ids', ':scopes')} "
        f"AS v(id, scope) WHERE c.change_id = v.id{unscoped} RETURNING c.seq, c.change_id, c.scope"),
        {"ids": pg_list(ids), "scopes": pg_list([scopes[i] for i in ids])}).all()


def _relay(conn: Connection, changes: list[dict[str, Any]], window: str, fresh: dict[str, tuple[int, str]]) -> None:
    """Every change a window pushes is held by that window, so it reaches the window's stream, and
    its other PCs hold it as well: a window-scoped change is appended to the stream, a person or
    clerk makes the window a member. Left out only what is surely there already: the window's own
    workstations' changes that this push brought first. Not just another window's changes
    (received by bundle): an origin not registered yet is counted to whichever window pushes its
    changes first, so its own window, pushing them later, must be made to hold them too.
    ``fresh``: the changes this push scoped, with their (seq, scope): not looked up again."""
    own = set(conn.scalars(text("SELECT origin FROM scope_origin WHERE window_code = :w"), {"w": window}))
    ids = list({c["change_id"] for c in changes if c["change_id"] not in fresh})
    relayed = {c["change_id"] for c in changes if c["change_id"] in fresh and c["origin"] not in own}
    scoped: list[tuple[int, str, str]] = [(*fresh[cid], cid) for cid in relayed]
    if not ids and not scoped:
        return
    if ids:
        scoped += [(seq, scope, cid) for seq, scope, cid in conn.execute(text(
            f"SELECT seq, scope, change_id FROM sync_change WHERE change_id = ANY({_IDS}) AND scope IS NOT NULL"),
            {"ids": pg_list(ids)})]
    # (a fresh one's person or clerk: the pushing window was made a member by assign)
    keys = {scope for _, scope, cid in scoped
            if scope != SHARED and not scope.startswith(("w:", "r:")) and cid not in fresh}
    new = [key for _, key in _add_members(conn, {(window, key) for key in keys})]
    if new:
        _bring(conn, window, sorted(new))
    others = sorted(seq for seq, scope, _ in scoped if scope.startswith("w:") and scope != "w:" + window)
    if others:
        conn.execute(text(
            "INSERT INTO sync_scope (window_code, change_seq) SELECT CAST(:w AS varchar), seq FROM unnest(CAST(:seqs AS bigint[])) "
            "AS v(seq) WHERE NOT EXISTS (SELECT 1 FROM sync_scope s WHERE s.window_code = CAST(:w AS varchar) AND s.change_seq = v.seq) "
            "ORDER BY seq"), {"w": window, "seqs": others})


def _add_members(conn: Connection, members: Iterable[tuple[str, str]],
                 born: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """Record (window, key) pairs; returns those that are new. ``born``: keys of persons this push
    inserts, whose pairs are most likely new: COPYed straight in when there are many (a first push of
    100,000 people), through ``ON CONFLICT`` like the rest should one be there already."""
    members = sorted(set(members))
    if not members:
        return []
    added: list[tuple[str, str]] = []
    with pg_cursor(conn) as cursor:  # plain tuples back: thousands of new people per push
        straight = [m for m in members if m[1] in born]
        if len(straight) >= COPY_MIN and copy_if_all_new(cursor, "scope_member (window_code, key)", straight):
            added, members = straight, [m for m in members if m[1] not in born]
            if not members:
                return added
        cursor.execute(f"INSERT INTO scope_member (window_code, key) SELECT * FROM {_PAIRS.format('%s', '%s')} "
                       "ON CONFLICT DO NOTHING RETURNING window_code, key",
                       (pg_list([m[0] for m in members]), pg_list([m[1] for m in members])))
        return added + list(cursor.fetchall())


def _append_history(conn: Connection, window: str, keys: list[str], before: int | None = None) -> None:
    if keys:
        conn.execute(text("INSERT INTO sync_scope (window_code, change_seq) SELECT :w, seq FROM sync_change "
                          "WHERE scope = ANY(:keys) AND seq < :before ORDER BY seq"),
                     {"w": window, "keys": keys, "before": before or 2**62})


def _with_history(conn: Connection, keys: set[str], before: int) -> set[str]:
    if not keys:
        return set()
    return set(conn.scalars(text(
        "SELECT k FROM json_array_elements_text(CAST(:keys AS json)) AS k WHERE EXISTS "
        "(SELECT 1 FROM sync_change WHERE scope = k AND seq < :before)"), {"keys": pg_list(sorted(keys)), "before": before}))


# The clerks the cases, inquiries and temporary cards of the persons :p name (NULL or '' for none).
_CLERKS_NAMED = ('SELECT accepted_by AS k FROM "case" WHERE person_id = ANY(:p) UNION SELECT completed_by FROM "case" '
                 'WHERE person_id = ANY(:p) UNION SELECT owner_id FROM inquiry WHERE person_id = ANY(:p) '
                 'UNION SELECT returned_by FROM temp_card WHERE person_id = ANY(:p)')


def _clerks_named(conn: Connection, persons: list[str]) -> set[str]:
    """The clerks the cases, inquiries and temporary cards of these persons name."""
    if not persons:
        return set()
    return {k for (k,) in conn.execute(text(_CLERKS_NAMED), {"p": persons}) if k}


def _bring(conn: Connection, window: str, keys: list[str], before: int | None = None) -> None:
    """Keys (persons, clerks) new to a window: append their history before ``before`` to its
    stream, with the accounts of the clerks their cases name (before them, by log order)."""
    clerks = _clerks_named(conn, [k for k in keys if ":" not in k])
    new_clerks = [k for _, k in _add_members(conn, {(window, "c:" + c) for c in clerks})]
    _append_history(conn, window, sorted(set(new_clerks) | set(keys)), before)


def _follow_clerks(conn: Connection, changes: list[dict[str, Any]], scopes: dict[str, str],
                   inserted: Mapping[tuple[str, str], dict[str, Any]]) -> None:
    """A case names the clerks who accepted and completed it; every window holding the person
    must hold those clerk rows too (the local store checks its foreign keys). A clerk new to a
    window has its history appended before the change that names it. ``inserted``: rows the merge
    inserted, with the values it wrote (see :func:`assign`): their clerks are read from those."""
    wanted: dict[str, set[str]] = defaultdict(set)
    refs: set[tuple[str, str]] = set()  # (person, clerk)
    for c in changes:
        if (columns := CLERK_REFS.get(c["table_name"])) is None:
            continue
        if (values := inserted.get((c["table_name"], c["row_id"]))) is None:
            wanted[c["table_name"]].add(c["row_id"])
            continue
        person = scopes[c["change_id"]]
        refs |= {(person, k) for k in map(values.get, columns) if k}
    if wanted:
        person_of_row = {(c["table_name"], c["row_id"]): scopes[c["change_id"]] for c in changes}
        for table, ids in wanted.items():
            for row_id, *clerks in _lookup(conn, _CLERKS_OF[table], ids):
                refs |= {(person_of_row[(table, row_id)], k) for k in clerks if k}
    if not refs:
        return
    holders: dict[str, set[str]] = defaultdict(set)
    for w, key in conn.execute(text("SELECT window_code, key FROM scope_member WHERE key = ANY(:k)"),
                               {"k": sorted({p for p, _ in refs})}):
        holders[key].add(w)
    new = _add_members(conn, {(w, "c:" + clerk) for person, clerk in refs for w in holders[person]})
    by_window: dict[str, list[str]] = defaultdict(list)
    for w, key in new:
        by_window[w].append(key)
    for w, keys in sorted(by_window.items()):
        _append_history(conn, w, keys)


# adopt() in one round trip (the clerk waits at the counter): the same steps as _add_members and
# _bring, as data-modifying CTEs. Members are added only for a person new to the window; its
# history and that of the clerks new to the window join the window's stream in log order.
_ADOPT = (
    f"WITH clerks AS (SELECT 'c:' || k AS key FROM ({_CLERKS_NAMED}) named WHERE k <> ''), "
    "person_new AS (INSERT INTO scope_member (window_code, key) VALUES (:w, :p1) ON CONFLICT DO NOTHING "
    "RETURNING key), "
    "clerks_new AS (INSERT INTO scope_member (window_code, key) SELECT :w, key FROM clerks "
    "WHERE EXISTS (SELECT 1 FROM person_new) ON CONFLICT DO NOTHING RETURNING key), "
    "appended AS (INSERT INTO sync_scope (window_code, change_seq) SELECT :w, seq FROM sync_change "
    "WHERE scope = ANY(ARRAY(SELECT key FROM person_new UNION ALL SELECT key FROM clerks_new)) ORDER BY seq) "
    f"SELECT {_COLUMNS} FROM sync_change c "
    "WHERE c.scope = ANY(ARRAY(SELECT CAST(:p1 AS text) UNION ALL SELECT key FROM clerks)) ORDER BY c.seq")


def adopt(conn: Connection, window: str, person_id: str) -> list[dict[str, Any]]:
    """A window takes on a person (an on-demand lookup): from now on the person's changes reach
    the window; returns the person's history (and the clerks it names) to merge at once."""
    rows = conn.execute(text(_ADOPT), {"w": window, "p": [person_id], "p1": person_id}).all()
    return [dict(r._mapping) for r in rows]


def pull_batch(conn: Connection, window: str, cursor: int, batch: int) -> list[tuple[int, dict[str, Any]]]:
    """The next changes of this window's stream and the shared one, in stream order. A workstation's
    own changes come back too (skipped as already there), as before: a store restored from a backup
    gets back what it pushed after that backup."""
    part = (f"(SELECT s.pos, {_COLUMNS} FROM sync_scope s JOIN sync_change c ON c.seq = s.change_seq "
            "WHERE s.window_code = {w} AND s.pos > :cursor ORDER BY s.pos LIMIT :n)")
    result = conn.execute(text(f"{part.format(w=':window')} UNION ALL {part.format(w=repr(SHARED))} "
                               "ORDER BY pos LIMIT :n"), {"window": window, "cursor": cursor, "n": batch})
    names = list(result.keys())[1:]  # once: a row's own _mapping builds its keys anew, 30 µs a row
    return [(r[0], dict(zip(names, r[1:], strict=True))) for r in result.all()]


def stream_end(conn: Connection, window: str) -> int:
    end: int = conn.scalar(text("SELECT coalesce(max(pos), 0) FROM sync_scope WHERE window_code IN (:w, '*')"),
                           {"w": window})
    return end


def backfill(engine: Engine, batch: int = 20_000) -> int:
    """Scope the changes of a central log written before scoped replication (or by a bulk load),
    in log order, batch by batch, with the same rules as a push. Returns how many were scoped."""
    done = 0
    with engine.connect() as conn:  # the usual case, without waiting for the lock: nothing to do
        if not conn.scalar(text("SELECT EXISTS (SELECT 1 FROM sync_change WHERE scope IS NULL)")):
            return 0
    while True:
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PUSH_LOCK})
            rows = conn.execute(text(f"SELECT {_COLUMNS} FROM sync_change c WHERE c.scope IS NULL "
                                     "ORDER BY c.seq LIMIT :n"), {"n": batch}).all()
            if not rows:
                return done
            done += assign(conn, [dict(r._mapping) for r in rows], None)
