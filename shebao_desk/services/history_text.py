"""A case's audit entries as plain Chinese sentences for the 操作记录 (no Qt, no developer words).

The audit trail stores table names, verbs and column values; a clerk or supervisor
reads “受理补卡业务（受理编号 …）”, “卡片状态由“正常”改为“已正式挂失””.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from shebao_desk.clock import local_text
from shebao_desk.config.catalogue import Catalogue, Mode
from shebao_desk.models import CardStatus, CaseStatus, LossKind, PersonStatus

FIELDS = {
    "name": "姓名", "phone": "联系电话", "address": "联系地址", "ethnicity": "民族", "photo": "照片",
    "status": "状态", "card_number": "卡号", "activated_at": "启用时间",
    "pin_reset_at": "密码重置时间", "issue_date": "发卡日期", "void_at": "作废时间", "void_reason": "作废原因",
    "materials": "已交材料", "missing": "尚缺材料", "reason": "办理原因", "fee": "收费", "promised_date": "承诺日期",
    "completed_at": "办结时间", "completed_by": "办结人", "accepted_at": "受理时间", "accepted_by": "受理人",
    "lifted_at": "解除挂失时间", "expires_at": "有效期至", "effective_at": "生效时间", "outlet": "领卡网点",
    "mode": "办理方式", "agent_name": "代办人", "agent_relation": "与申请人关系", "agent_phone": "代办人电话",
    "large_print": "大字版", "cancelled_at": "注销时间",
}
HIDDEN = {"id", "created_at", "updated_at", "person_id", "card_id", "new_card_id", "case_id", "lifted_case_id",
          "accepted_by", "completed_by", "workstation", "number", "business", "person", "version"}
ENUMS = {"status": {**{s.value: s.label for s in CaseStatus}, **{s.value: s.label for s in CardStatus},
                    PersonStatus.ACTIVE.value: "正常", PersonStatus.CANCELLED.value: "已注销"}}


def _value(key: str, value: Any, catalogue: Catalogue) -> str:
    if value is None or value == "" or value == []:
        return "空"
    if key in ENUMS and value in ENUMS[key]:
        return ENUMS[key][value]
    if key in ("materials", "missing") and isinstance(value, list):
        return "、".join(catalogue.material_name(m) if m in catalogue.materials else m for m in value)
    if key == "mode":
        return Mode(value).label if value in {m.value for m in Mode} else str(value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, str) and key.endswith("_at"):
        try:
            return local_text(dt.datetime.fromisoformat(value))
        except ValueError:
            return value
    if key == "fee":
        return f"{value} 元"
    return str(value)


def _changes(before: dict[str, Any], after: dict[str, Any], catalogue: Catalogue) -> str:
    parts = []
    for key, new in after.items():
        if key in HIDDEN or key not in FIELDS:
            continue
        parts.append(f"{FIELDS[key]}由“{_value(key, before.get(key), catalogue)}”改为“{_value(key, new, catalogue)}”")
    return "；".join(parts)


def describe(table: str, action: str, before: dict[str, Any] | None, after: dict[str, Any] | None,
             catalogue: Catalogue) -> str:
    """One sentence for one audit entry."""
    verb = action.rsplit(":", 1)[-1]
    data = after or before or {}
    if table == "case":
        business = data.get("business")
        name = catalogue[business].name if business in catalogue.businesses else "业务"
        if verb == "insert":
            text = f"受理{name}业务（受理编号 {data.get('number', '')}）"
            if data.get("status") == CaseStatus.RETURNED.value and data.get("missing"):
                text += f"，材料不全，退回补材料，尚缺：{_value('missing', data['missing'], catalogue)}"
            return text + "。"
        if verb == "update":
            changes = _changes(before or {}, after or {}, catalogue)
            if (after or {}).get("status") == CaseStatus.COMPLETED.value:
                return "办结。" + (changes and f"（{changes}）")
            if (before or {}).get("status") == CaseStatus.RETURNED.value:
                return f"申请人补齐材料后再次办理：{changes}。"
            return f"修改业务记录：{changes}。" if changes else "修改业务记录。"
    if table == "card":
        if verb == "insert":
            return f"新建社会保障卡记录（{_value('status', data.get('status'), catalogue)}）。"
        changes = _changes(before or {}, after or {}, catalogue)
        return f"卡片：{changes}。" if changes else "卡片记录更新。"
    if table == "loss_report":
        kind = "临时挂失" if data.get("kind") == LossKind.TEMPORARY.value else "正式挂失"
        if verb == "insert":
            text = f"登记{kind}，生效时间 {_value('effective_at', data.get('effective_at'), catalogue)}"
            if data.get("expires_at"):
                text += f"，有效期至 {_value('expires_at', data['expires_at'], catalogue)}"
            return text + "。"
        if (after or {}).get("lifted_at"):
            return f"解除{kind}。"
        return f"挂失记录：{_changes(before or {}, after or {}, catalogue)}。"
    if table == "temp_card":
        if verb == "insert":
            return f"交付临时卡（卡号 {data.get('number', '')}），有效期至 {data.get('valid_until', '')}。"
        returned = (after or {}).get("returned_at")
        if returned:
            return f"临时卡已交回（{_value('returned_at', returned, catalogue)}）。"
        return "临时卡记录更新。"
    if table == "approval":  # intake.APPROVAL_TABLE: an approval recorded with its case
        return (f"主管{data.get('supervisor', '')}授权受理：身份证已于 {data.get('id_card_valid_to', '')} 过期；"
                f"授权原因：{data.get('reason', '')}。")
    if table == "person":
        if verb == "insert":
            return f"新建人员档案：{data.get('name', '')}。"
        changes = _changes(before or {}, after or {}, catalogue)
        return f"人员信息：{changes}。" if changes else "人员信息更新。"
    if verb == "delete":
        return "删除记录。"
    return "记录更新。"
