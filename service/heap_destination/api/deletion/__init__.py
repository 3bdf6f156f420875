"""UserDeletionService: deleting users from Heap, within the caller's token."""
