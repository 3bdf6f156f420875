"""The web settings of a destination to Heap's browser loader snippet."""

import ipaddress
import json
import re
from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlsplit

from heap_destination.domain.destination import DestinationSettings, checked_app_id
from heap_destination.domain.violations import FieldViolation, raise_if_any

# Heap's current loader fetches the environment's config script, which loads heap.js 5
# (https://developers.heap.io/docs/web, checked 2026-11-28).
CURRENT_CONFIG_BASE_URL = "https://cdn.us.heap-api.com/config"
# Heap's classic loader fetches heap-APP_ID.js from this host, or from a custom hostname.
CDN_HOST = "cdn.heapanalytics.com"
MAX_HOSTNAME_LENGTH = 253


class SnippetVersion(Enum):
    """Which of Heap's browser loaders to render."""

    CURRENT = "current"
    CLASSIC = "classic"


# Heap's current loader, verbatim except that the script URL is written in by the service
# (Heap's own snippet builds it as "https://cdn.us.heap-api.com/config/"+e+"/heap_config.js").
_CURRENT_LOADER_HEAD = (
    "window.heapReadyCb=window.heapReadyCb||[],window.heap=window.heap||[],"
    "heap.load=function(e,t){window.heap.envId=e,window.heap.clientConfig=t=t||{},"
    "window.heap.clientConfig.shouldFetchServerConfig=!1;"
    'var a=document.createElement("script");a.type="text/javascript",a.async=!0,a.src='
)
_CURRENT_LOADER_TAIL = (
    ';var r=document.getElementsByTagName("script")[0];r.parentNode.insertBefore(a,r);'
    'var n=["init","startTracking","stopTracking","track","resetIdentity","identify",'
    '"getSessionId","getUserId","getIdentity","addUserProperties","addEventProperties",'
    '"removeEventProperty","clearEventProperties","addAccountProperties","addAdapter",'
    '"addTransformer","addTransformerFn","onReady","addPageviewProperties",'
    '"removePageviewProperty","clearPageviewProperties","trackPageview"],'
    "i=function(e){return function(){var t=Array.prototype.slice.call(arguments,0);"
    "window.heapReadyCb.push({name:e,fn:function(){heap[e]&&heap[e].apply(heap,t)}})}};"
    "for(var p=0;p<n.length;p++)heap[n[p]]=i(n[p])};"
)

# Heap's classic loader, verbatim except that the script URL is written in by the service.
_CLASSIC_LOADER_HEAD = (
    "window.heap=window.heap||[],heap.load=function(e,t){window.heap.appid=e,"
    'window.heap.config=t=t||{};var r=document.createElement("script");'
    'r.type="text/javascript",r.async=!0,r.src='
)
_CLASSIC_LOADER_TAIL = (
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


def render_snippet(
    settings: DestinationSettings, version: SnippetVersion | None = None
) -> WebSnippet:
    """The loader for merged settings; raises InvalidInput naming every bad setting.

    Without a version: the classic loader when a hostname is set (a self-hosted script is
    heap-APP_ID.js), Heap's current loader otherwise. CURRENT with a hostname is invalid.
    """
    app_id, violations = checked_app_id(settings.app_id)
    if settings.hostname is not None and (problem := hostname_problem(settings.hostname, app_id)):
        violations.append(FieldViolation("config.hostname", problem))
    if settings.tracking_server is not None and (
        problem := tracking_server_problem(settings.tracking_server)
    ):
        violations.append(FieldViolation("config.tracking_server", problem))
    if version is SnippetVersion.CURRENT and settings.hostname is not None:
        violations.append(
            FieldViolation(
                "config.web_snippet",
                "WEB_SNIPPET_VERSION_CURRENT cannot load from a hostname: a self-hosted script "
                "is the classic heap-APP_ID.js; leave web_snippet unset or set "
                "WEB_SNIPPET_VERSION_CLASSIC",
            )
        )
    raise_if_any(violations)
    if version is None:
        version = SnippetVersion.CLASSIC if settings.hostname else SnippetVersion.CURRENT
    script_url = script_url_for(app_id, settings.hostname, version)
    return WebSnippet(
        html=_script_element(app_id, script_url, _load_options(settings), version),
        script_url=script_url,
        app_id=app_id,
    )


def script_url_for(app_id: str, hostname: str | None, version: SnippetVersion) -> str:
    """The script the loader fetches. A hostname always means the classic script path."""
    if version is SnippetVersion.CURRENT and hostname is None:
        return f"{CURRENT_CONFIG_BASE_URL}/{app_id}/heap_config.js"
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


def _script_element(
    app_id: str, script_url: str, options: dict[str, str | bool], version: SnippetVersion
) -> str:
    config = ", ".join(f"{name}: {script_json(value)}" for name, value in options.items())
    if version is SnippetVersion.CURRENT:
        head, tail = _CURRENT_LOADER_HEAD, _CURRENT_LOADER_TAIL
    else:
        head, tail = _CLASSIC_LOADER_HEAD, _CLASSIC_LOADER_TAIL
    loader = f"{head}{script_json(script_url)}{tail}"
    load_call = f"heap.load({script_json(app_id)}, {{{config}}});"
    return f'<script type="text/javascript">\n  {loader}\n  {load_call}\n</script>\n'
