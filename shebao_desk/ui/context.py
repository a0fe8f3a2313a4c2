"""What every page needs: the store, the rules, this site, the signed-in clerk, the workers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from shebao_desk.services.actor import Actor
from shebao_desk.ui.ops import Changes
from shebao_desk.ui.worker import Worker

if TYPE_CHECKING:  # the start dialog must not wait for SQLAlchemy to import
    from shebao_desk.models import Clerk, Site
    from shebao_desk.config.policy import Policy
    from shebao_desk.store.database import Store
    from shebao_desk.ui.card_service import CardService


@dataclass
class AppContext:
    store: Store
    policy: Policy
    site: Site
    training: bool = False
    clerk: Clerk | None = None
    db: Worker = field(default_factory=lambda: Worker("db"))
    devices: Worker = field(default_factory=lambda: Worker("devices"))
    printer: Worker = field(default_factory=lambda: Worker("printer"))
    store_check: Worker = field(default_factory=lambda: Worker("store-check"))  # quick_check, behind the login
    changes: Changes = field(default_factory=Changes)  # what operations changed, for pages to refresh
    cards: "CardService | None" = None
    idcard_port: str = ""  # serial port of the resident ID card reader; "" = SHEBAO_IDCARD_PORT or detect
    scanner: str = ""  # SANE device for the ID copy; "" = SHEBAO_SCANNER or the first scanner found
    photo_folder: str = ""  # the photo station's folder; "" = SHEBAO_PHOTO_FOLDER or site.toml [photo] watch_folder
    # Open the first paper's preview after a case is saved. Off: Ctrl+P prints every paper at once and
    # the preview stays one button away.
    auto_preview: bool = False

    @property
    def workstation(self) -> str:
        return self.site.workstation_id

    @property
    def store_path(self) -> Path:
        """The store's file; the case folders and drafts live beside it."""
        if self.store.path is None:
            raise RuntimeError("the store has no file")
        return self.store.path

    @property
    def card_service(self) -> CardService:
        """The card readers; build_context starts them before any page is made."""
        if self.cards is None:
            raise RuntimeError("the card service is not running")
        return self.cards

    @property
    def actor(self) -> Actor:
        """Whom a use case runs as; pages that change the store are open only to a signed-in clerk."""
        if self.clerk is None:
            raise RuntimeError("no clerk is signed in")
        return Actor(self.clerk, self.site)

    def shutdown(self) -> None:
        if self.cards is not None:
            self.cards.stop()
        self.store.interrupt_check()  # a check still reading a million cases must not hold the exit
        for worker in (self.db, self.devices, self.printer, self.store_check):
            worker.shutdown()
