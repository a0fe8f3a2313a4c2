"""The window's rules as loaded data: catalogue, calendar and site parameters together.

Loading it validates every data file, so ``load_policy()`` at start is the one
place where a broken file under ``resources/`` stops the program with its name.
"""

from __future__ import annotations

from dataclasses import dataclass

from shebao_desk.catalogue import Catalogue, load_catalogue
from shebao_desk.regions import Regions, load_regions
from shebao_desk.site_config import SiteConfig, load_site_config
from shebao_desk.workdays import WorkCalendar, default_calendar


@dataclass(frozen=True)
class Policy:
    catalogue: Catalogue
    calendar: WorkCalendar
    site: SiteConfig
    regions: Regions


def load_policy() -> Policy:
    return Policy(load_catalogue(), default_calendar(), load_site_config(), load_regions())
