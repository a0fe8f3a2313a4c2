"""Typed device errors, each with the Chinese sentence a clerk can act on."""

from __future__ import annotations

from shebao_desk.errors import ShebaoError


class DeviceError(ShebaoError):
    """Base of every reader or card error."""


class PcscUnavailableError(DeviceError):
    def __init__(self, detail: str) -> None:
        super().__init__("读卡服务未运行（PC/SC），请检查读卡器驱动或重启电脑", detail)


class NoReaderError(DeviceError):
    def __init__(self, detail: str = "no reader") -> None:
        super().__init__("没有找到读卡器，请检查读卡器是否已连接", detail)


class ReaderGoneError(DeviceError):
    def __init__(self, reader: str, detail: str = "") -> None:
        super().__init__(f"读卡器“{reader}”已断开，请检查连接线", detail or f"reader {reader} unavailable")


class NoCardError(DeviceError):
    def __init__(self, reader: str) -> None:
        super().__init__(f"读卡器“{reader}”中没有卡，请插入社会保障卡", f"no card in {reader}")


class CardRemovedError(DeviceError):
    def __init__(self, reader: str, detail: str = "") -> None:
        super().__init__("读卡过程中卡被拔出，请重新插入卡后再试", detail or f"card removed from {reader}")


class ReaderBusyError(DeviceError):
    def __init__(self, reader: str) -> None:
        super().__init__(f"读卡器“{reader}”正被其他程序占用，请关闭其他读卡程序后再试", f"sharing violation on {reader}")


class DeviceTimeoutError(DeviceError):
    def __init__(self, what: str, seconds: float) -> None:
        super().__init__("读卡器没有响应，请重新插卡；如仍不行请重新连接读卡器", f"{what} timed out after {seconds}s")


class NotSocialSecurityCardError(DeviceError):
    def __init__(self, detail: str = "") -> None:
        super().__init__("这不是社会保障卡（或卡片无法识别），请确认插入的是社会保障卡", detail or "SSSE application not found")


class NeedsPsamError(DeviceError):
    def __init__(self) -> None:
        super().__init__("这是第三代社会保障卡，读取持卡人信息需要 PSAM 卡认证；请使用带 PSAM 的读卡器，或手工录入身份证号码",
                         "EF06 read returned 6982 (security status not satisfied)")


class WrongPinError(DeviceError):
    def __init__(self, tries_left: int) -> None:
        super().__init__(f"密码错误，还可以尝试 {tries_left} 次" if tries_left else "密码错误，密码已锁定",
                         f"wrong PIN, {tries_left} tries left")
        self.tries_left = tries_left


class PinBlockedError(DeviceError):
    def __init__(self) -> None:
        super().__init__("密码已锁定，请持卡和身份证办理密码重置", "PIN blocked (6983)")


class ApplicationLockedError(DeviceError):
    def __init__(self) -> None:
        super().__init__("该卡的社会保障应用已锁定，请联系发卡机构", "application locked (9303)")


class BadResponseError(DeviceError):
    def __init__(self, detail: str) -> None:
        super().__init__("卡片返回的数据有误，请重新插卡再试；如反复出现，卡片可能已损坏，请办理换卡", detail)


class CardDataDamagedError(BadResponseError):
    """The card answered, but an item fails its check (GB 11643, a real date, …): never shown as valid."""

    def __init__(self, item: str, detail: str) -> None:
        DeviceError.__init__(self, f"卡片中的“{item}”数据已损坏，不能使用；请核对持卡人身份证件，如重插后仍如此请办理换卡",
                             f"card data damaged: {detail}")
        self.item = item


class ApduError(DeviceError):
    """A status word the session has no better name for."""

    def __init__(self, sw: int, command: str = "") -> None:
        super().__init__(f"卡片拒绝了操作（状态码 {sw:04X}）", f"{command} returned SW {sw:04X}")
        self.sw = sw


class PinPolicyError(DeviceError):
    """A new PIN refused before anything was sent to the card."""
