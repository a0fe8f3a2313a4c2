"""What every page needs: the store, the rules, this site, the signed-in clerk, the workers."""

from __future__ import annotations

from dataclasses import dataclass, field

from shebao_desk.models import Clerk, Site
from shebao_desk.policy import Policy
from shebao_desk.store import Store
from shebao_desk.ui.worker import Worker


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

    @property
    def workstation(self) -> str:
        return self.site.workstation_id

    def shutdown(self) -> None:
        for worker in (self.db, self.devices, self.printer):
            worker.shutdown()
