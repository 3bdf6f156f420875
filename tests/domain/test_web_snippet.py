"""The web loader snippet: script URL, heap.load options, validation and escaping."""

from typing import Any

import pytest

from heap_destination.domain.destination import DestinationSettings
from heap_destination.domain.violations import InvalidInput
from heap_destination.domain.web_snippet import render_snippet, script_json

from .helpers import violation_fields

APP_ID = "1234567890"


def render(**settings: Any) -> str:
    """The snippet's html for the settings, with the test app id unless one is given."""
    return render_snippet(DestinationSettings(**{"app_id": APP_ID, **settings})).html


def rejected_fields(**settings: Any) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        render_snippet(DestinationSettings(**{"app_id": APP_ID, **settings}))
    return violation_fields(caught.value.violations)


def hostname_rejection(hostname: str) -> str:
    """The description of the one violation, which must name config.hostname."""
    with pytest.raises(InvalidInput) as caught:
        render_snippet(DestinationSettings(app_id=APP_ID, hostname=hostname))
    [violation] = caught.value.violations
    assert violation.field == "config.hostname"
    return violation.description


def load_call(html: str) -> str:
    return next(line.strip() for line in html.splitlines() if line.strip().startswith("heap.load("))


# script URL


def test_without_hostname_the_script_comes_from_heaps_cdn() -> None:
    snippet = render_snippet(DestinationSettings(app_id=APP_ID))

    assert snippet.script_url == f"https://cdn.heapanalytics.com/js/heap-{APP_ID}.js"


def test_a_custom_hostname_loads_its_own_script_path() -> None:
    snippet = render_snippet(DestinationSettings(app_id=APP_ID, hostname="heap.example.com"))

    assert snippet.script_url == f"https://heap.example.com/js/heap-{APP_ID}.js"


def test_a_hostname_may_carry_a_port() -> None:
    snippet = render_snippet(DestinationSettings(app_id=APP_ID, hostname="heap.example.com:8443"))

    assert snippet.script_url == f"https://heap.example.com:8443/js/heap-{APP_ID}.js"


def test_a_hostname_may_be_an_ip_address() -> None:
    assert render_snippet(DestinationSettings(app_id=APP_ID, hostname="10.0.0.7")).script_url == (
        f"https://10.0.0.7/js/heap-{APP_ID}.js"
    )


def test_a_hostname_may_be_a_bracketed_ipv6_address_with_a_port() -> None:
    snippet = render_snippet(DestinationSettings(app_id=APP_ID, hostname="[2001:db8::1]:8443"))

    assert snippet.script_url == f"https://[2001:db8::1]:8443/js/heap-{APP_ID}.js"


def test_the_loader_fetches_the_script_url() -> None:
    html = render(hostname="heap.example.com")

    assert f'r.src="https://heap.example.com/js/heap-{APP_ID}.js"' in html


# the snippet


def test_the_snippet_is_one_script_element() -> None:
    html = render()

    assert html.startswith('<script type="text/javascript">')
    assert html.rstrip().endswith("</script>")
    assert html.count("</script>") == 1


def test_the_snippet_reports_the_app_id() -> None:
    assert render_snippet(DestinationSettings(app_id=APP_ID)).app_id == APP_ID


def test_the_app_id_is_trimmed_like_for_delivery() -> None:
    assert render_snippet(DestinationSettings(app_id=f" {APP_ID} ")).app_id == APP_ID


def test_heap_load_gets_the_app_id_as_a_string() -> None:
    assert load_call(render()).startswith(f'heap.load("{APP_ID}", ')


def test_the_same_settings_render_the_same_snippet() -> None:
    settings = {"hostname": "heap.example.com", "secure_cookie": True}

    assert render(**settings) == render(**settings)


# heap.load options


def test_no_options_set_gives_an_empty_config() -> None:
    assert load_call(render()) == f'heap.load("{APP_ID}", {{}});'


def test_disable_text_capture_true_is_passed() -> None:
    assert "{disableTextCapture: true}" in load_call(render(disable_text_capture=True))


def test_disable_text_capture_false_is_passed() -> None:
    assert "{disableTextCapture: false}" in load_call(render(disable_text_capture=False))


def test_disable_text_capture_unset_is_left_out() -> None:
    assert "disableTextCapture" not in render(secure_cookie=True)


def test_secure_cookie_true_is_passed() -> None:
    assert "{secureCookie: true}" in load_call(render(secure_cookie=True))


def test_secure_cookie_false_is_passed() -> None:
    assert "{secureCookie: false}" in load_call(render(secure_cookie=False))


def test_secure_cookie_unset_is_left_out() -> None:
    assert "secureCookie" not in render(disable_text_capture=True)


def test_tracking_server_is_passed_as_a_string() -> None:
    html = render(tracking_server="https://t.example.com")

    assert '{trackingServer: "https://t.example.com"}' in load_call(html)


def test_tracking_server_unset_is_left_out() -> None:
    assert "trackingServer" not in render(disable_text_capture=True)


def test_all_options_come_in_a_fixed_order() -> None:
    html = render(
        tracking_server="https://t.example.com", secure_cookie=True, disable_text_capture=False
    )

    assert load_call(html) == (
        f'heap.load("{APP_ID}", {{disableTextCapture: false, secureCookie: true, '
        'trackingServer: "https://t.example.com"});'
    )


