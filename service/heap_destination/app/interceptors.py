"""Around every call: authentication, the caller and request id for the call, an access log.

Health checks stay open to anyone, so load balancers and probes need no token.
"""

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from heap_destination.api.caller import CURRENT_CALLER, Caller, Unauthenticated
from heap_destination.api.error_status import grpc_status
from heap_destination.app.logs import REQUEST_ID
from heap_destination.app.tokens import TokenStore

log = logging.getLogger("heap_destination.access")

OPEN_METHODS_PREFIX = "/grpc.health.v1.Health/"
_BEARER = "bearer "


class CallerInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    def __init__(self, tokens: TokenStore | None) -> None:
        self._tokens = tokens

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or details.method.startswith(OPEN_METHODS_PREFIX):
            return handler
        metadata = {key: value for key, value in details.invocation_metadata or ()}
        request_id = str(metadata.get("x-request-id") or uuid.uuid4().hex)
        caller: Caller | None = None
        if self._tokens is not None:
            caller = self._tokens.caller(_bearer_token(metadata.get("authorization")))
            if caller is None:
                return _refusing(handler, details.method, request_id)
        return _wrapped(handler, details.method, caller, request_id)


def _bearer_token(header: Any) -> str:
    if isinstance(header, str) and header.lower().startswith(_BEARER):
        return header[len(_BEARER) :].strip()
    return ""


def _wrapped(
    handler: grpc.RpcMethodHandler, method: str, caller: Caller | None, request_id: str
) -> grpc.RpcMethodHandler:
    def enter() -> Callable[[grpc.aio.ServicerContext, BaseException | None], None]:
        caller_token, request_token = CURRENT_CALLER.set(caller), REQUEST_ID.set(request_id)
        started = time.monotonic()

        def leave(context: grpc.aio.ServicerContext, error: BaseException | None) -> None:
            code = context.code() or (grpc.StatusCode.UNKNOWN if error else grpc.StatusCode.OK)
            log.info(
                "call finished",
                extra={
                    "method": method,
                    "code": getattr(code, "name", str(code)),
                    "caller": caller.name if caller else None,
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                },
            )
            CURRENT_CALLER.reset(caller_token)
            REQUEST_ID.reset(request_token)

        return leave

    if handler.unary_unary is not None:
        behaviour = handler.unary_unary

        async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            leave = enter()
            try:
                response = await behaviour(request, context)
            except BaseException as error:
                leave(context, error)
                raise
            leave(context, None)
            return response

        return grpc.unary_unary_rpc_method_handler(
            unary, handler.request_deserializer, handler.response_serializer
        )
    if handler.stream_stream is not None:
        streaming = handler.stream_stream

        async def stream(requests: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            leave = enter()
            try:
                async for response in streaming(requests, context):
                    yield response
            except BaseException as error:
                leave(context, error)
                raise
            leave(context, None)

        return grpc.stream_stream_rpc_method_handler(
            stream, handler.request_deserializer, handler.response_serializer
        )
    return handler


def _refusing(
    handler: grpc.RpcMethodHandler, method: str, request_id: str
) -> grpc.RpcMethodHandler:
    status = grpc_status(Unauthenticated("a valid bearer token is required in 'authorization'"))

    async def refuse(context: grpc.aio.ServicerContext) -> None:
        REQUEST_ID.set(request_id)
        log.info("call refused", extra={"method": method, "code": "UNAUTHENTICATED"})
        await context.abort(status.code, status.details, status.trailing_metadata)

    async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await refuse(context)

    async def stream(requests: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        await refuse(context)
        yield  # pragma: no cover (makes this an async generator, like the real handler)

    if handler.stream_stream is not None:
        return grpc.stream_stream_rpc_method_handler(
            stream, handler.request_deserializer, handler.response_serializer
        )
    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(
            unary, handler.request_deserializer, handler.response_serializer
        )
    # Reflection's server-streaming method and anything else: refuse the same way.
    return grpc.stream_stream_rpc_method_handler(
        stream, handler.request_deserializer, handler.response_serializer
    )
