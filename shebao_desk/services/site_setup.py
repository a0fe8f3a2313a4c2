"""First set-up of a workstation: its site row, claimed in the central register when it can be reached."""

from __future__ import annotations

from shebao_desk.config.site_config import SiteConfig
from shebao_desk.errors import ShebaoError
from shebao_desk.models import Site
from shebao_desk.store.database import Store
from shebao_desk.store.site_identity import check_codes, ensure_site, get_site
from shebao_desk.sync.central import claim


def set_up_site(store: Store, config: SiteConfig, window_code: str, workstation_id: str, *,
                central_url: str | None = None, central_required: bool = False, training: bool = False) -> Site:
    """The site row, claimed in the central register of workstations when it can be reached.

    The claim happens before the local set-up commits, so a clash (another PC holds these codes)
    leaves both databases as they were. Unreachable and not required (the GUI's first start): the
    claim is made at the first sync instead."""
    window, workstation = check_codes(window_code, workstation_id)
    url = central_url if central_url is not None else ("" if training else config.central_url)
    with store.unit(None, workstation, "setup") as s:
        site = get_site(s)
        if site is not None and (site.window_code, site.workstation_id) != (window, workstation):
            raise ShebaoError(f"本机已设置为窗口 {site.window_code}、工作站 {site.workstation_id}，不能改为 "
                              f"{window}{workstation}；如需更换，请新建数据库")
        site = ensure_site(s, config, workstation, window_code=window, training=training)
        if url:
            claim(s.connection(), url, f"{window}{workstation}", required=central_required)
    return site
