"""The web loader snippet: script URL, heap.load options, validation and escaping."""

from typing import Any

import pytest

from heap_destination.domain.destination import DestinationSettings
from heap_destination.domain.violations import InvalidInput
from heap_destination.domain.web_snippet import SnippetVersion, render_snippet, script_json

from .helpers import violation_fields

APP_ID = "1234567890"

# Heap's snippets as Heap publishes them, checked 2026-11-28: the current one from
# https://developers.heap.io/docs/web, the classic one from
# https://help.heap.io/installation/standard-installations/web-installation/.
HEAP_CURRENT_LOADER = (
    "window.heapReadyCb=window.heapReadyCb||[],window.heap=window.heap||[],heap.load=function(e,t)"
    "{window.heap.envId=e,window.heap.clientConfig=t=t||{},window.heap.clientConfig."
    'shouldFetchServerConfig=!1;var a=document.createElement("script");a.type="text/javascript",'
    'a.async=!0,a.src="https://cdn.us.heap-api.com/config/"+e+"/heap_config.js";'
    'var r=document.getElementsByTagName("script")[0];r.parentNode.insertBefore(a,r);'
    'var n=["init","startTracking","stopTracking","track","resetIdentity","identify",'
    '"getSessionId","getUserId","getIdentity","addUserProperties","addEventProperties",'
    '"removeEventProperty","clearEventProperties","addAccountProperties","addAdapter",'
    '"addTransformer","addTransformerFn","onReady","addPageviewProperties",'
    '"removePageviewProperty","clearPageviewProperties","trackPageview"],'
    "i=function(e){return function(){var t=Array.prototype.slice.call(arguments,0);"
    "window.heapReadyCb.push({name:e,fn:function(){heap[e]&&heap[e].apply(heap,t)}})}};"
    "for(var p=0;p<n.length;p++)heap[n[p]]=i(n[p])};"
)
HEAP_CURRENT_SRC = '"https://cdn.us.heap-api.com/config/"+e+"/heap_config.js"'
HEAP_CLASSIC_LOADER = (
    "window.heap=window.heap||[],heap.load=function(e,t){window.heap.appid=e,"
    'window.heap.config=t=t||{};var r=document.createElement("script");'
    'r.type="text/javascript",r.async=!0,r.src="https://cdn.heapanalytics.com/js/heap-"+e+".js";'
    'var a=document.getElementsByTagName("script")[0];a.parentNode.insertBefore(r,a);'
    "for(var n=function(e){return function(){heap.push([e].concat("
    "Array.prototype.slice.call(arguments,0)))}},"
    'p=["addEventProperties","addUserProperties","clearEventProperties","identify",'
    '"resetIdentity","removeEventProperty","setEventProperties","track","unsetEventProperty"],'
    "o=0;o<p.length;o++)heap[p[o]]=n(p[o])};"
)
HEAP_CLASSIC_SRC = '"https://cdn.heapanalytics.com/js/heap-"+e+".js"'


def render(version: SnippetVersion | None = None, **settings: Any) -> str:
    """The snippet's html for the settings, with the test app id unless one is given."""
    return render_snippet(DestinationSettings(**{"app_id": APP_ID, **settings}), version).html


def rejected_fields(version: SnippetVersion | None = None, **settings: Any) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        render_snippet(DestinationSettings(**{"app_id": APP_ID, **settings}), version)
    return violation_fields(caught.value.violations)


def script_element(loader: str, load_call: str) -> str:
    return f'<script type="text/javascript">\n  {loader}\n  {load_call}\n</script>\n'


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


def test_by_default_the_script_is_heaps_current_config_script() -> None:
    snippet = render_snippet(DestinationSettings(app_id=APP_ID))

    assert snippet.script_url == f"https://cdn.us.heap-api.com/config/{APP_ID}/heap_config.js"


def test_the_current_version_loads_heaps_current_config_script() -> None:
    snippet = render_snippet(DestinationSettings(app_id=APP_ID), SnippetVersion.CURRENT)

    assert snippet.script_url == f"https://cdn.us.heap-api.com/config/{APP_ID}/heap_config.js"


def test_the_classic_version_loads_from_heaps_classic_cdn() -> None:
    snippet = render_snippet(DestinationSettings(app_id=APP_ID), SnippetVersion.CLASSIC)

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


def test_the_classic_version_with_a_hostname_loads_from_the_hostname() -> None:
    snippet = render_snippet(
        DestinationSettings(app_id=APP_ID, hostname="heap.example.com"), SnippetVersion.CLASSIC
    )

    assert snippet.script_url == f"https://heap.example.com/js/heap-{APP_ID}.js"


def test_the_current_version_with_a_hostname_is_rejected() -> None:
    fields = rejected_fields(SnippetVersion.CURRENT, hostname="heap.example.com")

    assert fields == ["config.web_snippet"]


# the loaders, whole


def test_the_default_snippet_is_heaps_current_snippet() -> None:
    url = f'"https://cdn.us.heap-api.com/config/{APP_ID}/heap_config.js"'

    assert render() == script_element(
        HEAP_CURRENT_LOADER.replace(HEAP_CURRENT_SRC, url), f'heap.load("{APP_ID}", {{}});'
    )


def test_the_classic_snippet_is_heaps_classic_snippet() -> None:
    url = f'"https://cdn.heapanalytics.com/js/heap-{APP_ID}.js"'

    assert render(SnippetVersion.CLASSIC) == script_element(
        HEAP_CLASSIC_LOADER.replace(HEAP_CLASSIC_SRC, url), f'heap.load("{APP_ID}", {{}});'
    )


@pytest.mark.parametrize("version", [None, SnippetVersion.CLASSIC], ids=["unset", "classic"])
def test_a_hostname_renders_the_classic_snippet_from_that_host(
    version: SnippetVersion | None,
) -> None:
    html = render(version, hostname="heap.example.com", secure_cookie=True)

    assert html == (
        '<script type="text/javascript">\n'
        "  window.heap=window.heap||[],heap.load=function(e,t){window.heap.appid=e,"
        'window.heap.config=t=t||{};var r=document.createElement("script");'
        'r.type="text/javascript",r.async=!0,'
        f'r.src="https://heap.example.com/js/heap-{APP_ID}.js";'
        'var a=document.getElementsByTagName("script")[0];a.parentNode.insertBefore(r,a);'
        "for(var n=function(e){return function(){heap.push([e].concat("
        "Array.prototype.slice.call(arguments,0)))}},"
        'p=["addEventProperties","addUserProperties","clearEventProperties","identify",'
        '"resetIdentity","removeEventProperty","setEventProperties","track",'
        '"unsetEventProperty"],o=0;o<p.length;o++)heap[p[o]]=n(p[o])};\n'
        f'  heap.load("{APP_ID}", {{secureCookie: true}});\n'
        "</script>\n"
    )


@pytest.mark.parametrize("version", list(SnippetVersion), ids=lambda v: v.value)
def test_every_loader_gets_the_options_in_its_heap_load_call(version: SnippetVersion) -> None:
    html = render(version, disable_text_capture=True, tracking_server="https://t.example.com")

    assert load_call(html) == (
        f'heap.load("{APP_ID}", {{disableTextCapture: true, '
        'trackingServer: "https://t.example.com"});'
    )


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


def test_a_version_conflict_is_named_with_the_other_bad_settings() -> None:
    fields = rejected_fields(SnippetVersion.CURRENT, app_id="x", hostname="heap.example.com")

    assert fields == ["config.app_id", "config.web_snippet"]


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
