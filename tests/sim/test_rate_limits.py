import pytest

from heap_destination.sim.rate_limits import RateLimiter, RateLimits, SlidingWindow
from heap_destination.sim.usage import RequestUsage, usage_of


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def track_usage(*identities: str, app_id: str = "11") -> RequestUsage:
    events = [{"event": "Signed Up", "identity": identity} for identity in identities]
    return usage_of("/api/track", {"app_id": app_id, "events": events})


def single_track_usage(identity: str, app_id: str = "11") -> RequestUsage:
    return usage_of("/api/track", {"app_id": app_id, "event": "Signed Up", "identity": identity})


def limiter(clock: FakeClock, **limits: float) -> RateLimiter:
    return RateLimiter(RateLimits(**limits), clock=clock)


def test_no_limits_admit_everything() -> None:
    rate_limiter = RateLimiter(clock=FakeClock())
    assert all(rate_limiter.admit(track_usage("alice")) is None for _ in range(10_000))


def test_events_per_app_limit_rejects_the_request_that_would_exceed_it() -> None:
    rate_limiter = limiter(FakeClock(), events_per_minute_per_app=3)
    assert rate_limiter.admit(track_usage("a", "b")) is None
    rejection = rate_limiter.admit(track_usage("c", "d"))
    assert rejection is not None
    assert rejection.exceeded == ("events_per_minute_per_app",)


def test_rejected_request_counts_nothing() -> None:
    rate_limiter = limiter(FakeClock(), events_per_minute_per_app=3)
    assert rate_limiter.admit(track_usage("a", "b")) is None
    assert rate_limiter.admit(track_usage("c", "d")) is not None
    assert rate_limiter.admit(track_usage("c")) is None


def test_events_per_app_are_counted_per_app() -> None:
    rate_limiter = limiter(FakeClock(), events_per_minute_per_app=1)
    assert rate_limiter.admit(track_usage("a", app_id="11")) is None
    assert rate_limiter.admit(track_usage("a", app_id="22")) is None


def test_window_slides_after_a_minute() -> None:
    clock = FakeClock()
    rate_limiter = limiter(clock, events_per_minute_per_app=1)
    assert rate_limiter.admit(track_usage("a")) is None
    clock.advance(59.9)
    assert rate_limiter.admit(track_usage("a")) is not None
    clock.advance(0.1)
    assert rate_limiter.admit(track_usage("a")) is None


def test_retry_after_is_the_time_until_enough_of_the_window_frees_up() -> None:
    clock = FakeClock()
    rate_limiter = limiter(clock, events_per_minute_per_app=2)
    assert rate_limiter.admit(track_usage("a")) is None
    clock.advance(20)
    assert rate_limiter.admit(track_usage("b")) is None
    clock.advance(5)
    one_more = rate_limiter.admit(track_usage("c"))
    two_more = rate_limiter.admit(track_usage("c", "d"))
    assert one_more is not None
    assert one_more.retry_after_seconds == 35  # the event of t=0 leaves the window at t=60
    assert two_more is not None
    assert two_more.retry_after_seconds == 55  # the event of t=20 leaves the window at t=80


def test_retry_after_is_at_least_one_second() -> None:
    clock = FakeClock()
    rate_limiter = limiter(clock, events_per_minute_per_app=1)
    assert rate_limiter.admit(track_usage("a")) is None
    clock.advance(59.99)
    rejection = rate_limiter.admit(track_usage("a"))
    assert rejection is not None
    assert rejection.retry_after_seconds == 1


def test_events_per_identity_limit() -> None:
    rate_limiter = limiter(FakeClock(), events_per_minute_per_identity=2)
    assert rate_limiter.admit(track_usage("alice", "alice", "bob")) is None
    rejection = rate_limiter.admit(track_usage("bob", "alice"))
    assert rejection is not None
    assert rejection.exceeded == ("events_per_minute_per_identity",)
    assert rate_limiter.admit(track_usage("bob")) is None


def test_identity_and_user_id_are_different_identities() -> None:
    rate_limiter = limiter(FakeClock(), events_per_minute_per_identity=1)
    by_identity = usage_of(
        "/api/track", {"app_id": "1", "events": [{"event": "e", "identity": "42"}]}
    )
    by_user_id = usage_of(
        "/api/track", {"app_id": "1", "events": [{"event": "e", "user_id": "42"}]}
    )
    assert rate_limiter.admit(by_identity) is None
    assert rate_limiter.admit(by_user_id) is None
    assert rate_limiter.admit(by_identity) is not None


def test_single_event_requests_count_toward_the_requests_per_identity_limit() -> None:
    clock = FakeClock()
    rate_limiter = limiter(clock, requests_per_30s_per_identity=2)
    assert rate_limiter.admit(single_track_usage("alice")) is None
    assert rate_limiter.admit(single_track_usage("alice")) is None
    assert rate_limiter.admit(single_track_usage("bob")) is None
    rejection = rate_limiter.admit(single_track_usage("alice"))
    assert rejection is not None
    assert rejection.exceeded == ("requests_per_30s_per_identity",)
    assert rejection.retry_after_seconds == 30


