"""``python -m adapter`` is ``cpadapter``."""

from adapter.cli import main

main()
