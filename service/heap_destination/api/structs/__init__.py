"""A request's google.protobuf.Struct values: read through protobuf or from its wire
bytes, and flattened by the domain."""
