"""Ack mode STORED: calls committed to the store, then delivered from it in the background."""
