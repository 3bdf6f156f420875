"""The wire tags of google.protobuf.Struct, Value and ListValue, which wire.py reads and
struct_writer.py writes: field number << 3 | wire type (0 varint, 1 fixed 64 bits,
2 length-delimited)."""

from typing import Final

ENTRY: Final = 0x0A  # Struct.fields (a map entry), ListValue.values, and an entry's key
ENTRY_VALUE: Final = 0x12
NULL: Final = 0x08
NUMBER: Final = 0x11
STRING: Final = 0x1A
BOOL: Final = 0x20
STRUCT: Final = 0x2A
LIST: Final = 0x32
