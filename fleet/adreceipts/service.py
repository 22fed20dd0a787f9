"""Templates and assignments: save, edit, delete, find the one that applies to a receipt.

Precedence (the brief's rule): an active campaign wins over the register's template, which wins
over the store's; among several of one kind the newest assignment wins. Nothing changes on a
refusal: everything is checked before the first write.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from fleet import audit
from fleet.access.principal import Principal
from fleet.accounts.models import Company
from fleet.adreceipts.design import LinkInput, TemplateInput, with_erid
from fleet.adreceipts.exceptions import AdTemplateNotFoundError, InvalidAdTemplateError
from fleet.adreceipts.images import Picture, data_uri
from fleet.adreceipts.markup import BannerView, FrameView
from fleet.adreceipts.models import AdAssignment, AdImage, AdTemplate, AssignmentKind
from fleet.core.clock import Clock
from fleet.registers.models import Register
from fleet.stores.models import Store

__all__ = [
    "AssignmentInput",
    "add_assignment",
    "applicable",
    "assignments_of",
    "create_template",
    "delete_assignment",
    "delete_template",
    "get_image",
    "get_template",
    "image_path",
    "list_templates",
    "preview_view",
    "update_template",
    "view_of",
]


def list_templates(session: Session, company_id: int) -> Sequence[AdTemplate]:
    """The company's templates, newest first."""
    stmt = select(AdTemplate).where(AdTemplate.company_id == company_id)
    return session.exec(stmt.order_by(col(AdTemplate.id).desc())).all()


def get_template(session: Session, company_id: int, template_id: int) -> AdTemplate:
    """The template, only within the company (another company's id is 'not found')."""
    row = session.get(AdTemplate, template_id)
    if row is None or row.company_id != company_id:
        raise AdTemplateNotFoundError(f"Шаблон № {template_id} не найден")
    return row


def get_image(session: Session, image_id: int) -> AdImage | None:
    """A stored picture by id."""
    return session.get(AdImage, image_id)


def _own_image(session: Session, company_id: int, image_id: int | None, field: str) -> None:
    if image_id is None:
        return
    row = session.get(AdImage, image_id)
    if row is None or row.company_id != company_id:
        raise InvalidAdTemplateError(
            "Картинка не найдена: загрузите её снова", fields={field: "Загрузите картинку снова"}
        )


def _store_image(session: Session, clock: Clock, company_id: int, p: Picture) -> int:
    row = AdImage(
        company_id=company_id,
        content_type=p.content_type,
        size=len(p.data),
        sha256=p.sha256,
        data=p.data,
        created_at=clock.wall(),
    )
    session.add(row)
    session.flush()
    assert row.id is not None  # flushed
    return row.id


def _apply(session: Session, clock: Clock, row: AdTemplate, data: TemplateInput) -> list[int]:
    """Fill ``row`` from ``data`` (uploads stored); returns the image ids it no longer uses."""
    _own_image(session, row.company_id, data.logo_id, "logo")
    for n, b in enumerate(data.banners, start=1):
        _own_image(session, row.company_id, b.image_id, f"banner{n}_image")
    before = _image_ids(row)
    logo_id = data.logo_id
    if data.logo_upload is not None:
        logo_id = _store_image(session, clock, row.company_id, data.logo_upload)
    banners = []
    for b in data.banners:
        image_id = b.image_id
        if b.upload is not None:
            image_id = _store_image(session, clock, row.company_id, b.upload)
        banners.append(
            {"image_id": image_id, "link": b.link, "erid": b.erid, "advertising": b.advertising}
        )
    row.name, row.background = data.name, data.background
    row.company_name, row.greeting, row.text = data.company_name, data.greeting, data.text
    row.logo_id = logo_id
    row.banners = banners
    row.links = [{"label": link.label, "url": link.url} for link in data.links]
    row.updated_at = clock.wall()
    return sorted(before - _image_ids(row))


def _image_ids(row: AdTemplate) -> set[int]:
    ids = {int(b["image_id"]) for b in row.banners if b.get("image_id") is not None}
    return ids | ({row.logo_id} if row.logo_id is not None else set())


def _drop_images(session: Session, ids: Sequence[int]) -> None:
    # each upload makes its own row, so a picture belongs to one template only
    session.flush()
    for image_id in ids:
        row = session.get(AdImage, image_id)
        if row is not None:
            session.delete(row)


def create_template(
    session: Session, clock: Clock, principal: Principal, data: TemplateInput
) -> AdTemplate:
    """Save a new template for the principal's company."""
    now = clock.wall()
    row = AdTemplate(
        company_id=principal.company_id,
        name=data.name,
        background=data.background,
        company_name=data.company_name,
        greeting=data.greeting,
        text=data.text,
        created_at=now,
        updated_at=now,
    )
    _own_image(session, principal.company_id, data.logo_id, "logo")
    session.add(row)
    session.flush()
    _apply(session, clock, row, data)
    session.add(row)
    session.flush()
    audit.record_by(
        session,
        clock,
        principal,
        action="adreceipts.template.create",
        entity="ad_template",
        entity_id=row.id,
        name=row.name,
    )
    session.commit()
    return row


