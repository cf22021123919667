import json
from dataclasses import asdict, replace
from datetime import date, datetime
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, create_model

from relay_contracts.catalog import EventSpec
from relay_contracts.compat import breaking_changes
from relay_contracts.publish import asyncapi, event_schema, schema_file
from relay_contracts.topics import INGESTION_EVENTS, PLANNING_EVENTS, TopicSpec


def published(data: type[BaseModel], version: int = 1) -> dict[str, str]:
    """The schema file `make contracts` publishes for an event carrying `data`."""
    spec = EventSpec(type="ingestion.ride.recorded", version=version, data=data, description="A ride.")
    return {f"schemas/{schema_file(spec)}": json.dumps(event_schema(spec), indent=2, sort_keys=True)}


def breaks(before: type[BaseModel], after: type[BaseModel]) -> list[str]:
    return breaking_changes(published(before), published(after))


def test_an_unchanged_schema_breaks_nothing() -> None:
    class Ride(BaseModel):
        ride_id: str
        distance_m: float | None = None

    assert breaks(Ride, Ride) == []


def test_an_event_version_no_longer_rendered_breaks() -> None:
    class Ride(BaseModel):
        ride_id: str

    assert breaking_changes(published(Ride), {}) == ["ingestion.ride.recorded v1: removed"]


def test_a_new_version_beside_the_published_one_breaks_nothing() -> None:
    class RideV1(BaseModel):
        ride_id: str

    class RideV2(BaseModel):
        ride_id: int

    assert breaking_changes(published(RideV1), {**published(RideV1), **published(RideV2, version=2)}) == []


def test_removing_a_property_breaks() -> None:
    class Before(BaseModel):
        ride_id: str
        name: str | None = None

    class After(BaseModel):
        ride_id: str

    assert breaks(Before, After) == ["ingestion.ride.recorded v1: data.name: property removed"]


def test_adding_a_property_optional_or_required_breaks_nothing() -> None:
    class Before(BaseModel):
        ride_id: str

    class After(BaseModel):
        ride_id: str
        name: str | None = None
        sport: str

    assert breaks(Before, After) == []


def test_a_required_property_becoming_optional_breaks() -> None:
    class Before(BaseModel):
        sport: str

    class After(BaseModel):
        sport: str = "ride"

    assert breaks(Before, After) == ["ingestion.ride.recorded v1: data.sport: required -> optional"]


def test_an_optional_property_becoming_required_and_not_null_breaks_nothing() -> None:
    class Before(BaseModel):
        name: str | None = None

    class After(BaseModel):
        name: str

    assert breaks(Before, After) == []


def test_changing_a_type_breaks() -> None:
    class Before(BaseModel):
        distance_m: float

    class After(BaseModel):
        distance_m: str

    assert breaks(Before, After) == ["ingestion.ride.recorded v1: data.distance_m: type number -> string"]


def test_changing_the_type_of_an_optional_field_breaks() -> None:
    class Before(BaseModel):
        distance_m: float | None = None

    class After(BaseModel):
        distance_m: str | None = None

    assert breaks(Before, After) == [
        "ingestion.ride.recorded v1: data.distance_m: type number | null -> string | null"
    ]


def test_a_field_becoming_nullable_breaks_and_the_reverse_does_not() -> None:
    class NotNull(BaseModel):
        name: str

    class Nullable(BaseModel):
        name: str | None

    assert breaks(NotNull, Nullable) == [
        "ingestion.ride.recorded v1: data.name: type string -> string | null"
    ]
    assert breaks(Nullable, NotNull) == []


def test_an_integer_becoming_any_number_breaks_and_the_reverse_does_not() -> None:
    class Integer(BaseModel):
        elapsed_s: int

    class Number(BaseModel):
        elapsed_s: float

    assert breaks(Integer, Number) == ["ingestion.ride.recorded v1: data.elapsed_s: type integer -> number"]
    assert breaks(Number, Integer) == []


def test_a_new_type_in_a_union_breaks() -> None:
    class Before(BaseModel):
        external_id: int

    class After(BaseModel):
        external_id: int | str

    assert breaks(Before, After) == [
        "ingestion.ride.recorded v1: data.external_id: type integer -> integer | string"
    ]


def test_an_enum_value_added_breaks_and_one_removed_does_not() -> None:
    class Fewer(BaseModel):
        sport: Literal["run", "bike"]

    class More(BaseModel):
        sport: Literal["run", "bike", "swim"]

    assert breaks(Fewer, More) == ['ingestion.ride.recorded v1: data.sport: enum adds "swim"']
    assert breaks(More, Fewer) == []


