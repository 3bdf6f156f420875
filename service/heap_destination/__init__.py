"""The Heap destination service: delivers Track and Identify calls to Heap over gRPC."""
