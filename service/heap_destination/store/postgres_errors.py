"""psycopg's base error, for code that catches driver errors. psycopg is an optional
extra: without it no store raises its errors, and PostgresError is a class never raised."""


class _NeverRaised(Exception):
    """Stands for psycopg's errors while psycopg is not installed."""


PostgresError: type[Exception] = _NeverRaised
try:
    import psycopg
except ImportError:
    pass
else:
    PostgresError = psycopg.Error
