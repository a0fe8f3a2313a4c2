"""The applicant's-side devices, for ``devices`` and the self-check (informative: Article 9 of the
regulation does not require them; issue 28). No Qt: the caller counts monitors and PIN-pad readers."""

from __future__ import annotations

from dataclasses import dataclass

from shebao_desk.config.applicant_settings import ApplicantSettings

NOTE = "规范第九条未要求，仅供参考"


@dataclass(frozen=True)
class SideDevice:
    name: str
    state: str


def applicant_side(settings: ApplicantSettings, *, monitors: int | None,
                   pin_pad_readers: list[str]) -> list[SideDevice]:
    """``monitors``: counted by the GUI; None from the command line (no display asked)."""
    monitor = settings.screen.monitor
    if monitor == 0:
        screen = "未启用（applicant.toml [screen] monitor = 0）"
    elif monitors is None:
        screen = f"设为第 {monitor} 个显示器（连接情况在程序的自查页检测）"
    elif monitors >= monitor > 1:
        screen = f"第 {monitor} 个显示器（已连接，共 {monitors} 个）"
    else:
        screen = f"设为第 {monitor} 个显示器，当前只有 {monitors} 个：以普通窗口显示"
    pads = f"{len(pin_pad_readers)} 台（{'、'.join(pin_pad_readers)}）" if pin_pad_readers else "0 台"
    entry = {"applicant": "持卡人自己输入（读卡器密码键盘，否则申请人屏幕键盘）",
             "clerk": "经办人电脑上的密码框（县里设置）"}[settings.pin.entry]
    return [
        SideDevice("申请人屏幕", screen),
        SideDevice("带密码键盘的读卡器（PC/SC 第 10 部分）", pads),
        SideDevice("密码输入", entry),
        SideDevice("签名", {"paper": "纸面签字", "screen": "申请人屏幕签名"}[settings.signature.mode]),
        SideDevice("好差评评价", "申请人屏幕（一次一评）" if monitor else "未启用申请人屏幕"),
    ]


def side_text(devices: list[SideDevice]) -> str:
    return f"申请人侧设备（{NOTE}）：" + "；".join(f"{d.name}：{d.state}" for d in devices)
