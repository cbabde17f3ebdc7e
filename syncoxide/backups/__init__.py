"""Repository work as plain calls: operations, retention, placement, verification, database sources,
hooks, notifications, restore destinations."""
