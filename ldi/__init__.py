"""The ContactPoint Local Data Interface 1.0 contract in code.

One source of truth shared by the adapter and the reference hub: identifiers (section 1),
the message schema and models (section 3), business rules (section 4) and outcomes (section 5).
"""

NAMESPACE = "urn:contactpoint:ldi:1"
SCHEMA_VERSION = "1.0"
