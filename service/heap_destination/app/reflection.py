"""gRPC server reflection as v1 (`grpc.reflection.v1`, which current tools ask first) and
v1alpha.

grpcio-reflection serves only v1alpha. v1 is the same protocol under a new package name,
message for message and field for field, so one servicer answers both; v1's descriptor
(v1alpha's, renamed) goes into the pool so that tools can describe it too.
"""

from collections.abc import Sequence

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc

V1ALPHA_PACKAGE = "grpc.reflection.v1alpha"
V1_PACKAGE = "grpc.reflection.v1"
V1_SERVICE_NAME = f"{V1_PACKAGE}.ServerReflection"
V1ALPHA_SERVICE_NAME: str = reflection.SERVICE_NAME
_V1_FILE = "grpc/reflection/v1/reflection.proto"


def enable_reflection(service_names: Sequence[str], server: grpc.aio.Server) -> None:
    """Reflection of `service_names` (and of reflection itself, both versions)."""
    _add_v1_descriptor(descriptor_pool.Default())
    servicer = reflection.aio.ReflectionServicer(
        [*service_names, V1_SERVICE_NAME, V1ALPHA_SERVICE_NAME]
    )
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(servicer, server)
    info = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(V1_SERVICE_NAME, {"ServerReflectionInfo": info}),)
    )


def _add_v1_descriptor(pool: descriptor_pool.DescriptorPool) -> None:
    try:
        pool.FindFileByName(_V1_FILE)
        return
    except KeyError:
        pass
    file = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(file)
    file.name = _V1_FILE
    file.package = V1_PACKAGE
    file.ClearField("options")
    for message in file.message_type:
        _rename_types(message)
    for method in file.service[0].method:
        method.input_type = _renamed(method.input_type)
        method.output_type = _renamed(method.output_type)
    pool.AddSerializedFile(file.SerializeToString())


def _rename_types(message: descriptor_pb2.DescriptorProto) -> None:
    for field in message.field:
        if field.HasField("type_name"):
            field.type_name = _renamed(field.type_name)
    for nested in message.nested_type:
        _rename_types(nested)


def _renamed(type_name: str) -> str:
    return type_name.replace(f".{V1ALPHA_PACKAGE}.", f".{V1_PACKAGE}.")
