"""Pure rules of the product: flattening, identity, Heap's limits. No gRPC, HTTP or I/O."""
