"""The template library programs are generated from (seed 001, section Admin): the built-in templates,
which live in code and never change, and the templates admins add, stored in `program_templates` with
their phases and week structure in `definition`. An admin retires a template of their own by
deactivating it: programs already generated from it keep it, new ones no longer get it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, cast

from sqlmodel.ext.asyncio.session import AsyncSession

from planning import repository
from planning.admin_schemas import TemplateCreateRequest
from planning.domain import DistanceType, Level, PhaseName, PhaseTemplate, Sport, Template
from planning.models import ProgramTemplate
from planning.templates import builtin_templates
from planning.week_plan import SPORTS
from relay_platform.errors import Conflict, NotFound
from relay_platform.logging import get_logger

log = get_logger(__name__)

# The built-in templates' slugs, which custom ones follow: `half-ironman-12-weeks-beginner`.
_DISTANCE_SLUG: dict[DistanceType, str] = {"70.3": "half-ironman", "ironman": "ironman"}


@dataclass(frozen=True)
class LibraryTemplate:
    """A template as admins see it: built in (always active) or added by an admin."""

    template: Template
    builtin: bool
    is_active: bool


def slug_of(distance_type: DistanceType, level: Level, duration_weeks: int) -> str:
    return f"{_DISTANCE_SLUG[distance_type]}-{duration_weeks}-weeks-{level}"


def template_from_request(request: TemplateCreateRequest, template_id: str) -> Template:
    """The template an admin asked for; `request` was validated, phases in the program's order."""
    weeks = request.week_templates
    return Template(
        id=template_id,
        name=request.name,
        slug=slug_of(request.distance_type, request.experience_level, request.duration_weeks),
        distance_type=request.distance_type,
        level=request.experience_level,
        duration_weeks=request.duration_weeks,
        weekly_hours_min=request.weekly_hours_min,
        weekly_hours_max=request.weekly_hours_max,
        description=request.description,
        phases=tuple(
            PhaseTemplate(
                name=phase.name,
                share=phase.share,
                sport_split=_split(phase.sport_split.model_dump()),
                intensity=phase.intensity,
            )
            for phase in request.phases
        ),
        taper_weeks=weeks.taper_weeks,
        recovery_every=weeks.recovery_every,
        sessions_per_week=_sessions(weeks.sessions_per_week.model_dump()),
    )


def definition_record(template: Template) -> dict[str, Any]:
    """What `program_templates.definition` holds: the creation request's `phases` and `week_templates`."""
    return {
        "phases": [
            {
                "name": phase.name,
                "share": phase.share,
                "sport_split": dict(phase.sport_split),
                "intensity": phase.intensity,
            }
            for phase in template.phases
        ],
        "week_templates": {
            "taper_weeks": template.taper_weeks,
            "recovery_every": template.recovery_every,
            "sessions_per_week": dict(template.sessions_per_week),
        },
    }


def row_of(template: Template) -> ProgramTemplate:
    return ProgramTemplate(
        id=template.id,
        slug=template.slug,
        name=template.name,
        distance_type=template.distance_type,
        experience_level=template.level,
        duration_weeks=template.duration_weeks,
        weekly_hours_min=template.weekly_hours_min,
        weekly_hours_max=template.weekly_hours_max,
        description=template.description,
        definition=definition_record(template),
        is_active=True,
        builtin=False,
    )


def template_of(row: ProgramTemplate) -> Template:
    definition = row.definition
    weeks = definition["week_templates"]
    return Template(
        id=row.id,
        name=row.name,
        slug=row.slug,
        distance_type=cast(DistanceType, row.distance_type),
        level=cast(Level, row.experience_level),
        duration_weeks=row.duration_weeks,
        weekly_hours_min=row.weekly_hours_min,
        weekly_hours_max=row.weekly_hours_max,
        description=row.description,
        phases=tuple(
            PhaseTemplate(
                name=cast(PhaseName, phase["name"]),
                share=float(phase["share"]),
                sport_split=_split(phase["sport_split"]),
                intensity=float(phase["intensity"]),
            )
            for phase in definition["phases"]
        ),
        taper_weeks=int(weeks["taper_weeks"]),
        recovery_every=int(weeks["recovery_every"]),
        sessions_per_week=_sessions(weeks["sessions_per_week"]),
    )


def _split(values: dict[str, Any]) -> dict[Sport, float]:
    return {sport: float(values[sport]) for sport in SPORTS}


def _sessions(values: dict[str, Any]) -> dict[Sport, int]:
    return {sport: int(values[sport]) for sport in SPORTS}


async def all_templates(session: AsyncSession, *, active_only: bool = False) -> list[LibraryTemplate]:
    """The built-in templates, then those admins added, oldest first; `active_only` leaves out the
    retired ones."""
    rows = await repository.custom_templates(session, active_only=active_only)
    return [
        *(LibraryTemplate(template, builtin=True, is_active=True) for template in builtin_templates()),
        *(LibraryTemplate(template_of(row), builtin=False, is_active=row.is_active) for row in rows),
    ]


async def active_templates(session: AsyncSession) -> list[Template]:
    """What a new program is generated from."""
    return [entry.template for entry in await all_templates(session, active_only=True)]


async def find(session: AsyncSession, template_id: str) -> Template | None:
    """A template of the library, retired or not (a program keeps the template it was generated from)."""
    builtin = next((t for t in builtin_templates() if t.id == template_id), None)
    if builtin is not None:
        return builtin
    row = await repository.get_template(session, template_id)
    return template_of(row) if row is not None else None


async def usage_counts(session: AsyncSession) -> dict[str, int]:
    """Programs generated from each template, by template id (templates no program uses left out)."""
    return await repository.program_counts_by_template(session)


async def create(session: AsyncSession, request: TemplateCreateRequest) -> Template:
    """Adds the template, active at once. Its slug comes from its distance, length and level, so the
    library holds one template per combination: one already taken, built in or not, is a `Conflict`."""
    template = template_from_request(request, f"tpl_{uuid.uuid4().hex[:16]}")
    taken = any(t.slug == template.slug for t in builtin_templates())
    if taken or not await repository.add_template(session, row_of(template)):
        raise Conflict(
            f"A template for a {template.distance_type} of {template.duration_weeks} weeks at the "
            f"{template.level} level already exists",
            details={"slug": template.slug},
        )
    log.info("template_created", template_id=template.id, slug=template.slug)
    return template


async def set_active(session: AsyncSession, template_id: str, is_active: bool) -> ProgramTemplate:
    """Activates or retires an admin's template; the built-in ones cannot be changed (`Conflict`)."""
    if any(t.id == template_id for t in builtin_templates()):
        raise Conflict("Built-in templates cannot be changed", details={"template_id": template_id})
    row = await repository.get_template(session, template_id)
    if row is None:
        raise NotFound("No such template", details={"template_id": template_id})
    row.is_active = is_active
    log.info("template_activation_set", template_id=template_id, is_active=is_active)
    return row
