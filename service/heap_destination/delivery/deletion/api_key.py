"""Heap's API key (for user deletion), kept out of reprs, logs and error messages."""


class HeapApiKey:
    """The key, shown nowhere: its repr and str say only that it is hidden, so settings,
    tracebacks and log lines that include it by accident still do not leak it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not value:
            raise ValueError("Heap's API key must not be empty")
        self._value = value

    def reveal(self) -> str:
        """The key itself: for the HTTP Basic auth of Heap's auth_token request, and for
        the local simulator that `heap-destination run` starts."""
        return self._value

    def redact(self, text: str) -> str:
        """`text` with every occurrence of the key replaced."""
        return text.replace(self._value, "<Heap API key>")

    def __repr__(self) -> str:
        return "HeapApiKey(<hidden>)"

    __str__ = __repr__
