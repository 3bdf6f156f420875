"""Which Heap project and data center a request goes to, and how it is flattened."""

import dataclasses
import re
from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlsplit

from heap_destination.domain.ack_mode import AckMode
from heap_destination.domain.nested_mode import NestedMode
from heap_destination.domain.violations import FieldViolation, raise_if_any


class Region(Enum):
    US = "us"
    EU = "eu"


REGION_BASE_URLS = {
    Region.US: "https://heapanalytics.com",
    Region.EU: "https://c.eu.heap-api.com",
}

_REGION_URLS = frozenset(REGION_BASE_URLS.values())

# Heap app ids (environment ids) are decimal numbers. Heap accepts a wrong one silently,
# so this is the one check that can catch a typo before data goes astray.
_APP_ID = re.compile(r"[0-9]{1,32}")


@dataclass(frozen=True)
class DestinationSettings:
    """A destination config in which every field may be unset (None)."""

    app_id: str | None = None
    region: Region | None = None
    base_url: str | None = None
    nested_mode: NestedMode | None = None
    anonymous_id_as_identity: bool | None = None
    disable_text_capture: bool | None = None
    secure_cookie: bool | None = None
    tracking_server: str | None = None
    hostname: str | None = None
    ack_mode: AckMode | None = None
    native_arrays: bool | None = None

    def over(self, defaults: "DestinationSettings") -> "DestinationSettings":
        """These settings where set, `defaults` where not."""
        mine = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) is not None
        }
        return dataclasses.replace(defaults, **mine)


@dataclass(frozen=True)
class Destination:
    """A resolved, validated destination: everything delivery needs."""

    app_id: str
    base_url: str
    nested_mode: NestedMode
    anonymous_id_as_identity: bool
    ack_mode: AckMode = AckMode.DELIVERED
    native_arrays: bool = False
    """Event properties' arrays of scalars go to Heap as arrays (FLATTEN mode only)."""


def resolve_destination(
    settings: DestinationSettings, allowed_base_urls: frozenset[str] = frozenset()
) -> Destination:
    """The destination of merged settings; raises InvalidInput naming each bad setting.

    A base URL must be one of Heap's regions' or in `allowed_base_urls` (normalized, see
    normalize_base_url): a caller cannot make the service send anywhere else.
    """
    app_id, violations = checked_app_id(settings.app_id)
    base_url = settings.base_url or REGION_BASE_URLS[settings.region or Region.US]
    if problem := base_url_problem(base_url):
        violations.append(FieldViolation("config.base_url", problem))
    elif not is_allowed_base_url(base_url, allowed_base_urls):
        violations.append(
            FieldViolation(
                "config.base_url",
                "not allowed: this server delivers only to Heap's regions and the base URLs "
                "its operator allowed (--allowed-base-urls)",
            )
        )
    raise_if_any(violations)
    return Destination(
        app_id=app_id,
        base_url=normalize_base_url(base_url),
        nested_mode=settings.nested_mode or NestedMode.FLATTEN,
        anonymous_id_as_identity=bool(settings.anonymous_id_as_identity),
        ack_mode=settings.ack_mode or AckMode.DELIVERED,
        native_arrays=bool(settings.native_arrays),
    )


def is_allowed_base_url(base_url: str, allowed_base_urls: frozenset[str]) -> bool:
    normalized = normalize_base_url(base_url)
    return normalized in _REGION_URLS or normalized in allowed_base_urls


def normalize_base_url(base_url: str) -> str:
    """A valid base URL (see base_url_problem) with its scheme and host in lower case and
    no trailing slash, so that equal URLs compare equal."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme.lower()}://{host}{port}"


def checked_app_id(app_id: str | None) -> tuple[str, list[FieldViolation]]:
    """The trimmed app id, or the violation that says what is wrong with it."""
    app_id = (app_id or "").strip()
    if not app_id:
        return "", [
            FieldViolation(
                "config.app_id",
                "required: set it in the request's config or as the server's default (HEAP_APP_ID)",
            )
        ]
    if not _APP_ID.fullmatch(app_id):
        return "", [
            FieldViolation("config.app_id", "must be the decimal environment id of a Heap project")
        ]
    return app_id, []


def base_url_problem(base_url: str) -> str | None:
    if any(c.isspace() or not c.isprintable() for c in base_url):
        return "must not contain whitespace or control characters"
    try:
        parts = urlsplit(base_url)
        host = parts.hostname
    except ValueError:  # an unclosed IPv6 bracket, characters that change under NFKC
        host = None
    if host is None or parts.scheme not in ("http", "https"):
        return "must be an http or https URL with a host, like https://heapanalytics.com"
    if parts.username is not None or parts.password is not None:
        return "must not contain a user name or password"
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        return "the port must be a number from 1 to 65535"
    if parts.path.strip("/") or parts.query or parts.fragment or "?" in base_url:
        return "must hold only a scheme, a host and a port; Heap's paths are appended"
    return None
