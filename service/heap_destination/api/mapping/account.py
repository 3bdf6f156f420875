"""UpdateAccount messages to the domain's account update and back."""

from heap_destination.api.mapping.warnings import unlisted_warnings, warnings_to_proto
from heap_destination.api.structs.properties import StructProperties
from heap_destination.api.structs.values import fits_echo, flat_to_struct
from heap_destination.domain.account import AccountInput, PreparedAccount
from heap_destination.domain.destination import Destination
from heap_destination.v1 import account_pb2


def account_input(request: account_pb2.UpdateAccountRequest) -> AccountInput:
    return AccountInput(
        account_id=request.account_id,
        properties=StructProperties(request.properties),
        message_id=request.message_id,
    )


def account_response(
    destination: Destination, account: PreparedAccount
) -> account_pb2.UpdateAccountResponse:
    response = account_pb2.UpdateAccountResponse(
        app_id=destination.app_id,
        account_id=account.account.account_id,
        warnings=warnings_to_proto(account.warnings),
        unlisted_warnings=unlisted_warnings(account.warnings),
    )
    if fits_echo([account.account.properties]):
        response.properties.CopyFrom(flat_to_struct(account.account.properties))
    else:
        response.properties_echo_omitted = True
    return response
