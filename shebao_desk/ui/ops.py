"""One way to run an operation (after Anki's ``CollectionOp``/``QueryOp``).

A page says what to run, what to do with the result and what it changes::

    run_op(self, ctx, work, done, unit="save outlet", hint=self.hint, changes={"outlets"})

The helper opens the unit of work (``unit=`` a write transaction in the clerk's
name, ``read=True`` a read session, neither: no session), runs it on the
database worker, hands every failure to ``present_failure`` (the traceback to
the log at ERROR, masked; one Chinese line to the clerk) and, on success, tells
every page listening on ``ctx.changes`` what changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from shebao_desk.ui.errors import clerk_message, log_failure, show_message


class Changes(QObject):
    """What an operation changed ("cases", "outlets", …); pages refresh on the kinds they show."""

    changed = Signal(object)  # frozenset[str]


def present_failure(parent: QWidget | None, error: BaseException, hint: Any = None, what: str = "operation",
                    quiet: bool = False, title: str = "无法完成") -> str:
    """The one presenter: log the failure, show one Chinese line (in the page's hint or label, or a dialog).

    ``quiet``: a background status refresh that nobody asked for logs its failure but shows nothing.
    """
    log_failure(error, what)
    text = clerk_message(error)
    if quiet:
        return text
    if hint is None:
        show_message(parent, text, title)
    elif hasattr(hint, "problem"):
        hint.problem(text)
    else:  # a plain label
        hint.setText(text)
    return text


def run_op(parent: QWidget | None, ctx: Any, work: Callable[..., Any],
           done: Callable[[Any], None] | None = None, *, unit: str | None = None, read: bool = False,
           changes: Iterable[str] = (), hint: Any = None,
           failed: Callable[[BaseException], None] | None = None, worker: Any = None, quiet: bool = False,
           title: str = "无法完成") -> Any:
    """Run ``work`` off the GUI thread; ``work(session)`` when ``unit`` or ``read`` is given.

    ``failed`` runs after the presenter (to re-enable a button, say), never instead of it.
    """
    what = unit or str(getattr(work, "__qualname__", "operation"))
    kinds = frozenset(changes)

    def job() -> Any:
        if unit is not None:
            clerk_id = ctx.clerk.id if ctx.clerk is not None else None
            with ctx.store.unit(clerk_id, ctx.workstation, unit) as session:
                return work(session)
        if read:
            with ctx.store.read() as session:
                return work(session)
        return work()

    def on_done(result: Any) -> None:
        if done is not None:
            done(result)
        if kinds and getattr(ctx, "changes", None) is not None:
            ctx.changes.changed.emit(kinds)

    def on_error(error: BaseException) -> None:
        present_failure(parent, error, hint, what, quiet, title)
        if failed is not None:
            failed(error)

    on_error.presents = True  # type: ignore[attr-defined,unused-ignore]  # the worker need not log it again
    return (worker or ctx.db).run(job, on_done, on_error)
