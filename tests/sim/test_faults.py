import pytest

from heap_destination.sim.faults import Fault, FaultPlan

TRACK = "/api/track"
IDENTIFY = "/api/v1/identify"


def test_fault_applies_count_times_then_expires() -> None:
    plan = FaultPlan()
    plan.inject(Fault(status=500, count=2))
    assert [plan.next_fault(TRACK) for _ in range(3)] == [Fault(status=500, count=2)] * 2 + [None]


def test_fault_without_count_or_probability_applies_once() -> None:
    plan = FaultPlan()
    plan.inject(Fault(status=503))
    assert plan.next_fault(TRACK) == Fault(status=503)
    assert plan.next_fault(TRACK) is None


def test_faults_apply_in_the_order_injected() -> None:
    plan = FaultPlan()
    first, second = Fault(status=500), Fault(status=503)
    plan.inject(first)
    plan.inject(second)
    assert [plan.next_fault(TRACK), plan.next_fault(TRACK)] == [first, second]


def test_fault_with_path_only_matches_that_path() -> None:
    plan = FaultPlan()
    identify_fault, any_fault = Fault(status=500, path=IDENTIFY), Fault(status=503)
    plan.inject(identify_fault)
    plan.inject(any_fault)
    assert plan.next_fault(TRACK) == any_fault
    assert plan.next_fault(IDENTIFY) == identify_fault


def test_probability_fault_is_reproducible_with_a_seed_and_never_expires() -> None:
    def hits() -> list[bool]:
        plan = FaultPlan()
        plan.inject(Fault(status=500, probability=0.5, random_seed=3))
        return [plan.next_fault(TRACK) is not None for _ in range(200)]

    first = hits()
    assert first == hits()
    assert 60 < sum(first) < 140


def test_probability_fault_that_misses_lets_later_faults_apply() -> None:
    plan = FaultPlan()
    later = Fault(status=503)
    plan.inject(Fault(status=500, probability=0))
    plan.inject(later)
    assert plan.next_fault(TRACK) == later


def test_clear_removes_every_fault() -> None:
    plan = FaultPlan()
    plan.inject(Fault(status=500, probability=1))
    plan.clear()
    assert plan.next_fault(TRACK) is None


def test_listing_shows_remaining_uses() -> None:
    plan = FaultPlan()
    plan.inject(Fault(status=500, count=2))
    plan.next_fault(TRACK)
    [listed] = plan.to_json()
    assert listed["status"] == 500
    assert listed["remaining"] == 1


def test_from_json_reads_the_documented_shape() -> None:
    fault = Fault.from_json(
        {
            "status": 500,
            "count": 2,
            "retry_after": 1,
            "latency_ms": 0,
            "drop_connection": False,
            "path": None,
            "probability": None,
        }
    )
    assert fault == Fault(status=500, count=2, retry_after="1")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "give at least one of status, latency_ms, drop_connection"),
        ({"latency_ms": 0}, "give at least one of status, latency_ms, drop_connection"),
        ({"status": 500, "colour": "red"}, "colour: unknown field"),
        ({"status": "500"}, "status: must be int"),
        ({"status": 500, "count": True}, "count: must be int"),
        ({"status": 99}, "status: must be in 200..599"),
        ({"status": 500, "count": 0}, "count: must be at least 1"),
        ({"status": 500, "probability": 1.5}, "probability: must be in 0..1"),
        ({"status": 500, "probability": 0.5, "count": 2}, "count: not allowed together"),
        ({"status": 500, "path": "/api/nope"}, "path: must be one of"),
        ({"status": 500, "drop_connection": True}, "a dropped connection answers no status"),
        ({"latency_ms": 5, "retry_after": "1"}, "retry_after: only applies together with status"),
        ({"status": 500, "random_seed": 1}, "random_seed: only applies together with probability"),
        ("status", "body: must be a JSON object"),
    ],
)
def test_from_json_rejects_bad_input(data: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Fault.from_json(data)


def test_a_fault_can_match_only_requests_whose_body_contains_a_text() -> None:
    plan = FaultPlan()
    plan.inject(Fault(status=400, probability=1.0, body_contains="poison"))

    assert plan.next_fault("/api/track", b'{"events":[{"identity":"ok"}]}') is None
    fault = plan.next_fault("/api/track", b'{"events":[{"identity":"poison"}]}')
    assert fault is not None and fault.status == 400


def test_an_outage_fault_answers_every_request_until_its_seconds_pass() -> None:
    now = [100.0]
    plan = FaultPlan(clock=lambda: now[0])
    outage = Fault(status=503, seconds=0.2)
    plan.inject(outage)

    during = [plan.next_fault(path) for path in (TRACK, IDENTIFY, TRACK, TRACK)]
    now[0] += 0.19
    at_the_end = plan.next_fault(TRACK)
    now[0] += 0.01

    assert during == [outage] * 4
    assert at_the_end == outage
    assert plan.next_fault(TRACK) is None
    assert plan.to_json() == []


@pytest.mark.parametrize(
    "fields",
    [{"seconds": 0}, {"seconds": -1}, {"seconds": 5, "count": 2}, {"seconds": 5, "probability": 1}],
)
def test_an_outage_fault_needs_positive_seconds_alone(fields: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="seconds"):
        Fault.from_json({"status": 503, **fields})
