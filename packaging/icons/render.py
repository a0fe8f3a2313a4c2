"""Renders shebao-desk.svg to the PNG sizes the desktop menus want and to a Windows .ico.

Run after changing the SVG: ``.venv/bin/python packaging/icons/render.py`` (needs PySide6, Pillow).
"""

from pathlib import Path

from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

HERE = Path(__file__).resolve().parent
SIZES = (16, 32, 48, 64, 128, 256)

app = QGuiApplication(["render"])
renderer = QSvgRenderer(str(HERE / "shebao-desk.svg"))
for size in SIZES:
    image = QImage(size, size, QImage.Format_ARGB32)
    image.fill(Qt.transparent)
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    image.save(str(HERE / f"shebao-desk-{size}.png"))
Image.open(HERE / "shebao-desk-256.png").save(HERE / "shebao-desk.ico", sizes=[(s, s) for s in SIZES])
