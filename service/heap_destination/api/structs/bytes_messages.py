"""Request messages decoded with their Struct fields left as wire bytes.

Protobuf builds a Python-visible tree for every Struct it decodes, and the service only
reads the Struct's values once (properties.py). For a stream's messages it decodes a
twin of the contract's message instead: the same field numbers and types, except that
every google.protobuf.Struct field (at any depth) is `bytes`. The same wire bytes decode
to it, and a Struct field holds exactly the bytes the caller sent for it, which
properties.StructProperties reads. Decoding a message of 500 events of 51 properties
this way takes a fiftieth of the time, and no Struct is serialized again to be read.

The twin is derived from the contract's descriptors when the module loads, so it always
matches them; messages that hold no Struct (DestinationConfig, Timestamp) are the
contract's own classes in it.
"""

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, struct_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from heap_destination.v1 import stream_pb2

_PACKAGE = "heap_destination.structs_as_bytes"
_STRUCT = struct_pb2.Struct.DESCRIPTOR.full_name
_BYTES = descriptor_pb2.FieldDescriptorProto.TYPE_BYTES


def structs_as_bytes(message: Descriptor) -> type[Message]:
    """A message class that decodes the wire bytes of the `message` type, with each Struct
    field (in it or in the messages it holds) as the Struct's bytes."""
    verdicts: dict[str, bool] = {}
    if not _holds_struct(message, verdicts):
        return message_factory.GetMessageClass(message)
    copied = {name for name, holds in verdicts.items() if holds}
    file = descriptor_pb2.FileDescriptorProto(
        name=f"heap_destination/structs_as_bytes/{message.full_name}.proto",
        package=_PACKAGE,
        syntax="proto3",
    )
    pool = descriptor_pool.Default()
    for name in sorted(copied):
        original = pool.FindMessageTypeByName(name)
        copy = file.message_type.add()
        original.CopyToProto(copy)
        copy.name = _twin_name(name)
        del copy.nested_type[:]  # fields still refer to the contract's nested types
        for field_proto, field in zip(copy.field, original.fields, strict=True):
            _retarget(field_proto, field, copied, file)
    pool.AddSerializedFile(file.SerializeToString())
    twin = pool.FindMessageTypeByName(f"{_PACKAGE}.{_twin_name(message.full_name)}")
    return message_factory.GetMessageClass(twin)


def _holds_struct(descriptor: Descriptor, verdicts: dict[str, bool]) -> bool:
    """Whether `descriptor` holds a Struct field at any depth; `verdicts` gains the answer
    for it and for each message it holds, by full name."""
    name = descriptor.full_name
    if name == _STRUCT:
        return True
    if name not in verdicts:
        verdicts[name] = False  # a message that holds itself holds a Struct only through others
        held = [
            _holds_struct(field.message_type, verdicts)
            for field in descriptor.fields
            if field.message_type is not None
        ]
        verdicts[name] = any(held)
    return verdicts[name]


def _retarget(
    proto: descriptor_pb2.FieldDescriptorProto,
    field: FieldDescriptor,
    copied: set[str],
    file: descriptor_pb2.FileDescriptorProto,
) -> None:
    """Points a twin's field at bytes (a Struct), at a twin (a message holding a Struct)
    or at the contract's own type (anything else, whose file the twin then imports)."""
    referred = field.message_type or field.enum_type
    if referred is None:
        return
    if referred.full_name == _STRUCT:
        proto.type = _BYTES
        proto.ClearField("type_name")
    elif referred.full_name in copied:
        proto.type_name = f".{_PACKAGE}.{_twin_name(referred.full_name)}"
    elif referred.file.name not in file.dependency:
        file.dependency.append(referred.file.name)


def _twin_name(full_name: str) -> str:
    return full_name.replace(".", "_")


StreamEventsRequestWithStructBytes = structs_as_bytes(stream_pb2.StreamEventsRequest.DESCRIPTOR)
"""What StreamEvents decodes each message to: a StreamEventsRequest whose events' Struct
fields (properties, traits) are bytes."""
