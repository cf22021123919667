"""Seed 001, section Admin: the template library programs are generated from. Operators call with their
`admin_session` cookie; reading takes the read_only role, changing the library super_admin (and the
session's CSRF token in `X-CSRF-Token`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from planning import library
from planning.admin_schemas import (
    AdminTemplate,
    AdminTemplatesResponse,
    CreatedTemplate,
    TemplateActivation,
    TemplateActivationRequest,
    TemplateActivationResponse,
    TemplateCreatedResponse,
    TemplateCreateRequest,
)
from relay_platform.auth import ReadOnlyAdmin, SuperAdmin
from relay_platform.db import SessionDep

router = APIRouter(prefix="/api/admin/templates", tags=["admin"])

TemplateId = Annotated[str, Path(min_length=1, max_length=64)]


@router.get("", summary="Every template of the library, built in or added, with how many programs use it")
async def list_templates(admin: ReadOnlyAdmin, session: SessionDep) -> AdminTemplatesResponse:
    counts = await library.usage_counts(session)
    return AdminTemplatesResponse(
        templates=[
            AdminTemplate(
                id=entry.template.id,
                name=entry.template.name,
                slug=entry.template.slug,
                distance_type=entry.template.distance_type,
                experience_level=entry.template.level,
                duration_weeks=entry.template.duration_weeks,
                weekly_hours_min=entry.template.weekly_hours_min,
                weekly_hours_max=entry.template.weekly_hours_max,
                description=entry.template.description,
                builtin=entry.builtin,
                is_active=entry.is_active,
                usage_count=counts.get(entry.template.id, 0),
            )
            for entry in await library.all_templates(session)
        ]
    )


@router.post(
    "",
    status_code=201,
    summary="Adds a template, active at once; one per distance, length and level (409 when taken)",
)
async def create_template(
    admin: SuperAdmin, session: SessionDep, body: TemplateCreateRequest
) -> TemplateCreatedResponse:
    template = await library.create(session, body)
    return TemplateCreatedResponse(template=CreatedTemplate(id=template.id, slug=template.slug))


@router.patch(
    "/{template_id}",
    summary="Activates or retires an added template (built-in ones cannot be changed)",
)
async def set_template_active(
    admin: SuperAdmin, session: SessionDep, template_id: TemplateId, body: TemplateActivationRequest
) -> TemplateActivationResponse:
    row = await library.set_active(session, template_id, body.is_active)
    return TemplateActivationResponse(
        template=TemplateActivation(id=row.id, slug=row.slug, is_active=row.is_active)
    )
