"""Who an event belongs to in Heap."""

from heap_destination.domain.limits import MAX_IDENTITY_LENGTH
from heap_destination.domain.text import (
    NO_CONTROL_CHARACTERS,
    has_control_characters,
    trim_invisible,
)
from heap_destination.domain.violations import FieldViolation


def anonymous_only(user_id: str, anonymous_id: str) -> bool:
    """Whether a call carries an anonymous id and no user id (trimmed as resolve_identity
    trims them)."""
    return not trim_invisible(user_id) and bool(trim_invisible(anonymous_id))


def resolve_identity(
    user_id: str, anonymous_id: str, *, anonymous_id_as_identity: bool
) -> str | FieldViolation:
    """The Heap identity: the trimmed user_id, or the anonymous_id when the config allows.

    Trimming takes whitespace and invisible characters (like U+200B) off both ends, so an id
    made only of them is missing. Heap rejects server-side events without an identity, so an
    event with only an anonymous id is refused unless the destination says to use it.
    """
    user_id, anonymous_id = trim_invisible(user_id), trim_invisible(anonymous_id)
    if user_id:
        field, identity = "user_id", user_id
    elif anonymous_id and anonymous_id_as_identity:
        field, identity = "anonymous_id", anonymous_id
    elif anonymous_id:
        return FieldViolation(
            "user_id",
            "required: Heap's server-side API needs an identity and this event has only an "
            "anonymous_id (set config.anonymous_id_as_identity to use it as the identity)",
        )
    else:
        return FieldViolation("user_id", "required: Heap needs an identity")
    if has_control_characters(identity):
        return FieldViolation(field, NO_CONTROL_CHARACTERS)
    if len(identity) > MAX_IDENTITY_LENGTH:
        return FieldViolation(
            field,
            f"must be at most {MAX_IDENTITY_LENGTH} characters to be a Heap identity "
            f"(this one has {len(identity)})",
        )
    return identity