def test_a_changed_const_breaks() -> None:
    class Before(BaseModel):
        kind: Literal["ride"]

    class After(BaseModel):
        kind: Literal["run"]

    assert breaks(Before, After) == ['ingestion.ride.recorded v1: data.kind: const "ride" -> "run"']


def distance(**constraints: Any) -> type[BaseModel]:
    class Ride(BaseModel):
        distance_m: float = Field(**constraints)

    return Ride


@pytest.mark.parametrize(
    ("before", "after", "change"),
    [
        ({"le": 10}, {"le": 20}, "maximum 10 -> 20"),
        ({"le": 10}, {"lt": 10}, None),
        ({"lt": 10}, {"le": 10}, "exclusiveMaximum 10 -> maximum 10"),
        ({"le": 10}, {}, "maximum 10 -> none"),
        ({"le": 10}, {"le": 5}, None),
        ({"ge": 1}, {"ge": 0}, "minimum 1 -> 0"),
        ({"gt": 0}, {"ge": 0}, "exclusiveMinimum 0 -> minimum 0"),
        ({"ge": 0}, {"gt": 0}, None),
        ({}, {"ge": 0, "le": 10}, None),
        ({"multiple_of": 5}, {"multiple_of": 10}, None),
        ({"multiple_of": 10}, {"multiple_of": 5}, "multipleOf 10 -> 5"),
    ],
)
def test_a_relaxed_number_bound_breaks_and_a_tightened_one_does_not(
    before: dict[str, Any], after: dict[str, Any], change: str | None
) -> None:
    expected = [] if change is None else [f"ingestion.ride.recorded v1: data.distance_m: {change}"]
    assert breaks(distance(**before), distance(**after)) == expected


def name(**constraints: Any) -> type[BaseModel]:
    class Ride(BaseModel):
        name: str = Field(**constraints)

    return Ride


@pytest.mark.parametrize(
    ("before", "after", "change"),
    [
        ({"max_length": 60}, {"max_length": 80}, "maxLength 60 -> 80"),
        ({"max_length": 60}, {"max_length": 40}, None),
        ({"min_length": 1}, {}, "minLength 1 -> none"),
        ({"pattern": "^[a-z]+$"}, {"pattern": "^[a-z0-9]+$"}, "pattern ^[a-z]+$ -> ^[a-z0-9]+$"),
        ({}, {"pattern": "^[a-z]+$"}, None),
    ],
)
def test_a_relaxed_string_constraint_breaks_and_a_tightened_one_does_not(
    before: dict[str, Any], after: dict[str, Any], change: str | None
) -> None:
    expected = [] if change is None else [f"ingestion.ride.recorded v1: data.name: {change}"]
    assert breaks(name(**before), name(**after)) == expected


def test_a_longer_list_breaks() -> None:
    class Before(BaseModel):
        tags: list[str] = Field(max_length=3)

    class After(BaseModel):
        tags: list[str] = Field(max_length=5)

    assert breaks(Before, After) == ["ingestion.ride.recorded v1: data.tags: maxItems 3 -> 5"]


def test_a_list_that_may_repeat_items_where_a_set_was_published_breaks() -> None:
    class Before(BaseModel):
        tags: set[str]

    class After(BaseModel):
        tags: list[str]

    assert breaks(Before, After) == ["ingestion.ride.recorded v1: data.tags: uniqueItems true -> false"]
    assert breaks(After, Before) == []


def test_a_changed_or_dropped_format_breaks_and_a_new_one_does_not() -> None:
    class Moment(BaseModel):
        started: datetime

    class Day(BaseModel):
        started: date

    class Text(BaseModel):
        started: str

    assert breaks(Moment, Day) == ["ingestion.ride.recorded v1: data.started: format date-time -> date"]
    assert breaks(Moment, Text) == ["ingestion.ride.recorded v1: data.started: format date-time -> none"]
    assert breaks(Text, Moment) == []


def test_annotations_break_nothing() -> None:
    class Before(BaseModel):
        ride_id: str = Field(description="The ride.", title="Ride")
        laps: int = Field(default=0, examples=[3])

    class After(BaseModel):
        ride_id: str = Field(description="The ride's id.")
        laps: int = Field(default=1)

    assert breaks(Before, After) == []


