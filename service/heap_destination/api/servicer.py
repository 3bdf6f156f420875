"""The HeapDestinationService servicer: validate, deliver, answer."""

from typing import NoReturn

import grpc

from heap_destination.api.config_mapping import settings_from_config
from heap_destination.api.error_status import (
    invalid_input_status,
    rejected_status,
    unavailable_status,
)
from heap_destination.api.identify_mapping import identify_input, identify_response
from heap_destination.api.track_mapping import track_input, track_response
from heap_destination.delivery.errors import HeapRejected, HeapUnavailable
from heap_destination.delivery.heap_delivery import HeapDelivery
from heap_destination.domain.destination import (
    Destination,
    DestinationSettings,
    resolve_destination,
)
from heap_destination.domain.identify import prepare_identify
from heap_destination.domain.track import prepare_track
from heap_destination.domain.violations import InvalidInput
from heap_destination.v1 import (
    config_pb2,
    identify_pb2,
    service_pb2_grpc,
    track_pb2,
)


class HeapDestinationServicer(service_pb2_grpc.HeapDestinationServiceServicer):
    def __init__(self, delivery: HeapDelivery, defaults: DestinationSettings) -> None:
        self._delivery = delivery
        self._defaults = defaults

    async def TrackEvent(
        self, request: track_pb2.TrackEventRequest, context: grpc.aio.ServicerContext
    ) -> track_pb2.TrackEventResponse:
        deadline = self._delivery.deadline(context.time_remaining())
        try:
            destination = self._destination(request.config)
            track = prepare_track(track_input(request), destination)
            await self._delivery.track(destination, track, deadline)
        except (InvalidInput, HeapUnavailable, HeapRejected) as error:
            await _abort(context, error)
        return track_response(destination, track)

    async def IdentifyUser(
        self, request: identify_pb2.IdentifyUserRequest, context: grpc.aio.ServicerContext
    ) -> identify_pb2.IdentifyUserResponse:
        deadline = self._delivery.deadline(context.time_remaining())
        try:
            destination = self._destination(request.config)
            identify = prepare_identify(identify_input(request), destination)
            await self._delivery.identify(destination, identify, deadline)
        except (InvalidInput, HeapUnavailable, HeapRejected) as error:
            await _abort(context, error)
        return identify_response(destination, identify)

    def _destination(self, config: config_pb2.DestinationConfig) -> Destination:
        return resolve_destination(settings_from_config(config).over(self._defaults))


async def _abort(
    context: grpc.aio.ServicerContext, error: InvalidInput | HeapUnavailable | HeapRejected
) -> NoReturn:
    if isinstance(error, InvalidInput):
        status = invalid_input_status(error)
    elif isinstance(error, HeapUnavailable):
        status = unavailable_status(error)
    else:
        status = rejected_status(error)
    await context.abort(status.code, status.details, status.trailing_metadata)
    raise AssertionError("context.abort always raises")
