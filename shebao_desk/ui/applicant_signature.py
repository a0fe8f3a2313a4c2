"""The signature drawn on the applicant's screen, as PNG bytes for the form PDF."""

from __future__ import annotations

from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QImage


def png_of(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]  # QBuffer is a QIODevice; the stubs list only str paths
    buffer.close()
    return bytes(data.data())