def test_a_changed_keyword_not_understood_breaks() -> None:
    class Before(BaseModel):
        laps: int = Field(json_schema_extra={"not": {"const": 0}})

    class After(BaseModel):
        laps: int = Field(json_schema_extra={"not": {"const": 1}})

    assert breaks(Before, After) == ["ingestion.ride.recorded v1: data.laps: not changed"]


def test_a_change_inside_a_nested_model_is_told_at_its_path() -> None:
    class LapBefore(BaseModel):
        distance_m: float
        heartrate: float | None = None

    class LapAfter(BaseModel):
        distance_m: str

    class Before(BaseModel):
        lap: LapBefore

    class After(BaseModel):
        lap: LapAfter

    assert breaks(Before, After) == [
        "ingestion.ride.recorded v1: data.lap.distance_m: type number -> string",
        "ingestion.ride.recorded v1: data.lap.heartrate: property removed",
    ]


def test_a_change_inside_a_list_of_models_is_told_at_its_items() -> None:
    class LapBefore(BaseModel):
        distance_m: float

    class LapAfter(BaseModel):
        distance_m: float | None = None

    class Before(BaseModel):
        laps: list[LapBefore]

    class After(BaseModel):
        laps: list[LapAfter]

    assert breaks(Before, After) == [
        "ingestion.ride.recorded v1: data.laps[].distance_m: required -> optional",
        "ingestion.ride.recorded v1: data.laps[].distance_m: type number -> number | null",
    ]


def test_a_change_inside_an_optional_model_breaks_and_the_model_becoming_required_does_not() -> None:
    class LapBefore(BaseModel):
        distance_m: float

    class LapAfter(BaseModel):
        distance_m: int

    class Before(BaseModel):
        best_lap: LapBefore | None = None

    class After(BaseModel):
        best_lap: LapAfter

    class Widened(BaseModel):
        best_lap: LapBefore | None = Field(default=None, description="The fastest lap.")

    class LapLonger(BaseModel):
        distance_m: float
        cadence: int | None = None

    class Longer(BaseModel):
        best_lap: LapLonger | None = None

    assert breaks(Before, After) == []
    assert breaks(After, Before) == [
        "ingestion.ride.recorded v1: data.best_lap: required -> optional",
        "ingestion.ride.recorded v1: data.best_lap: type object -> object | null",
        "ingestion.ride.recorded v1: data.best_lap.distance_m: type integer -> number",
    ]
    assert breaks(Before, Widened) == []
    assert breaks(Before, Longer) == []


def test_a_closed_object_may_not_gain_properties_nor_open() -> None:
    class Closed(BaseModel):
        model_config = ConfigDict(extra="forbid")
        distance_m: float

    class ClosedLonger(BaseModel):
        model_config = ConfigDict(extra="forbid")
        distance_m: float
        cadence: int | None = None

    class Open(BaseModel):
        distance_m: float

    def carrying(lap: type[BaseModel]) -> type[BaseModel]:
        return create_model("Ride", lap=(lap, ...))

    assert breaks(carrying(Closed), carrying(ClosedLonger)) == [
        "ingestion.ride.recorded v1: data.lap.cadence: property added to a closed object"
    ]
    assert breaks(carrying(Closed), carrying(Open)) == [
        "ingestion.ride.recorded v1: data.lap: additionalProperties false -> true"
    ]
    assert breaks(carrying(Open), carrying(Closed)) == []


def test_a_dictionary_may_not_take_values_of_a_new_type() -> None:
    class Before(BaseModel):
        counts: dict[str, int]

    class After(BaseModel):
        counts: dict[str, str]

    class Anything(BaseModel):
        counts: dict[str, Any]

    assert breaks(Before, After) == ["ingestion.ride.recorded v1: data.counts.*: type integer -> string"]
    assert breaks(Before, Anything) == ["ingestion.ride.recorded v1: data.counts.*: type integer -> any"]
    assert breaks(Anything, Before) == []


def test_a_tuple_item_is_compared_at_its_position() -> None:
    class Before(BaseModel):
        split: tuple[int, str]

    class After(BaseModel):
        split: tuple[int, int]

    assert breaks(Before, After) == ["ingestion.ride.recorded v1: data.split[1]: type string -> integer"]


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["step"] = "step"
    seconds: int


