"""Destination settings: defaults, app id, region and base URL, nested mode."""

import dataclasses

import pytest

from heap_destination.domain.destination import (
    Destination,
    DestinationSettings,
    Region,
    resolve_destination,
)
from heap_destination.domain.nested_mode import NestedMode
from heap_destination.domain.violations import InvalidInput

from .helpers import violation_fields

US = "https://heapanalytics.com"
EU = "https://c.eu.heap-api.com"


def rejected_fields(settings: DestinationSettings) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        resolve_destination(settings)
    return violation_fields(caught.value.violations)


# over


def test_over_keeps_the_set_fields() -> None:
    mine = DestinationSettings(app_id="2", region=Region.US, nested_mode=NestedMode.DROP)
    defaults = DestinationSettings(app_id="1", region=Region.EU, nested_mode=NestedMode.INDEXED)

    assert mine.over(defaults) == mine


def test_over_inherits_the_unset_fields_from_defaults() -> None:
    defaults = DestinationSettings(
        app_id="1",
        region=Region.EU,
        base_url="http://localhost:9000",
        nested_mode=NestedMode.INDEXED,
        anonymous_id_as_identity=True,
        hostname="cdn.example.com",
    )

    assert DestinationSettings().over(defaults) == defaults


def test_over_mixes_set_fields_and_defaults() -> None:
    mine = DestinationSettings(app_id="2")
    defaults = DestinationSettings(app_id="1", region=Region.EU, nested_mode=NestedMode.STRINGIFY)

    assert mine.over(defaults) == DestinationSettings(
        app_id="2", region=Region.EU, nested_mode=NestedMode.STRINGIFY
    )


def test_over_treats_false_as_set() -> None:
    mine = DestinationSettings(anonymous_id_as_identity=False, secure_cookie=False)
    defaults = DestinationSettings(anonymous_id_as_identity=True, secure_cookie=True)

    result = mine.over(defaults)

    assert result.anonymous_id_as_identity is False
    assert result.secure_cookie is False


def test_over_treats_empty_string_as_set() -> None:
    assert DestinationSettings(base_url="").over(DestinationSettings(base_url="x")).base_url == ""


def test_over_leaves_both_settings_unchanged() -> None:
    mine = DestinationSettings(app_id="2")
    defaults = DestinationSettings(app_id="1", region=Region.EU)

    mine.over(defaults)

    assert mine == DestinationSettings(app_id="2")
    assert defaults == DestinationSettings(app_id="1", region=Region.EU)


def test_unset_over_unset_stays_unset() -> None:
    assert DestinationSettings().over(DestinationSettings()) == DestinationSettings()


# app_id


@pytest.mark.parametrize("app_id", [None, "", "   "])
def test_app_id_is_required(app_id: str | None) -> None:
    assert rejected_fields(DestinationSettings(app_id=app_id)) == ["config.app_id"]


@pytest.mark.parametrize(
    "app_id", ["abc", "12a", "-1", "1.5", "1 2", "0x1F", "١٢٣", "\uff11\uff12\uff13"]
)
def test_app_id_must_be_a_decimal_number(app_id: str) -> None:
    assert rejected_fields(DestinationSettings(app_id=app_id)) == ["config.app_id"]


@pytest.mark.parametrize("app_id", ["0", "1234567890", "3" * 32])
def test_decimal_app_id_is_accepted(app_id: str) -> None:
    assert resolve_destination(DestinationSettings(app_id=app_id)).app_id == app_id


def test_app_id_is_trimmed() -> None:
    assert resolve_destination(DestinationSettings(app_id=" 123 \n")).app_id == "123"


# region and base URL


def test_region_defaults_to_us() -> None:
    assert resolve_destination(DestinationSettings(app_id="1")).base_url == US


@pytest.mark.parametrize(("region", "base_url"), [(Region.US, US), (Region.EU, EU)])
def test_region_picks_the_heap_data_center(region: Region, base_url: str) -> None:
    assert resolve_destination(DestinationSettings(app_id="1", region=region)).base_url == base_url


LOCAL = frozenset({"http://localhost:8080", "https://sim.example.com"})


def test_base_url_wins_over_region() -> None:
    settings = DestinationSettings(app_id="1", region=Region.EU, base_url="http://localhost:8080")

    assert resolve_destination(settings, LOCAL).base_url == "http://localhost:8080"


def test_empty_base_url_falls_back_to_region() -> None:
    settings = DestinationSettings(app_id="1", region=Region.EU, base_url="")

    assert resolve_destination(settings).base_url == EU


