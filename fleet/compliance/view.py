"""What the «Контроль штрафов» pages show: findings joined with their check's texts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sqlmodel import Session, col, select

from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.billing.periods import moscow
from fleet.compliance.catalogue import (
    SEVERITY_LABEL,
    SEVERITY_ORDER,
    Check,
    Severity,
    by_code,
    fix_link,
)
from fleet.compliance.exceptions import UnknownCheckError, UnknownFindingError
from fleet.compliance.models import ComplianceFinding, FindingStatus
from fleet.registers.models import Register

__all__ = [
    "COMPANY_LABEL",
    "STATUS_LABEL",
    "Filters",
    "Row",
    "findings",
    "parse_filters",
    "register_findings",
]

STATUS_LABEL: Final = {FindingStatus.OPEN.value: "Открыто", FindingStatus.FIXED.value: "Исправлено"}
LIMIT: Final = 500
COMPANY_LABEL: Final = "Вся компания"  # a finding about no register (K23)


@dataclass(frozen=True)
class Filters:
    """The list's filters (all optional but status, which defaults to open)."""

    status: str = FindingStatus.OPEN.value  # "open" | "fixed" | "all"
    severity: str | None = None
    check: str | None = None
    register_id: int | None = None


@dataclass(frozen=True)
class Row:
    """One finding as the page shows it."""

    finding: ComplianceFinding
    check: Check
    register_label: str  # COMPANY_LABEL for a finding about the company
    severity_label: str
    status_label: str
    first_seen: str
    last_seen: str
    fix: tuple[str, str] | None


def parse_filters(
    status: str | None, severity: str | None, check: str | None, register_id: str | None
) -> Filters:
    """Filters from query parameters; UnknownCheckError names the bad one."""
    if status not in (None, "", "open", "fixed", "all"):
        raise UnknownCheckError(
            "Неизвестный статус: выберите открытые, исправленные или все",
            fields={"status": "Неизвестный статус"},
        )
    if severity not in (None, "") and severity not in {s.value for s in Severity}:
        raise UnknownCheckError(
            "Неизвестная важность нарушения", fields={"severity": "Неизвестная важность"}
        )
    if check not in (None, "") and by_code(check or "") is None:
        raise UnknownCheckError(
            f"Нет проверки с кодом «{check}»", fields={"check": "Неизвестная проверка"}
        )
    rid = None
    if register_id not in (None, ""):
        if not (register_id or "").isdigit():
            raise UnknownCheckError(
                "Номер кассы — целое число", fields={"register_id": "Ожидается номер кассы"}
            )
        rid = int(register_id or "0")
    return Filters(status=status or "open", severity=severity or None, check=check or None,
                   register_id=rid)  # fmt: skip


def _when(t: float | None) -> str:
    return moscow(t).strftime("%d.%m.%Y %H:%M") if t is not None else "—"


def findings(session: Session, principal: Principal, f: Filters) -> list[Row]:
    """The company's findings the principal may see (its folders), most severe first."""
    stmt = (
        select(ComplianceFinding, Register)
        .outerjoin(Register, col(Register.id) == col(ComplianceFinding.register_id))
        .where(col(ComplianceFinding.company_id) == principal.company_id)
    )
    folders = principal.visible_folders()
    if folders is not None:
        # the company's own findings (K23, bank payments) are for those who see every register
        stmt = stmt.where(col(Register.folder_id).in_(list(folders)))
    if f.status != "all":
        stmt = stmt.where(col(ComplianceFinding.status) == f.status)
    if f.severity:
        stmt = stmt.where(col(ComplianceFinding.severity) == f.severity)
    if f.check:
        stmt = stmt.where(col(ComplianceFinding.check_code) == f.check)
    if f.register_id is not None:
        stmt = stmt.where(col(ComplianceFinding.register_id) == f.register_id)
    rows = session.exec(stmt.order_by(col(ComplianceFinding.last_seen).desc()).limit(LIMIT)).all()
    operator = principal.has(Permission.OPERATOR_FLEET)  # the console is theirs
    out = []
    for finding, reg in rows:
        check = by_code(finding.check_code)
        if check is None:  # a check retired from the catalogue
            continue
        sev = Severity(finding.severity)
        out.append(
            Row(
                finding=finding,
                check=check,
                register_label=(reg.name or f"Касса № {reg.id}") if reg else COMPANY_LABEL,
                severity_label=SEVERITY_LABEL[sev],
                status_label=STATUS_LABEL.get(finding.status, finding.status),
                first_seen=_when(finding.first_seen),
                last_seen=_when(finding.last_seen),
                fix=fix_link(check, finding.register_id, finding.document_id, operator)
                if finding.status == FindingStatus.OPEN.value
                else None,
            )
        )
    out.sort(
        key=lambda r: (r.finding.status != "open", SEVERITY_ORDER[Severity(r.finding.severity)])
    )
    return out


def register_findings(session: Session, principal: Principal, register_id: int) -> list[Row]:
    """Open findings of one register (UnknownFindingError if the principal cannot see it)."""
    reg = session.get(Register, register_id)
    if (
        reg is None
        or reg.company_id != principal.company_id
        or not principal.sees_folder(reg.folder_id)
    ):
        raise UnknownFindingError(f"Касса № {register_id} не найдена")
    return findings(session, principal, Filters(register_id=register_id))
