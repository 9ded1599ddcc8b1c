"""One module per command group of the ``cpadapter`` CLI; :mod:`adapter.cli` wires them."""
