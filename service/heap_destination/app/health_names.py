"""The service names the server's gRPC health answers for, beside its own services.

Readiness is the server as a whole (service ""): SERVING while it can take events now,
NOT_SERVING while any of app/health_reasons.py's reasons holds (starting, the store
unreachable, a worker missing, draining). Liveness is its own name: SERVING as long as the
process serves at all, whatever readiness says, so that a probe restarting a stuck process
does not restart every pod during a database outage.

A module of its own so that `heap-destination health` can name them without importing
the server.
"""

READINESS_SERVICE = ""
LIVENESS_SERVICE = "liveness"
