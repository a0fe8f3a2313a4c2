"""The pages of the main window, in navigation order."""

from __future__ import annotations

from shebao_desk.ui.pages.attendance import AttendancePage
from shebao_desk.ui.pages.conflicts import ConflictsPage
from shebao_desk.ui.pages.devices import DevicesPage
from shebao_desk.ui.pages.guide import GuidePage
from shebao_desk.ui.pages.inquiries import InquiriesPage
from shebao_desk.ui.pages.intake import IntakePage
from shebao_desk.ui.pages.outlets import OutletsPage
from shebao_desk.ui.pages.ratings import RatingsPage
from shebao_desk.ui.pages.search import SearchPage
from shebao_desk.ui.pages.self_check import SelfCheckPage
from shebao_desk.ui.pages.settings import SettingsPage
from shebao_desk.ui.pages.statistics import StatisticsPage
from shebao_desk.ui.pages.today import TodayPage


def page_classes():
    """(key, label, class, supervisor only) for each page."""
    return [
        ("intake", "受理", IntakePage, False),
        ("search", "查询", SearchPage, False),
        ("today", "今日", TodayPage, False),
        ("inquiries", "咨询", InquiriesPage, False),
        ("devices", "设备", DevicesPage, False),
        ("guide", "指南", GuidePage, False),
        ("self_check", "自查", SelfCheckPage, False),
        ("statistics", "统计", StatisticsPage, True),
        ("ratings", "好差评", RatingsPage, True),  # issue 28
        ("attendance", "考勤", AttendancePage, True),
        ("outlets", "网点", OutletsPage, True),
        ("conflicts", "冲突", ConflictsPage, True),
        ("settings", "设置", SettingsPage, True),
    ]
