"""The HTTP face of syncoxide. Today: the codec endpoints; the REST API and share pages join them here."""