class StepWithTarget(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Step")
    type: Literal["step"] = "step"
    seconds: int
    target_w: int | None = None


class Repeat(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["repeat"] = "repeat"
    times: int
    steps: list[Step]


class Rest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["rest"] = "rest"
    seconds: int


class Workout(BaseModel):
    steps: list[Annotated[Step | Repeat, Field(discriminator="type")]]


class WorkoutWithRests(BaseModel):
    steps: list[Annotated[Step | Repeat | Rest, Field(discriminator="type")]]


class WorkoutWithTargets(BaseModel):
    steps: list[Annotated[StepWithTarget | Repeat, Field(discriminator="type")]]


def test_a_new_alternative_of_a_discriminated_union_breaks_and_one_dropped_does_not() -> None:
    assert breaks(Workout, WorkoutWithRests) == [
        "ingestion.ride.recorded v1: data.steps[]: new alternative Rest"
    ]
    assert breaks(WorkoutWithRests, Workout) == []


def test_a_change_of_one_alternative_of_a_union_is_told_at_its_path() -> None:
    assert breaks(Workout, WorkoutWithTargets) == [
        "ingestion.ride.recorded v1: data.steps[].target_w: property added to a closed object"
    ]


class Split(BaseModel):
    seconds: int
    splits: list["Split"] = []


class SplitInMetres(BaseModel):
    seconds: int
    metres: float | None = None
    splits: list["SplitInMetres"] = []


class SplitAsText(BaseModel):
    seconds: str
    splits: list["SplitAsText"] = []


def test_a_recursive_model_is_compared_once_per_level_it_recurses_through() -> None:
    assert breaks(Split, SplitInMetres) == []
    assert breaks(Split, SplitAsText) == [
        "ingestion.ride.recorded v1: data.seconds: type integer -> string",
        "ingestion.ride.recorded v1: data.splits[].seconds: type integer -> string",
    ]


def topics(*specs: TopicSpec) -> dict[str, str]:
    return {"topics.json": json.dumps([asdict(spec) for spec in specs])}


def test_a_topic_removed_or_with_fewer_partitions_another_key_or_cleanup_policy_breaks() -> None:
    ingestion = replace(INGESTION_EVENTS, key="the athlete")
    changed = replace(ingestion, partitions=3, cleanup_policy="compact", key="the provider account")
    assert breaking_changes(topics(ingestion, PLANNING_EVENTS), topics(changed)) == [
        "topic relay.ingestion.events: partitions 6 -> 3",
        "topic relay.ingestion.events: cleanup.policy delete -> compact",
        'topic relay.ingestion.events: key "the athlete" -> "the provider account"',
        "topic relay.planning.events: removed",
    ]


def test_more_partitions_replicas_or_retention_break_nothing() -> None:
    changed = replace(INGESTION_EVENTS, partitions=12, replication_factor=5, retention_ms=1)
    assert breaking_changes(topics(INGESTION_EVENTS), topics(changed)) == []


def test_an_event_removed_from_its_topic_in_the_asyncapi_document_breaks() -> None:
    document = asyncapi()
    proposed = json.loads(json.dumps(document))
    del proposed["channels"]["relay_ingestion_events"]["messages"]["ingestion_activity_upserted_v1"]
    published_files = {
        "asyncapi.json": json.dumps(document),
        "schemas/ingestion.activity.upserted.v1.json": "{}",
    }
    proposed_files = {**published_files, "asyncapi.json": json.dumps(proposed)}
    assert breaking_changes(published_files, proposed_files) == [
        "topic relay.ingestion.events: message ingestion.activity.upserted v1 removed"
    ]


def test_an_event_whose_published_schema_was_deleted_by_hand_is_retired_without_complaint() -> None:
    document = asyncapi()
    proposed = json.loads(json.dumps(document))
    del proposed["channels"]["relay_ingestion_events"]["messages"]["ingestion_activity_upserted_v1"]
    assert (
        breaking_changes({"asyncapi.json": json.dumps(document)}, {"asyncapi.json": json.dumps(proposed)})
        == []
    )


def test_a_topic_removed_from_both_manifests_is_told_once() -> None:
    document = asyncapi()
    proposed = json.loads(json.dumps(document))
    del proposed["channels"]["relay_planning_events"]
    published_files = {"asyncapi.json": json.dumps(document), **topics(INGESTION_EVENTS, PLANNING_EVENTS)}
    proposed_files = {"asyncapi.json": json.dumps(proposed), **topics(INGESTION_EVENTS)}
    assert breaking_changes(published_files, proposed_files) == ["topic relay.planning.events: removed"]
