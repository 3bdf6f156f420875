"""DeliveryAdminService: the durable store, seen and changed within the caller's token."""
