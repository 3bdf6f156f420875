"""IdentifyUser messages to the domain's Identify call and back."""

from heap_destination.api.mapping.warnings import unlisted_warnings, warnings_to_proto
from heap_destination.api.structs.properties import StructProperties
from heap_destination.api.structs.values import fits_echo, flat_to_struct
from heap_destination.api.timestamps import timestamp_value
from heap_destination.domain.destination import Destination
from heap_destination.domain.identify import IdentifyInput, PreparedIdentify
from heap_destination.domain.violations import FieldViolation, raise_if_any
from heap_destination.v1 import identify_pb2


def identify_input(request: identify_pb2.IdentifyUserRequest) -> IdentifyInput:
    """Raises InvalidInput for a value the domain cannot even be given."""
    violations: list[FieldViolation] = []
    timestamp = (
        timestamp_value(request.timestamp, "timestamp", violations)
        if request.HasField("timestamp")
        else None
    )
    raise_if_any(violations)
    return IdentifyInput(
        user_id=request.user_id,
        anonymous_id=request.anonymous_id,
        traits=StructProperties(request.traits),
        heap_user_id=request.heap_user_id,
        timestamp=timestamp,
        message_id=request.message_id,
    )


def identify_response(
    destination: Destination, identify: PreparedIdentify
) -> identify_pb2.IdentifyUserResponse:
    response = identify_pb2.IdentifyUserResponse(
        app_id=destination.app_id,
        identity=identify.identity,
        heap_user_id=identify.identify.heap_user_id if identify.identify else "",
        warnings=warnings_to_proto(identify.warnings),
        unlisted_warnings=unlisted_warnings(identify.warnings),
    )
    if identify.user_properties is not None:
        if fits_echo([identify.user_properties.properties]):
            response.user_properties.CopyFrom(flat_to_struct(identify.user_properties.properties))
        else:
            response.properties_echo_omitted = True
    return response
