"""Done-when of issue 28: one X screen with two RandR monitors (Xvfb + ``xrandr --setmonitor``).

The outer test starts its own Xvfb, splits its one screen into two monitors and runs the inner
test in a child process on that display with Qt's xcb platform (this process's QApplication
is already on another platform). The inner test is the clerk's and the applicant's day at the
counter: a 申领 typed by the clerk, shown masked on monitor 2, confirmed, signed with synthetic
strokes, rated 满意; the case then holds the confirmation, the signature's hash and the rating,
and the signed form PDF has the signature image.
"""

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication
from pypdf import PdfReader
from sqlalchemy import select

from shebao_desk.models import Case, CaseRating

from conftest import a_photo, applicant, fill

INNER = "SHEBAO_TWO_MONITORS"
WIDTH, HEIGHT = 1280, 720


def _free_display() -> int:
    for n in range(140, 180):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return n
    raise RuntimeError("no free X display")


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get(INNER) is not None, reason="the outer test only")
@pytest.mark.skipif(not (shutil.which("Xvfb") and shutil.which("xrandr")), reason="needs Xvfb and xrandr")
def test_applicant_screen_on_the_second_randr_monitor(tmp_path):
    n = _free_display()
    xvfb = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", f"{2 * WIDTH}x{HEIGHT}x24", "-nolisten", "tcp",
                             "-noreset"],  # the monitors xrandr sets outlive its connection
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{n}").exists():
            assert time.monotonic() < deadline, "Xvfb did not start"
            time.sleep(0.1)
        env = dict(os.environ, DISPLAY=f":{n}", QT_QPA_PLATFORM="xcb", **{INNER: "1"})
        for name, x, output in (("CLERK", 0, "screen"), ("APPLICANT", WIDTH, "none")):
            subprocess.run(["xrandr", "--setmonitor", name, f"{WIDTH}/339x{HEIGHT}/190+{x}+0", output],
                           env=env, check=True, capture_output=True, timeout=30)
        monitors = subprocess.run(["xrandr", "--listmonitors"], env=env, capture_output=True, text=True,
                                  check=True, timeout=30).stdout
        assert "Monitors: 2" in monitors, monitors
        inner = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                f"{__file__}::test_the_counter_on_two_monitors"], env=env, cwd=Path(__file__).parent.parent,
                               capture_output=True, text=True, timeout=300, check=False)
        assert inner.returncode == 0 and "1 passed" in inner.stdout, inner.stdout[-4000:] + inner.stderr[-2000:]
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=10)