# app id


def test_a_missing_app_id_is_rejected() -> None:
    assert rejected_fields(app_id=None) == ["config.app_id"]


def test_a_non_decimal_app_id_is_rejected() -> None:
    assert rejected_fields(app_id="abc123") == ["config.app_id"]


# hostname


@pytest.mark.parametrize("hostname", ["https://heap.example.com", "http://heap.example.com"])
def test_a_hostname_with_a_scheme_is_rejected(hostname: str) -> None:
    assert "scheme" in hostname_rejection(hostname)


@pytest.mark.parametrize(
    "hostname", ["heap.example.com/js", "heap.example.com/", "//heap.example.com"]
)
def test_a_hostname_with_a_path_is_rejected(hostname: str) -> None:
    assert "path" in hostname_rejection(hostname)


@pytest.mark.parametrize("hostname", ["heap.example.com?x=1", "heap.example.com#top"])
def test_a_hostname_with_a_query_or_fragment_is_rejected(hostname: str) -> None:
    assert "query" in hostname_rejection(hostname)


def test_a_hostname_containing_the_app_id_is_rejected() -> None:
    assert "app id" in hostname_rejection(f"heap-{APP_ID}.example.com")


@pytest.mark.parametrize("hostname", ["heap example.com", " heap.example.com", "heap.example\n"])
def test_a_hostname_with_whitespace_is_rejected(hostname: str) -> None:
    assert "whitespace" in hostname_rejection(hostname)


@pytest.mark.parametrize("hostname", ['heap".example.com', "heap'.example.com", "heap<x>.com"])
def test_a_hostname_with_quotes_or_angle_brackets_is_rejected(hostname: str) -> None:
    assert "quotes" in hostname_rejection(hostname)


def test_a_hostname_over_253_characters_is_rejected() -> None:
    hostname = ".".join(["a" * 63] * 4)  # 255 characters of valid labels

    assert "253" in hostname_rejection(hostname)


def test_a_hostname_of_253_characters_is_accepted() -> None:
    hostname = ".".join(["a" * 63] * 3 + ["a" * 61])

    assert len(hostname) == 253
    assert render_snippet(DestinationSettings(app_id=APP_ID, hostname=hostname)).script_url


@pytest.mark.parametrize(
    "hostname",
    [
        "heap_cdn.example.com",
        "-heap.example.com",
        "heap..example.com",
        "heap.example.com.",
        "a" * 64 + ".example.com",
        "héap.example.com",
    ],
)
def test_a_hostname_that_is_not_a_dns_name_is_rejected(hostname: str) -> None:
    assert "DNS name" in hostname_rejection(hostname)


@pytest.mark.parametrize("hostname", ["10.0.0.300", "2001:db8::1", "[not:v6]"])
def test_a_hostname_that_is_not_an_ip_address_is_rejected(hostname: str) -> None:
    assert "IP address" in hostname_rejection(hostname)


@pytest.mark.parametrize(
    "hostname", ["heap.example.com:", "heap.example.com:0", "heap.example.com:65536", "h:x"]
)
def test_a_hostname_with_a_bad_port_is_rejected(hostname: str) -> None:
    assert "port" in hostname_rejection(hostname)


# tracking server


@pytest.mark.parametrize("url", ["https://t.example.com", "http://localhost:8080/heap"])
def test_an_http_or_https_tracking_server_is_accepted(url: str) -> None:
    assert url in render(tracking_server=url)


@pytest.mark.parametrize(
    "url",
    [
        "t.example.com",
        "ftp://t.example.com",
        "https://",
        "https://t.example.com:port",
        "https://[::1",
        "javascript:alert(1)",
    ],
)
def test_a_tracking_server_that_is_not_a_web_url_is_rejected(url: str) -> None:
    assert rejected_fields(tracking_server=url) == ["config.tracking_server"]


@pytest.mark.parametrize(
    "url",
    [
        "https://t.example.com/</script>",
        'https://t.example.com/"',
        "https://t.example.com/ x",
        "https://t.example.com/\u2028",
    ],
)
def test_a_tracking_server_with_unsafe_characters_is_rejected(url: str) -> None:
    assert rejected_fields(tracking_server=url) == ["config.tracking_server"]


# all at once


def test_every_bad_setting_is_named_at_once() -> None:
    fields = rejected_fields(app_id="x", hostname="https://h/", tracking_server="nope")

    assert fields == ["config.app_id", "config.hostname", "config.tracking_server"]


# escaping


def test_script_json_writes_a_json_string() -> None:
    assert script_json("https://t.example.com") == '"https://t.example.com"'


def test_script_json_writes_booleans_as_javascript() -> None:
    assert (script_json(True), script_json(False)) == ("true", "false")


def test_script_json_never_lets_a_closing_script_tag_through() -> None:
    written = script_json("</script><script>alert(1)</script>")

    assert "</script" not in written.lower()
    assert "<" not in written and ">" not in written


def test_script_json_escapes_angle_brackets_and_ampersands() -> None:
    assert script_json("<!--&-->") == '"\\u003c!--\\u0026--\\u003e"'


def test_script_json_escapes_javascript_line_terminators() -> None:
    assert script_json("a\u2028b\u2029c") == '"a\\u2028b\\u2029c"'


def test_script_json_escapes_quotes() -> None:
    assert script_json('a"b') == '"a\\"b"'
