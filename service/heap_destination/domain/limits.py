"""Heap's documented limits, as its own server-side clients enforce them."""

MAX_EVENT_NAME_LENGTH = 1024
MAX_IDENTITY_LENGTH = 255
MAX_PROPERTY_KEY_LENGTH = 1024
MAX_PROPERTY_VALUE_LENGTH = 1024
MAX_HEAP_USER_ID = 2**53 - 1
MAX_NESTING_DEPTH = 20
MAX_MESSAGE_ID_LENGTH = 1024
"""The service's own bound on a caller's message_id (Heap's idempotency_key) and on a
streamed event's id: both are echoed in answers, which must stay small."""
RESERVED_USER_PROPERTY = "id"
EMAIL_USER_PROPERTY = "email"
MAX_ACCOUNT_ID_LENGTH = 1024
"""Heap matches an account by the value of the user property its Account ID setting
names, and property values are at most 1024 characters."""
