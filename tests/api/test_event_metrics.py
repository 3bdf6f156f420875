"""A stream's tally reaches the metrics: added up, and after the stream ended."""

from prometheus_client import REGISTRY

from heap_destination.api.event_metrics import StreamTally


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(f"heap_destination_{name}_total", labels) or 0.0


def test_counts_reach_the_metrics_when_added_up() -> None:
    received, delivered = (
        _value("events_received", kind="track", via="stream"),
        _value("events_delivered", kind="track"),
    )
    tally = StreamTally()
    for _ in range(3):
        tally.received("track")
    tally.succeeded("track", (), stored=False)

    assert _value("events_received", kind="track", via="stream") == received
    tally.add_up()
    assert _value("events_received", kind="track", via="stream") == received + 3
    assert _value("events_delivered", kind="track") == delivered + 1


def test_an_event_settling_after_the_stream_ended_is_counted_at_once() -> None:
    """Events in flight when a caller cancels its stream are still delivered."""
    delivered = _value("events_delivered", kind="track")
    stored = _value("events_stored", kind="track")
    tally = StreamTally()
    tally.succeeded("track", (), stored=False)
    tally.close()

    tally.succeeded("track", (), stored=False)
    tally.succeeded("track", (), stored=True)

    assert _value("events_delivered", kind="track") == delivered + 2
    assert _value("events_stored", kind="track") == stored + 1
