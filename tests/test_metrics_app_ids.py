"""The app_id label keeps a bound on its values (metrics.AppIdLabel)."""

from heap_destination.metrics import MAX_APP_ID_LABELS, AppIdLabel


def test_the_first_app_ids_keep_their_own_value_and_later_ones_share_other() -> None:
    label = AppIdLabel(limit=2)

    assert [label(app) for app in ("1", "2", "3", "1", "4", "2")] == [
        "1",
        "2",
        "other",
        "1",
        "other",
        "2",
    ]


def test_the_services_bound_leaves_room_for_many_apps() -> None:
    label = AppIdLabel(MAX_APP_ID_LABELS)

    assert {label(str(n)) for n in range(MAX_APP_ID_LABELS)} == {
        str(n) for n in range(MAX_APP_ID_LABELS)
    }
    assert label("one too many") == AppIdLabel.OTHER
