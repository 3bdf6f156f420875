"""Which Heap project and data center a request goes to, and how it is flattened."""

import dataclasses
import re
from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlsplit

from heap_destination.domain.nested_mode import NestedMode
from heap_destination.domain.violations import FieldViolation, raise_if_any


class Region(Enum):
    US = "us"
    EU = "eu"


REGION_BASE_URLS = {
    Region.US: "https://heapanalytics.com",
    Region.EU: "https://c.eu.heap-api.com",
}

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


def resolve_destination(settings: DestinationSettings) -> Destination:
    app_id, violations = checked_app_id(settings.app_id)
    base_url = settings.base_url or REGION_BASE_URLS[settings.region or Region.US]
    if problem := base_url_problem(base_url):
        violations.append(FieldViolation("config.base_url", problem))
    raise_if_any(violations)
    return Destination(
        app_id=app_id,
        base_url=base_url.rstrip("/"),
        nested_mode=settings.nested_mode or NestedMode.FLATTEN,
        anonymous_id_as_identity=bool(settings.anonymous_id_as_identity),
    )


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
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "must be an http or https URL with a host, like https://heapanalytics.com"
    if parts.path.strip("/") or parts.query or parts.fragment:
        return "must hold only a scheme, a host and a port; Heap's paths are appended"
    return None
