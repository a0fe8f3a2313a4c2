"""Run as a child process: print seconds from interpreter start to the first window shown,
and (program only) to the start dialog ready for the password.

``python -m benchmarks.startup_probe bare|login|check DB``

``check`` waits, after login ready, for the store's background quick_check and prints, after the two
times, the seconds the check took and the GUI thread's longest stall meanwhile (ms).
"""

import sys
import time

START = time.perf_counter()


def main() -> None:
    mode = sys.argv[1]
    from PySide6.QtCore import QTimer
    if mode == "bare":
        from PySide6.QtWidgets import QApplication, QLabel
        app = QApplication([])
        window = QLabel("社会保障卡")
        window.show()
    else:
        from pathlib import Path

        from shebao_desk.ui.app import make_app, start_dialog
        from shebao_desk.ui.worker import Worker
        app = make_app([])
        window, state = start_dialog(Path(sys.argv[2]), False, "A", Worker("startup"))
    marks = {}
    if mode == "check":
        from benchmarks.bench_ui import StallMeter
        meter = StallMeter()

    def poll() -> None:
        if "shown" not in marks:
            marks["shown"] = time.process_time()
        if mode == "bare" or "ctx" in state:
            marks["ready"] = time.process_time()
            if mode == "check":
                meter.start()
                QTimer.singleShot(1, checked)
                return
            print(f"{marks['shown']:.4f} {marks['ready']:.4f}", flush=True)
            if mode != "bare":
                state["ctx"].shutdown()
            app.quit()
        else:
            QTimer.singleShot(1, poll)

    def checked() -> None:  # the GUI thread keeps beating while the check reads the store
        if state["ctx"].store_check.pending:
            QTimer.singleShot(1, checked)
            return
        took = time.perf_counter() - START - marks["ready"]
        print(f"{marks['shown']:.4f} {marks['ready']:.4f} {took:.4f} {meter.stop():.2f}", flush=True)
        state["ctx"].shutdown()
        app.quit()

    QTimer.singleShot(0, poll)
    app.exec()


main()