def update_template(
    session: Session, clock: Clock, principal: Principal, template_id: int, data: TemplateInput
) -> AdTemplate:
    """Replace a template's design; pictures it no longer uses are deleted."""
    row = get_template(session, principal.company_id, template_id)
    unused = _apply(session, clock, row, data)
    session.add(row)
    _drop_images(session, unused)
    audit.record_by(
        session,
        clock,
        principal,
        action="adreceipts.template.update",
        entity="ad_template",
        entity_id=row.id,
        name=row.name,
    )
    session.commit()
    return row


def delete_template(session: Session, clock: Clock, principal: Principal, template_id: int) -> None:
    """Delete a template, its assignments and its pictures."""
    row = get_template(session, principal.company_id, template_id)
    for a in session.exec(select(AdAssignment).where(AdAssignment.template_id == row.id)).all():
        session.delete(a)
    images = sorted(_image_ids(row))
    session.delete(row)
    _drop_images(session, images)
    audit.record_by(
        session,
        clock,
        principal,
        action="adreceipts.template.delete",
        entity="ad_template",
        entity_id=template_id,
        name=row.name,
    )
    session.commit()


@dataclass(frozen=True)
class AssignmentInput:
    """Where to apply a template: a campaign (named, with a period, maybe narrowed to one store
    or register), a register, or a store; times are UTC seconds, ``ends_at`` exclusive."""

    kind: AssignmentKind
    campaign: str | None = None
    store_id: int | None = None
    register_id: int | None = None
    starts_at: float | None = None
    ends_at: float | None = None


def _check_assignment(session: Session, company_id: int, a: AssignmentInput) -> dict[str, str]:
    errors: dict[str, str] = {}
    if a.kind is AssignmentKind.CAMPAIGN:
        if not (a.campaign or "").strip():
            errors["campaign"] = "Назовите кампанию"
        elif len((a.campaign or "").strip()) > 100:
            errors["campaign"] = "Название кампании не длиннее 100 символов"
        if a.starts_at is None or a.ends_at is None:
            errors["period"] = "Укажите начало и конец кампании"
    if a.kind is AssignmentKind.STORE and a.store_id is None:
        errors["store_id"] = "Выберите магазин"
    if a.kind is AssignmentKind.REGISTER and a.register_id is None:
        errors["register_id"] = "Выберите кассу"
    if a.starts_at is not None and a.ends_at is not None and a.ends_at <= a.starts_at:
        errors["period"] = "Конец периода должен быть позже начала"
    if a.store_id is not None:
        store = session.get(Store, a.store_id)
        if store is None or store.company_id != company_id:
            errors["store_id"] = "Магазин не найден"
    if a.register_id is not None:
        register = session.get(Register, a.register_id)
        if register is None or register.company_id != company_id:
            errors["register_id"] = "Касса не найдена"
    return errors


def add_assignment(
    session: Session, clock: Clock, principal: Principal, template_id: int, a: AssignmentInput
) -> AdAssignment:
    """Apply the template to a campaign, a register or a store."""
    template = get_template(session, principal.company_id, template_id)
    errors = _check_assignment(session, principal.company_id, a)
    if errors:
        raise InvalidAdTemplateError(
            "Назначение не сохранено: " + next(iter(errors.values())), fields=errors
        )
    row = AdAssignment(
        company_id=principal.company_id,
        template_id=template_id,
        kind=a.kind.value,
        campaign=(a.campaign or "").strip() or None if a.kind is AssignmentKind.CAMPAIGN else None,
        store_id=a.store_id if a.kind is not AssignmentKind.REGISTER else None,
        register_id=a.register_id if a.kind is not AssignmentKind.STORE else None,
        starts_at=a.starts_at,
        ends_at=a.ends_at,
        created_at=clock.wall(),
    )
    session.add(row)
    session.flush()
    audit.record_by(
        session,
        clock,
        principal,
        action="adreceipts.assign",
        entity="ad_template",
        entity_id=template.id,
        kind=row.kind,
        store_id=row.store_id,
        register_id=row.register_id,
    )
    session.commit()
    return row


def delete_assignment(
    session: Session, clock: Clock, principal: Principal, template_id: int, assignment_id: int
) -> None:
    """Remove one assignment of the template."""
    get_template(session, principal.company_id, template_id)
    row = session.get(AdAssignment, assignment_id)
    if row is None or row.company_id != principal.company_id or row.template_id != template_id:
        raise AdTemplateNotFoundError(f"Назначение № {assignment_id} не найдено")
    session.delete(row)
    audit.record_by(
        session,
        clock,
        principal,
        action="adreceipts.unassign",
        entity="ad_template",
        entity_id=template_id,
        assignment=assignment_id,
    )
    session.commit()


