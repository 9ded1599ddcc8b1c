"""The durable outbox and reliable delivery to the hub (issue 5).

Data arrives from the delta engine (:func:`outbox.entries.enqueue`, in the caller's
transaction, together with :mod:`outbox.delta_state`) and leaves through a transport
(:mod:`outbox.transports`) driven by :mod:`outbox.delivery`. The outbox imports the contract
(``ldi``) and the configuration models, never ``connectors`` or ``mappings``.
"""
