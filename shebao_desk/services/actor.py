"""Who a use case runs as: the signed-in clerk at this site's workstation (no Qt, no SQLAlchemy load)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the start dialog imports this before SQLAlchemy has loaded
    from sqlalchemy.orm import Session

    from shebao_desk.models import Clerk, Site
    from shebao_desk.store.database import Store


@dataclass(frozen=True)
class Actor:
    clerk: Clerk
    site: Site

    @property
    def workstation(self) -> str:
        return self.site.workstation_id

    @contextmanager
    def unit(self, store: Store, action: str) -> Iterator[Session]:
        """One user action in this clerk's name: committed on success, rolled back on error."""
        with store.unit(self.clerk.id, self.site.workstation_id, action) as session:
            yield session