@pytest.mark.parametrize(
    "base_url", ["http://localhost:8080/", "https://sim.example.com//", "HTTPS://Sim.Example.COM"]
)
def test_base_url_is_normalized(base_url: str) -> None:
    settings = DestinationSettings(app_id="1", base_url=base_url)

    assert resolve_destination(settings, LOCAL).base_url == base_url.rstrip("/").lower()


@pytest.mark.parametrize(
    "base_url", ["http://127.0.0.1:6379", "http://localhost:8081", US + ":444"]
)
def test_a_base_url_that_is_not_allowed_is_rejected(base_url: str) -> None:
    settings = DestinationSettings(app_id="1", base_url=base_url)

    with pytest.raises(InvalidInput) as caught:
        resolve_destination(settings, LOCAL)

    assert violation_fields(caught.value.violations) == ["config.base_url"]
    assert "not allowed" in caught.value.violations[0].description


@pytest.mark.parametrize("base_url", [US, EU + "/", "https://HEAPANALYTICS.com"])
def test_heaps_regions_are_always_allowed(base_url: str) -> None:
    settings = DestinationSettings(app_id="1", base_url=base_url)

    assert resolve_destination(settings).base_url in (US, EU)


@pytest.mark.parametrize(
    "base_url",
    [
        "heapanalytics.com",
        "localhost:8080",
        "ftp://heapanalytics.com",
        "https://",
        "https://heapanalytics.com/api",
        "https://heapanalytics.com/api/track",
        "https://heapanalytics.com?x=1",
        "https://heapanalytics.com#top",
        "https://user:secret@heapanalytics.com",
        "https://heapanalytics.com@127.0.0.1",
        "https://heapanalytics.com:99999",
        "https://heapanalytics.com:0",
        "https://heapanalytics.com:x",
        "https://heap\r\nanalytics.com",
        "https://heapanalytics.com\x00",
        "https://heap analytics.com",
        "http://[::1",
        "http://::1]",
        "http://[x]",
        "http://a\u2100b",
        "http://",
    ],
)
def test_bad_base_url_is_rejected(base_url: str) -> None:
    settings = DestinationSettings(app_id="1", base_url=base_url)

    assert rejected_fields(settings) == ["config.base_url"]


def test_bad_app_id_and_bad_base_url_are_reported_together() -> None:
    settings = DestinationSettings(app_id="x", base_url="ftp://h")

    assert rejected_fields(settings) == ["config.app_id", "config.base_url"]


# the rest


def test_nested_mode_defaults_to_flatten() -> None:
    assert resolve_destination(DestinationSettings(app_id="1")).nested_mode is NestedMode.FLATTEN


@pytest.mark.parametrize("mode", list(NestedMode))
def test_nested_mode_is_kept(mode: NestedMode) -> None:
    assert (
        resolve_destination(DestinationSettings(app_id="1", nested_mode=mode)).nested_mode is mode
    )


def test_anonymous_id_as_identity_defaults_to_false() -> None:
    assert resolve_destination(DestinationSettings(app_id="1")).anonymous_id_as_identity is False


def test_anonymous_id_as_identity_is_kept() -> None:
    settings = DestinationSettings(app_id="1", anonymous_id_as_identity=True)

    assert resolve_destination(settings).anonymous_id_as_identity is True


def test_native_arrays_default_to_false() -> None:
    assert resolve_destination(DestinationSettings(app_id="1")).native_arrays is False


def test_native_arrays_are_kept_and_a_requests_setting_wins_over_the_default() -> None:
    server = DestinationSettings(app_id="1", native_arrays=True)

    assert resolve_destination(server).native_arrays is True
    request = DestinationSettings(native_arrays=False).over(server)
    assert resolve_destination(request).native_arrays is False
    assert resolve_destination(DestinationSettings().over(server)).native_arrays is True


def test_resolved_destination_holds_everything_delivery_needs() -> None:
    settings = DestinationSettings(
        app_id="42",
        region=Region.EU,
        nested_mode=NestedMode.INDEXED,
        anonymous_id_as_identity=True,
    )

    assert resolve_destination(settings) == Destination(
        app_id="42", base_url=EU, nested_mode=NestedMode.INDEXED, anonymous_id_as_identity=True
    )


def test_resolved_destination_is_immutable() -> None:
    destination = resolve_destination(DestinationSettings(app_id="1"))

    with pytest.raises(dataclasses.FrozenInstanceError):
        destination.app_id = "2"  # type: ignore[misc]
