"""AppRates: each app's single path rate, bounded in apps."""

from heap_destination.delivery.limits.adaptive_rate import AdaptiveRateSettings, AppRates

MAX_APPS = 10_000


def test_an_app_keeps_its_rate_between_uses() -> None:
    rates = AppRates(AdaptiveRateSettings(), clock=lambda: 0.0)
    rates.of("1").accepted()

    assert rates.of("1").rate == AdaptiveRateSettings().initial_rate + 1
    assert rates.of("2").rate == AdaptiveRateSettings().initial_rate


def test_past_the_bound_quiet_apps_start_over_and_throttled_ones_keep_their_rate() -> None:
    now = 100.0
    rates = AppRates(AdaptiveRateSettings(), clock=lambda: now)
    rates.of("throttled").throttled(sent_at=now, retry_after=None, now=now)
    halved = rates.of("throttled").rate
    rates.of("quiet").accepted()
    for n in range(MAX_APPS - 2):
        rates.of(f"app-{n}")

    rates.of("one too many")

    assert rates.of("throttled").rate == halved
    assert rates.of("quiet").rate == AdaptiveRateSettings().initial_rate
