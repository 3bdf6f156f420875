"""The gRPC API: protobuf messages to domain calls and back, errors to gRPC statuses."""
