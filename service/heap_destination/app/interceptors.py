"""Around every call: authentication, the caller and request id, an access log, and
answers for what the servicer cannot answer itself.

- A request that cannot be decoded is INVALID_ARGUMENT (see api/decoding.py); in a
  stream, after every earlier event has its result.
- An unexpected exception is logged and answered INTERNAL with no internal text.
- Health checks stay open to anyone, so load balancers and probes need no token.
"""

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from heap_destination.api.caller import CURRENT_CALLER, Caller, Unauthenticated
from heap_destination.api.decoding import (
    UndecodableMessage,
    decoded_messages,
    request_deserializer,
    safe_deserializer,
    undecodable_request,
)
from heap_destination.api.error_status import abort, grpc_status, internal_error_status
from heap_destination.app.logs import REQUEST_ID
from heap_destination.app.tokens import TokenStore
from heap_destination.domain.violations import InvalidInput

log = logging.getLogger("heap_destination.access")

OPEN_METHODS_PREFIX = "/grpc.health.v1.Health/"
_BEARER = "bearer "

Leave = Callable[[grpc.aio.ServicerContext, BaseException | None], None]


class CallerInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Sets each call's caller and request id, and hands gRPC the method's guarded handler
    (built once per method: see _guarded)."""

    def __init__(self, tokens: TokenStore | None) -> None:
        self._tokens = tokens
        self._guarded: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None:
            return handler
        method: str = details.method
        if method.startswith(OPEN_METHODS_PREFIX):
            return self._guarded_handler(handler, method)
        metadata = details.invocation_metadata or ()
        request_id = next((str(v) for k, v in metadata if k == "x-request-id"), None)
        if request_id is None:
            request_id = uuid.uuid4().hex
        caller: Caller | None = None
        if self._tokens is not None:
            caller = self._tokens.caller(_bearer_token(metadata))
            if caller is None:
                return _refusing(handler, method, request_id)
        # The interceptor runs in the call's own task, before its handler: the values set
        # here are the call's alone, and need no reset.
        CURRENT_CALLER.set(caller)
        REQUEST_ID.set(request_id)
        return self._guarded_handler(handler, method)

    def _guarded_handler(
        self, handler: grpc.RpcMethodHandler, method: str
    ) -> grpc.RpcMethodHandler:
        known = self._guarded.get(method)
        if known is not None and known[0] is handler:
            return known[1]
        logged = not method.startswith(OPEN_METHODS_PREFIX)
        guarded = _guarded(handler, method, _call_log(method) if logged else _unlogged)
        self._guarded[method] = (handler, guarded)
        return guarded


def _bearer_token(metadata: Any) -> str:
    """The token of the one `authorization` header; "" when there is none, or several."""
    headers = [value for key, value in metadata if key == "authorization"]
    if len(headers) != 1 or not isinstance(headers[0], str):
        return ""
    header = headers[0]
    if header.lower().startswith(_BEARER):
        return header[len(_BEARER) :].strip()
    return ""


def _unlogged() -> Leave:
    return lambda _context, _error: None


def _call_log(method: str) -> Callable[[], Leave]:
    """Run as a call starts; what it returns logs the call's end."""

    def enter() -> Leave:
        started = time.monotonic()

        def leave(context: grpc.aio.ServicerContext, error: BaseException | None) -> None:
            code = context.code() or (grpc.StatusCode.UNKNOWN if error else grpc.StatusCode.OK)
            caller = CURRENT_CALLER.get()
            log.info(
                "call finished",
                extra={
                    "method": method,
                    "code": getattr(code, "name", str(code)),
                    "caller": caller.name if caller else None,
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                },
            )

        return leave

    return enter


def _guarded(
    handler: grpc.RpcMethodHandler, method: str, enter: Callable[[], Leave]
) -> grpc.RpcMethodHandler:
    """`handler` with safe decoding, answers for bad requests and surprises, and `enter`
    run around each call."""
    deserialize = safe_deserializer(request_deserializer(method, handler.request_deserializer))
    serialize = handler.response_serializer

    async def answer_unary(
        behaviour: Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]],
        request: Any,
        context: grpc.aio.ServicerContext,
    ) -> Any:
        leave = enter()
        try:
            if isinstance(request, UndecodableMessage):
                await abort(context, undecodable_request(request))
            response = await behaviour(request, context)
        except BaseException as error:
            leave(context, error)
            await _answer_unexpected(context, error)
            raise
        leave(context, None)
        return response

    async def answer_stream(
        responses: Callable[[], AsyncIterator[Any]], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[Any]:
        leave = enter()
        try:
            async for response in responses():
                yield response
        except BaseException as error:
            leave(context, error)
            await _answer_unexpected(context, error)
            raise
        leave(context, None)

    if handler.unary_unary is not None:
        unary_unary = handler.unary_unary

        async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            return await answer_unary(unary_unary, request, context)

        return grpc.unary_unary_rpc_method_handler(unary, deserialize, serialize)
    if handler.stream_unary is not None:
        stream_unary = handler.stream_unary

        async def stream_in(requests: Any, context: grpc.aio.ServicerContext) -> Any:
            return await answer_unary(stream_unary, decoded_messages(requests), context)

        return grpc.stream_unary_rpc_method_handler(stream_in, deserialize, serialize)
    if handler.unary_stream is not None:
        unary_stream = handler.unary_stream

        async def stream_out(request: Any, context: grpc.aio.ServicerContext) -> Any:
            async def responses() -> AsyncIterator[Any]:
                if isinstance(request, UndecodableMessage):
                    raise undecodable_request(request)
                async for response in unary_stream(request, context):
                    yield response

            async for response in answer_stream(responses, context):
                yield response

        return grpc.unary_stream_rpc_method_handler(stream_out, deserialize, serialize)
    stream_stream = handler.stream_stream

    async def streams(requests: Any, context: grpc.aio.ServicerContext) -> Any:
        async for response in answer_stream(
            lambda: stream_stream(decoded_messages(requests), context), context
        ):
            yield response

    return grpc.stream_stream_rpc_method_handler(streams, deserialize, serialize)


async def _answer_unexpected(context: grpc.aio.ServicerContext, error: BaseException) -> None:
    """Answers bad input that surfaced as an exception, and surprises; lets gRPC's own
    endings (an abort, a cancellation) through."""
    if isinstance(error, InvalidInput):
        await abort(context, error)
    if isinstance(error, Exception) and not isinstance(error, grpc.aio.AbortError):
        log.error("call failed unexpectedly", exc_info=error)
        status = internal_error_status()
        await context.abort(status.code, status.details, status.trailing_metadata)


def _refusing(
    handler: grpc.RpcMethodHandler, method: str, request_id: str
) -> grpc.RpcMethodHandler:
    status = grpc_status(Unauthenticated("a valid bearer token is required in 'authorization'"))
    deserialize = safe_deserializer(handler.request_deserializer)

    async def refuse(context: grpc.aio.ServicerContext) -> None:
        REQUEST_ID.set(request_id)
        log.info("call refused", extra={"method": method, "code": "UNAUTHENTICATED"})
        await context.abort(status.code, status.details, status.trailing_metadata)

    async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await refuse(context)

    async def stream(requests: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        await refuse(context)
        yield  # pragma: no cover (makes this an async generator, like the real handler)

    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(unary, deserialize, handler.response_serializer)
    # Streams, reflection's server-streaming method and anything else: refuse the same way.
    return grpc.stream_stream_rpc_method_handler(stream, deserialize, handler.response_serializer)
