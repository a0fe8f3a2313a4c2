"""The pages of the main window, in navigation order."""

from __future__ import annotations


def page_classes():
    """(key, label, class, supervisor only) for each page."""
    from shebao_desk.ui.pages.devices import DevicesPage
    from shebao_desk.ui.pages.intake import IntakePage
    from shebao_desk.ui.pages.search import SearchPage
    from shebao_desk.ui.pages.settings import SettingsPage
    from shebao_desk.ui.pages.today import TodayPage
    return [
        ("intake", "受理", IntakePage, False),
        ("search", "查询", SearchPage, False),
        ("today", "今日", TodayPage, False),
        ("devices", "设备", DevicesPage, False),
        ("settings", "设置", SettingsPage, True),
    ]
