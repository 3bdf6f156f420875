"""Heap's user deletion API: its client, auth tokens and API key."""
