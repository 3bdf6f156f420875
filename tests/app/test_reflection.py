"""Server reflection answers as v1 (what current tools ask first) and as v1alpha."""

import grpc
from google.protobuf import descriptor_pb2
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from tests.support.background_service import BackgroundService

SERVICES = {
    "heap_destination.v1.HeapDestinationService",
    "heap_destination.v1.DeliveryAdminService",
    "heap_destination.v1.UserDeletionService",
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
}
V1_INFO = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"


def _v1_stub(channel: grpc.Channel) -> grpc.StreamStreamMultiCallable:
    """v1's stub: its messages are v1alpha's field for field (only the package differs),
    so v1alpha's classes encode and decode them."""
    return channel.stream_stream(
        V1_INFO,
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )


def test_v1_lists_the_services_and_describes_itself(service: BackgroundService) -> None:
    requests = [
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(
            file_containing_symbol="grpc.reflection.v1.ServerReflection"
        ),
    ]
    with grpc.insecure_channel(service.target) as channel:
        listed, described = list(_v1_stub(channel)(iter(requests), timeout=10))

    assert {s.name for s in listed.list_services_response.service} == SERVICES
    [file] = described.file_descriptor_response.file_descriptor_proto
    proto = descriptor_pb2.FileDescriptorProto.FromString(file)
    assert proto.name == "grpc/reflection/v1/reflection.proto"
    assert proto.package == "grpc.reflection.v1"
    [method] = proto.service[0].method
    assert method.input_type == ".grpc.reflection.v1.ServerReflectionRequest"


def test_v1alpha_lists_the_same_services(service: BackgroundService) -> None:
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    with grpc.insecure_channel(service.target) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        [listed] = list(stub.ServerReflectionInfo(iter([request]), timeout=10))

    assert {s.name for s in listed.list_services_response.service} == SERVICES
