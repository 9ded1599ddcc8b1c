"""Ways of getting a batch to the hub, behind one interface (:mod:`outbox.transports.base`)."""
