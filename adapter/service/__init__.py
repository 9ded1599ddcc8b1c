"""``cpadapter serve``: scheduled feeds, delivery, health, metrics, status page and alerts."""