def test_bulk_requests_do_not_count_toward_the_requests_per_identity_limit() -> None:
    rate_limiter = limiter(FakeClock(), requests_per_30s_per_identity=1)
    assert all(rate_limiter.admit(track_usage("alice", "bob")) is None for _ in range(5))


def test_identity_limits_are_per_app() -> None:
    rate_limiter = limiter(FakeClock(), events_per_minute_per_identity=1)
    assert rate_limiter.admit(track_usage("alice", app_id="1")) is None
    assert rate_limiter.admit(track_usage("alice", app_id="2")) is None
    assert rate_limiter.admit(track_usage("alice", app_id="1")) is not None


def test_a_shorter_window_frees_room_sooner() -> None:
    clock = FakeClock()
    rate_limiter = limiter(clock, events_per_minute_per_app=1, window_seconds=2)
    assert rate_limiter.admit(track_usage("a")) is None
    rejection = rate_limiter.admit(track_usage("b"))
    assert rejection is not None
    assert rejection.retry_after_seconds == 2
    clock.advance(2)
    assert rate_limiter.admit(track_usage("b")) is None


def test_requests_per_identity_window_is_30_seconds() -> None:
    clock = FakeClock()
    rate_limiter = limiter(clock, requests_per_30s_per_identity=1)
    assert rate_limiter.admit(single_track_usage("alice")) is None
    clock.advance(29.9)
    assert rate_limiter.admit(single_track_usage("alice")) is not None
    clock.advance(0.1)
    assert rate_limiter.admit(single_track_usage("alice")) is None


def test_user_property_requests_count_toward_requests_but_not_events() -> None:
    rate_limiter = limiter(
        FakeClock(), events_per_minute_per_app=1, requests_per_30s_per_identity=1
    )
    body = {"app_id": "11", "identity": "alice", "properties": {"plan": "pro"}}
    usage = usage_of("/api/add_user_properties", body)
    assert usage.event_count == 0
    assert rate_limiter.admit(usage) is None
    rejection = rate_limiter.admit(usage)
    assert rejection is not None
    assert rejection.exceeded == ("requests_per_30s_per_identity",)


def test_every_exceeded_limit_is_named_and_the_longest_wait_wins() -> None:
    clock = FakeClock()
    rate_limiter = RateLimiter(
        RateLimits(
            events_per_minute_per_app=1,
            requests_per_30s_per_identity=1,
            single_events_count_against_app=True,
        ),
        clock=clock,
    )
    assert rate_limiter.admit(single_track_usage("alice")) is None
    rejection = rate_limiter.admit(single_track_usage("alice"))
    assert rejection is not None
    assert set(rejection.exceeded) == {"events_per_minute_per_app", "requests_per_30s_per_identity"}
    assert rejection.retry_after_seconds == 60


def test_configure_replaces_limits_and_forgets_counts() -> None:
    rate_limiter = limiter(FakeClock(), events_per_minute_per_app=1)
    assert rate_limiter.admit(track_usage("a")) is None
    rate_limiter.configure(RateLimits(events_per_minute_per_app=1))
    assert rate_limiter.admit(track_usage("a")) is None
    rate_limiter.configure(None)
    assert rate_limiter.limits == RateLimits()


def test_a_request_larger_than_the_limit_waits_a_whole_window() -> None:
    window = SlidingWindow(seconds=60, limit=2)
    assert window.wait_needed("app", 3, now=0) == 60


def test_limits_from_json_accept_a_subset() -> None:
    limits = RateLimits.from_json(
        {"events_per_minute_per_app": 15000, "requests_per_30s_per_identity": None}
    )
    assert limits == RateLimits(events_per_minute_per_app=15000)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"events_per_hour": 1}, "events_per_hour: unknown field"),
        ({"events_per_minute_per_app": "10"}, "events_per_minute_per_app: must be an integer"),
        ({"events_per_minute_per_app": True}, "events_per_minute_per_app: must be an integer"),
        ({"events_per_minute_per_app": 0}, "events_per_minute_per_app: must be at least 1"),
        ([], "body: must be a JSON object"),
    ],
)
def test_limits_from_json_reject_bad_input(data: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RateLimits.from_json(data)


def test_single_events_are_not_counted_against_the_bulk_event_limits_by_default() -> None:
    rate_limiter = limiter(
        FakeClock(), events_per_minute_per_app=1, events_per_minute_per_identity=1
    )
    assert rate_limiter.admit(track_usage("alice")) is None
    assert all(rate_limiter.admit(single_track_usage("alice")) is None for _ in range(5))
    assert rate_limiter.admit(track_usage("bob")) is not None


def test_the_switch_counts_single_events_against_the_app_limit_too() -> None:
    rate_limiter = RateLimiter(
        RateLimits(events_per_minute_per_app=2, single_events_count_against_app=True),
        clock=FakeClock(),
    )
    assert rate_limiter.admit(single_track_usage("alice")) is None
    assert rate_limiter.admit(track_usage("bob")) is None
    rejection = rate_limiter.admit(single_track_usage("carol"))
    assert rejection is not None
    assert rejection.exceeded == ("events_per_minute_per_app",)


def test_the_switch_must_be_a_boolean() -> None:
    with pytest.raises(ValueError, match="single_events_count_against_app"):
        RateLimits.from_json({"single_events_count_against_app": 1})
