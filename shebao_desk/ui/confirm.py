"""The one place where the clerk confirms an irreversible step, told its consequence.

The question names what happens (“原卡立即作废，不可撤销”), the confirming button says
the action itself, and the default button is the harmless one: Enter or a stray key
never voids a card.
"""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication
from PySide6.QtWidgets import QMessageBox, QWidget

from shebao_desk.ui.geometry import fit_title

# Tests replace this with a callable (title, text) -> bool instead of a modal box.
_answer = None


def confirm(parent: QWidget | None, title: str, text: str, action: str) -> bool:
    """Ask before an irreversible step; True only when the clerk chose ``action``."""
    if _answer is not None:
        return bool(_answer(title, text))
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.NoButton, parent)
    go = box.addButton(action, QMessageBox.ButtonRole.AcceptRole)
    back = box.addButton(QMessageBox.StandardButton.Cancel)  # Qt's own “取消” (translated)
    box.setDefaultButton(back)
    box.setEscapeButton(back)
    fit_title(box)
    box.exec()
    return box.clickedButton() is go


# What each irreversible business does, in the words the applicant hears.
_T = "confirm"  # the Linguist context of these texts
CONSEQUENCES = {
    "formal_loss": (QT_TRANSLATE_NOOP("confirm", "确认正式挂失"),
                    QT_TRANSLATE_NOOP("confirm", "正式挂失后，{name}的社会保障卡（{card}）立即作废，不可撤销，"
                                          "找回也不能再用；之后只能办理补卡。"),
                    QT_TRANSLATE_NOOP("confirm", "正式挂失")),
    "cancel": (QT_TRANSLATE_NOOP("confirm", "确认注销"),
               QT_TRANSLATE_NOOP("confirm", "注销后，{name}的社会保障卡（{card}）和人员状态将永久注销，不可恢复。"),
               QT_TRANSLATE_NOOP("confirm", "注销")),
    "pin_reset": (QT_TRANSLATE_NOOP("confirm", "确认密码重置"),
                  QT_TRANSLATE_NOOP("confirm", "密码重置后，{name}的社会保障卡密码恢复为初始密码，原密码失效；"
                                        "持卡人须重新启用并修改密码。"),
                  QT_TRANSLATE_NOOP("confirm", "重置密码")),
    "replace": (QT_TRANSLATE_NOOP("confirm", "确认换卡"),
                QT_TRANSLATE_NOOP("confirm", "换卡后，{name}的原社会保障卡（{card}）立即作废并收回销毁，不可恢复。"),
                QT_TRANSLATE_NOOP("confirm", "换卡")),
    "instant_replace": (QT_TRANSLATE_NOOP("confirm", "确认即时制卡换卡"),
                        QT_TRANSLATE_NOOP("confirm", "换卡后，{name}的原社会保障卡（{card}）立即作废并收回销毁，"
                                              "新卡当场交付，不可恢复。"),
                        QT_TRANSLATE_NOOP("confirm", "换卡")),
}


def confirm_business(parent: QWidget | None, business: str, name: str, card: str = "", fee: str = "") -> bool:
    """True when ``business`` needs no confirmation or the clerk confirmed it. ``card``: the number of
    the card the business voids (the reader's, else the one on file); ``fee``: what the applicant pays."""
    if business not in CONSEQUENCES:
        return True
    title, text, action = (QCoreApplication.translate(_T, str(t)) for t in CONSEQUENCES[business])
    card_text = f"卡号 {card}" if card else QCoreApplication.translate(_T, "卡号尚未登记")
    question = text.format(name=name or "申请人", card=card_text)
    if fee:
        question += QCoreApplication.translate(_T, "\n收费：{0}。").format(fee)
    return confirm(parent, title, question, action)
