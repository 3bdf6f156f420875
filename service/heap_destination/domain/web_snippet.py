"""The web settings of a destination to Heap's browser loader snippet."""

import ipaddress
import json
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from heap_destination.domain.destination import DestinationSettings, checked_app_id
from heap_destination.domain.violations import FieldViolation, raise_if_any

CDN_HOST = "cdn.heapanalytics.com"
MAX_HOSTNAME_LENGTH = 253

# Heap's classic loader, verbatim except that the script URL is written in by the service.
_LOADER_HEAD = (
    "window.heap=window.heap||[],heap.load=function(e,t){window.heap.appid=e,"
    'window.heap.config=t=t||{};var r=document.createElement("script");'
    'r.type="text/javascript",r.async=!0,r.src='
)
_LOADER_TAIL = (
    ';var a=document.getElementsByTagName("script")[0];a.parentNode.insertBefore(r,a);'
    "for(var n=function(e){return function(){heap.push([e].concat("
    "Array.prototype.slice.call(arguments,0)))}},"
    'p=["addEventProperties","addUserProperties","clearEventProperties","identify",'
    '"resetIdentity","removeEventProperty","setEventProperties","track","unsetEventProperty"],'
    "o=0;o<p.length;o++)heap[p[o]]=n(p[o])};"
)

_SCRIPT_UNSAFE = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)
_QUOTES_BACKSLASH_BRACKETS = frozenset("\"'`\\<>")
_DNS_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_BRACKETED_IPV6 = re.compile(r"\[([0-9A-Fa-f:.]+)\](?::([0-9]+))?")

_UNSAFE_CHARACTERS = "must not contain whitespace, quotes, backslashes or angle brackets"


@dataclass(frozen=True)
class WebSnippet:
    html: str
    script_url: str
    app_id: str


def render_snippet(settings: DestinationSettings) -> WebSnippet:
    """The loader for merged settings; raises InvalidInput naming every bad setting."""
    app_id, violations = checked_app_id(settings.app_id)
    if settings.hostname is not None and (problem := hostname_problem(settings.hostname, app_id)):
        violations.append(FieldViolation("config.hostname", problem))
    if settings.tracking_server is not None and (
        problem := tracking_server_problem(settings.tracking_server)
    ):
        violations.append(FieldViolation("config.tracking_server", problem))
    raise_if_any(violations)
    script_url = script_url_for(app_id, settings.hostname)
    return WebSnippet(
        html=_script_element(app_id, script_url, _load_options(settings)),
        script_url=script_url,
        app_id=app_id,
    )


def script_url_for(app_id: str, hostname: str | None) -> str:
    return f"https://{hostname or CDN_HOST}/js/heap-{app_id}.js"


def script_json(value: str | bool) -> str:
    """`value` as a JavaScript literal that cannot end or comment out an HTML <script>."""
    return json.dumps(value, ensure_ascii=False).translate(_SCRIPT_UNSAFE)


def hostname_problem(hostname: str, app_id: str) -> str | None:
    if len(hostname) > MAX_HOSTNAME_LENGTH:
        return f"must be at most {MAX_HOSTNAME_LENGTH} characters"
    if _has_unsafe_characters(hostname):
        return _UNSAFE_CHARACTERS
    if "://" in hostname:
        return "must not contain a scheme such as https://: give the host alone"
    if "/" in hostname:
        return "must not contain a path or '/': the service appends /js/heap-APP_ID.js"
    if "?" in hostname or "#" in hostname:
        return "must not contain a query or fragment"
    if app_id and app_id in hostname:
        return "must not contain the app id: the service puts it in the script path"
    if not _is_host_with_optional_port(hostname):
        return (
            "must be a DNS name or IP address with an optional port, like cdn.example.com, "
            "cdn.example.com:8443 or [2001:db8::1]"
        )
    return None


def tracking_server_problem(url: str) -> str | None:
    if _has_unsafe_characters(url):
        return _UNSAFE_CHARACTERS
    if not _is_web_url_with_host(url):
        return "must be an https:// (or http://) URL with a host, like https://t.example.com"
    return None


def _has_unsafe_characters(text: str) -> bool:
    return any(c.isspace() or not c.isprintable() or c in _QUOTES_BACKSLASH_BRACKETS for c in text)


def _is_web_url_with_host(url: str) -> bool:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # an unclosed IPv6 bracket or a port that is not a number
        return False
    return parts.scheme in ("https", "http") and bool(parts.hostname) and port != 0


def _is_host_with_optional_port(hostname: str) -> bool:
    if ipv6 := _BRACKETED_IPV6.fullmatch(hostname):
        return _is_ipv6(ipv6[1]) and _is_port(ipv6[2])
    host, colon, port = hostname.partition(":")
    return _is_dns_name_or_ipv4(host) and _is_port(port if colon else None)


def _is_port(port: str | None) -> bool:
    return port is None or (port.isascii() and port.isdigit() and 0 < int(port) <= 65535)


def _is_ipv6(address: str) -> bool:
    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        return False
    return True


def _is_dns_name_or_ipv4(host: str) -> bool:
    labels = host.split(".")
    # As in browsers' URL parsing: a host whose last label is a number is an IPv4 address.
    if labels[-1].isascii() and labels[-1].isdigit():
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return False
        return True
    return all(_DNS_LABEL.fullmatch(label) for label in labels)


def _load_options(settings: DestinationSettings) -> dict[str, str | bool]:
    """The heap.load config: only the options the settings set, in a fixed order."""
    options: dict[str, str | bool | None] = {
        "disableTextCapture": settings.disable_text_capture,
        "secureCookie": settings.secure_cookie,
        "trackingServer": settings.tracking_server,
    }
    return {name: value for name, value in options.items() if value is not None}


def _script_element(app_id: str, script_url: str, options: dict[str, str | bool]) -> str:
    config = ", ".join(f"{name}: {script_json(value)}" for name, value in options.items())
    loader = f"{_LOADER_HEAD}{script_json(script_url)}{_LOADER_TAIL}"
    load_call = f"heap.load({script_json(app_id)}, {{{config}}});"
    return f'<script type="text/javascript">\n  {loader}\n  {load_call}\n</script>\n'
