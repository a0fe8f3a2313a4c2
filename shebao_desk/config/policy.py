"""The window's rules as loaded data: catalogue, calendar and site parameters together.

Loading it validates every data file, so ``load_policy()`` at start is the one
place where a broken file under ``resources/`` stops the program with its name.
"""

from __future__ import annotations

from dataclasses import dataclass

from shebao_desk.config.catalogue import Catalogue, load_catalogue
from shebao_desk.config.document_layout import ethnicity_names, load_layout
from shebao_desk.config.regions import load_regions
from shebao_desk.config.applicant_settings import load_applicant_settings
from shebao_desk.config.service_guide import load_guide
from shebao_desk.config.site_config import SiteConfig, load_site_config
from shebao_desk.config.supervision import load_supervision
from shebao_desk.config.workdays import WorkCalendar, default_calendar
from shebao_desk.rules.idnumber import Regions


@dataclass(frozen=True)
class Policy:
    catalogue: Catalogue
    calendar: WorkCalendar
    site: SiteConfig
    regions: Regions


def load_policy() -> Policy:
    """Loads (and so validates) every data file the program uses."""
    policy = Policy(load_catalogue(), default_calendar(), load_site_config(), load_regions())
    load_layout()
    ethnicity_names()
    load_supervision()
    load_guide()
    load_applicant_settings()
    return policy