def synthetic_strokes(qtbot, pad):
    """A signature as a pen would draw it: press, moves, release — three strokes."""
    for y in (60, 110, 160):
        qtbot.mousePress(pad, Qt.MouseButton.LeftButton, pos=QPoint(40, y))
        for x in range(40, 400, 20):
            qtbot.mouseMove(pad, QPoint(x, y + (x // 20 % 3) * 8))
        qtbot.mouseRelease(pad, Qt.MouseButton.LeftButton, pos=QPoint(400, y))


@pytest.mark.skipif(os.environ.get(INNER) is None, reason="run by the outer test on its own two-monitor Xvfb")
def test_the_counter_on_two_monitors(make_window, qtbot):
    from shebao_desk.config.applicant_settings import SignatureSection
    screens = QGuiApplication.screens()
    assert len(screens) == 2, [s.name() for s in screens]
    window, ctx = make_window(monitor=False)
    page = window.pages["intake"]
    side, screen = page.applicant, page.applicant.screen
    side.settings = side.settings.model_copy(update={"signature": SignatureSection(mode="screen")})
    assert side.on_monitor
    qtbot.waitUntil(lambda: screen.windowHandle() is not None and screen.windowHandle().screen() is screens[1])
    assert screen.geometry().x() >= WIDTH  # on the applicant's monitor, not over the clerk's
    assert screen.pages.currentWidget() is screen.idle and ctx.policy.site.window_name in screen.shown_text()

    who = applicant(21)
    fill(page.form, id_number=who.id_number, name=who.name, phone="13800000000", address="商州区北新街 1 号")
    page.form.tick_all()
    page.form.set_photo(a_photo())
    qtbot.waitUntil(lambda: screen.pages.currentWidget() is screen.case_page and who.name in screen.shown_text())
    shown = screen.shown_text()
    assert who.id_number not in shown and "*" * 14 + who.id_number[-4:] in shown
    assert "申领" in shown and not screen.confirm_button.isVisible()  # a preview: nothing to confirm yet

    with qtbot.waitSignal(page.case_saved, timeout=20000) as saved:
        page.accept()
    result = saved.args[0]
    qtbot.waitUntil(lambda: screen.confirm_button.isVisible() and result.number in screen.shown_text())
    assert who.id_number not in screen.shown_text()
    qtbot.mouseClick(screen.confirm_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: screen.pages.currentWidget() is screen.signature_page, timeout=10000)
    synthetic_strokes(qtbot, screen.signature_pad)
    assert not screen.signature_pad.is_blank()
    qtbot.mouseClick(screen.signature_page.findChild(type(screen.confirm_button), "signature_done"),
                     Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: screen.pages.currentWidget() is screen.rating, timeout=20000)
    qtbot.mouseClick(screen.rating.level_buttons["满意"], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(screen.rating.submit, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: screen.pages.currentWidget() is screen.idle, timeout=10000)

    with ctx.store.read() as s:
        case = s.scalar(select(Case).where(Case.number == result.number))
        rating = s.scalar(select(CaseRating).where(CaseRating.case_id == case.id))
        assert case.applicant_confirmed_at is not None and len(case.applicant_confirmed) == 64
        assert rating.level == "满意" and rating.clerk_id == ctx.clerk.id and rating.follow_up_due is None
        signed_hash = case.signature_sha256
    signed = next(result.papers["business_form"].parent.glob("*-business_form-signed.pdf"))
    assert hashlib.sha256(signed.read_bytes()).hexdigest() == signed_hash
    page_one = PdfReader(signed).pages[0]
    assert len(page_one.images) >= 1 + len(PdfReader(result.papers["business_form"]).pages[0].images)


@pytest.mark.skipif(os.environ.get(INNER) is not None, reason="the outer process's tests")
def test_self_check_lists_the_applicant_side_as_informative(make_window, qtbot):
    window, ctx = make_window(monitor=False)
    page = window.show_page("self_check")
    qtbot.waitUntil(lambda: "申请人屏幕" in page.applicant_side.text(), timeout=15000)
    assert "仅供参考" in page.applicant_side.text() and page.table.rowCount() == 10  # not in the verdict


@pytest.mark.skipif(os.environ.get(INNER) is not None, reason="the outer process's tests")
def test_a_bad_rating_needs_a_reason_on_the_applicant_screen(make_window, qtbot):
    window, ctx = make_window(monitor=False)
    panel = window.pages["intake"].applicant.screen.rating
    got = []
    panel.rated.connect(lambda level, reasons: got.append((level, reasons)))
    assert not panel.reason_boxes["等候时间长"].isVisibleTo(panel)
    qtbot.mouseClick(panel.level_buttons["不满意"], Qt.MouseButton.LeftButton)
    assert panel.reason_boxes["等候时间长"].isVisibleTo(panel)
    qtbot.mouseClick(panel.submit, Qt.MouseButton.LeftButton)
    assert got == [] and "原因" in panel.message.text()
    panel.reason_boxes["等候时间长"].setChecked(True)
    qtbot.mouseClick(panel.submit, Qt.MouseButton.LeftButton)
    assert got == [("不满意", ["等候时间长"])]


@pytest.mark.skipif(os.environ.get(INNER) is not None, reason="the outer process's tests")
def test_ratings_page_shows_the_rate_and_follows_up_a_bad_rating(make_window, qtbot, policy):
    import datetime as dt
    from PySide6.QtCore import QDate
    from shebao_desk.clock import CHINA
    from shebao_desk.config.applicant_settings import load_applicant_settings
    from shebao_desk.services.actor import Actor
    from shebao_desk.services.ratings import record_rating
    from conftest import take
    window, ctx = make_window(monitor=False)
    actor = Actor(ctx.clerk, ctx.site)
    at = dt.datetime(2026, 3, 9, 10, tzinfo=CHINA).astimezone(dt.UTC)
    ids = [take(ctx.store, policy, (ctx.clerk, ctx.site), "apply", applicant(40 + i)).case.id for i in range(2)]
    record_rating(ctx.store, actor, load_applicant_settings(), policy.calendar, ids[0], "基本满意", [], now=at)
    record_rating(ctx.store, actor, load_applicant_settings(), policy.calendar, ids[1], "不满意", ["多次跑腿"], now=at)
    page = window.show_page("ratings")
    page.month.setDate(QDate(2026, 3, 1))
    qtbot.waitUntil(lambda: "2026年03月" in page.title.text() and page.complaints.rowCount() == 1, timeout=10000)
    assert [page.by_clerk.text(0, c) for c in range(4)] == [ctx.clerk.display_name, "2", "50.0%", "1"]
    assert page.complaints.text(0, 6).startswith("2026-03-30")
    page.complaints.selectRow(0)
    page.note.setText("已电话回访，说明补办流程")
    page.record_follow_up()
    qtbot.waitUntil(lambda: page.complaints.rowCount() == 0, timeout=10000)


@pytest.mark.skipif(os.environ.get(INNER) is not None, reason="the outer process's tests")
def test_the_next_applicant_never_sees_the_last_ones_case(make_window, qtbot):
    window, ctx = make_window(monitor=False)
    page = window.pages["intake"]
    screen = page.applicant.screen
    first, second = applicant(51, name="张一"), applicant(52, name="王二")
    fill(page.form, id_number=first.id_number, name=first.name, phone="13800000000", address="商州区北新街 1 号")
    page.form.tick_all()
    page.form.set_photo(a_photo())
    with qtbot.waitSignal(page.case_saved, timeout=20000) as saved:
        page.accept()
    qtbot.waitUntil(lambda: saved.args[0].number in screen.shown_text(), timeout=10000)
    fill(page.form, id_number=second.id_number, name=second.name)
    qtbot.waitUntil(lambda: second.name in screen.shown_text(), timeout=10000)
    shown = screen.shown_text()
    assert first.name not in shown and saved.args[0].number not in shown and first.id_number[-4:] not in shown
    assert not screen.confirm_button.isVisible()
