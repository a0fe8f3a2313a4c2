"""Which new PINs a holder may choose; checked before anything is sent to the card."""

from __future__ import annotations

from shebao_desk.errors import ValidationError

PIN_LENGTH = 6  # the default only; the site's length is site.toml [card] pin_length, passed by the callers


def check_pin_format(pin: str, length: int = PIN_LENGTH) -> None:
    if not (len(pin) == length and pin.isascii() and pin.isdigit()):
        raise ValidationError(f"密码应为 {length} 位数字")


def is_straight_run(pin: str) -> bool:
    steps = {int(b) - int(a) for a, b in zip(pin, pin[1:], strict=False)}
    return steps in ({1}, {-1})


def check_new_pin(new: str, confirm: str, initial: str, length: int = PIN_LENGTH) -> None:
    check_pin_format(new, length)
    if new != confirm:
        raise ValidationError("两次输入的新密码不一致")
    if new == initial:
        raise ValidationError("新密码不能与初始密码相同")
    if len(set(new)) == 1:
        raise ValidationError("新密码不能是同一个数字重复（如 111111）")
    if is_straight_run(new):
        raise ValidationError("新密码不能是连续数字（如 123456、654321）")
