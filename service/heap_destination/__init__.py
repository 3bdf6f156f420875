"""The Heap destination service: delivers Track and Identify calls to Heap over gRPC."""

import os

from heap_destination.compiled_check import refuse_stale_compiled_modules

refuse_stale_compiled_modules(os.path.dirname(__file__))