def assignments_of(session: Session, template_id: int) -> Sequence[AdAssignment]:
    """A template's assignments, oldest first."""
    stmt = select(AdAssignment).where(AdAssignment.template_id == template_id)
    return session.exec(stmt.order_by(col(AdAssignment.id))).all()


def _active(a: AdAssignment, at: float) -> bool:
    return (a.starts_at is None or a.starts_at <= at) and (a.ends_at is None or at < a.ends_at)


def applicable(
    session: Session, company_id: int, register_id: int | None, store_id: int | None, at: float
) -> AdTemplate | None:
    """The template for a receipt made at ``at`` by this register in this store, if any."""
    rows = session.exec(
        select(AdAssignment)
        .where(AdAssignment.company_id == company_id)
        .order_by(col(AdAssignment.id).desc())
    ).all()
    live = [a for a in rows if _active(a, at)]

    def first(match: Callable[[AdAssignment], bool]) -> AdAssignment | None:
        return next((a for a in live if match(a)), None)

    chosen = (
        first(
            lambda a: (
                a.kind == AssignmentKind.CAMPAIGN
                and (a.register_id is None or a.register_id == register_id)
                and (a.store_id is None or a.store_id == store_id)
            )
        )
        or first(lambda a: a.kind == AssignmentKind.REGISTER and a.register_id == register_id)
        or first(
            lambda a: (
                a.kind == AssignmentKind.STORE and store_id is not None and a.store_id == store_id
            )
        )
    )
    return None if chosen is None else session.get(AdTemplate, chosen.template_id)


def image_path(image: AdImage) -> str:
    """The public path of a picture (the digest makes it unguessable and cache-safe)."""
    return f"/ad/images/{image.id}/{image.sha256[:32]}"


def view_of(
    session: Session,
    row: AdTemplate,
    *,
    base_url: str | None,
    uploads: dict[str, Picture] | None = None,
) -> FrameView:
    """A stored template ready to render. Pictures are public links under ``base_url``, or
    inline data URIs when it is None; ``uploads`` (previews) replace stored pictures by key
    ``logo`` / ``banner<N>``."""
    uploads = uploads or {}

    def src(key: str, image_id: object) -> str:
        if key in uploads:
            return data_uri(uploads[key])
        image = session.get(AdImage, int(str(image_id))) if image_id is not None else None
        if image is None:
            return ""
        if base_url is None:
            return data_uri(Picture(image.content_type, image.data))
        return base_url.rstrip("/") + image_path(image)

    company = session.get(Company, row.company_id)
    advertiser = f"{company.name}, ИНН {company.inn}" if company is not None else ""
    banners = tuple(
        BannerView(
            src=src(f"banner{n}", b.get("image_id")),
            href=with_erid(str(b["link"]), b.get("erid") if b.get("advertising") else None),
            erid=b.get("erid"),
            advertising=bool(b.get("advertising")),
        )
        for n, b in enumerate(row.banners, start=1)
    )
    return FrameView(
        background=row.background,
        company_name=row.company_name,
        logo_src=src("logo", row.logo_id) if (row.logo_id or "logo" in uploads) else None,
        greeting=row.greeting,
        text=row.text,
        banners=banners,
        links=tuple(LinkInput(str(x["label"]), str(x["url"])) for x in row.links),
        advertiser=advertiser,
    )


def preview_view(session: Session, company_id: int, data: TemplateInput) -> FrameView:
    """An unsaved design ready to render (the live preview): new uploads inline, stored
    pictures of this company inline too, nothing written."""
    uploads: dict[str, Picture] = {}
    if data.logo_upload is not None:
        uploads["logo"] = data.logo_upload
    banners: list[dict[str, object]] = []
    for n, b in enumerate(data.banners, start=1):
        if b.upload is not None:
            uploads[f"banner{n}"] = b.upload
        banners.append(
            {
                "image_id": _mine(session, company_id, b.image_id),
                "link": b.link,
                "erid": b.erid,
                "advertising": b.advertising,
            }
        )
    row = AdTemplate(
        company_id=company_id,
        name=data.name,
        background=data.background,
        company_name=data.company_name,
        logo_id=_mine(session, company_id, data.logo_id),
        greeting=data.greeting,
        text=data.text,
        banners=banners,
        links=[{"label": link.label, "url": link.url} for link in data.links],
        created_at=0.0,
        updated_at=0.0,
    )
    return view_of(session, row, base_url=None, uploads=uploads)


def _mine(session: Session, company_id: int, image_id: int | None) -> int | None:
    if image_id is None:
        return None
    row = session.get(AdImage, image_id)
    return image_id if row is not None and row.company_id == company_id else None
