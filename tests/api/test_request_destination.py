"""A request's destination: its own config over the stream's over the server's, each
distinct small config resolved once (of a stream, or of the unary calls)."""

import pytest

from heap_destination.api.request_destination import DestinationResolver
from heap_destination.domain.destination import DestinationSettings
from heap_destination.domain.violations import InvalidInput
from heap_destination.v1 import config_pb2

US = "https://heapanalytics.com"


def resolver() -> DestinationResolver:
    return DestinationResolver(DestinationSettings(base_url=US, app_id="1"), frozenset())


def test_a_request_config_applies_over_the_base() -> None:
    destinations = resolver()

    assert destinations.resolve(None).app_id == "1"
    assert destinations.resolve(config_pb2.DestinationConfig(app_id="2")).app_id == "2"


def test_a_repeated_config_gives_the_same_destination_each_time() -> None:
    destinations = resolver()
    configs = [config_pb2.DestinationConfig(app_id=str(n % 4 + 10)) for n in range(100)]

    resolved = [destinations.resolve(config) for config in configs]

    assert [d.app_id for d in resolved] == [c.app_id for c in configs]
    assert len({id(d) for d in resolved}) == 4


def test_past_the_remembered_configs_each_is_still_resolved_right() -> None:
    destinations = resolver()
    configs = [config_pb2.DestinationConfig(app_id=str(n + 100)) for n in range(200)]

    assert [destinations.resolve(c).app_id for c in configs * 2] == [c.app_id for c in configs * 2]


def test_the_configs_used_last_stay_remembered_past_the_bound() -> None:
    destinations = resolver()
    steady = config_pb2.DestinationConfig(app_id="7")
    first = destinations.resolve(steady)

    for n in range(200):  # many one-off configs, the steady one used between them
        destinations.resolve(config_pb2.DestinationConfig(app_id=str(n + 100)))
        assert destinations.resolve(steady) is first


def test_a_bad_config_is_refused_every_time_it_comes() -> None:
    destinations = resolver()
    bad = config_pb2.DestinationConfig(app_id="not a number")

    for _ in range(3):
        with pytest.raises(InvalidInput) as raised:
            destinations.resolve(bad)
        assert [v.field for v in raised.value.violations] == ["config.app_id"]
