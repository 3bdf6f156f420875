"""Wiring: settings, the gRPC server, the command line."""
