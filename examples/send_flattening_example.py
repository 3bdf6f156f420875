"""Sends Heap's flattening example event to a running service (`make run`) and prints the answer.

Usage: .venv/bin/python examples/send_flattening_example.py [HOST:PORT]
"""

import sys

from google.protobuf import json_format

from heap_destination.client import HeapDestinationClient

target = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:50051"

with HeapDestinationClient(target, app_id="1234567890") as client:
    response = client.track(
        "Signed Up",
        user_id="user-42",
        properties={
            "foo": {
                "bar": {
                    "cheese": "american",
                    "prop": [1, 2, 3],
                    "products": [{"A": "Jello"}, {"B": "Peanut"}],
                }
            }
        },
    )
    print(json_format.MessageToJson(response, preserving_proto_field_name=True))
