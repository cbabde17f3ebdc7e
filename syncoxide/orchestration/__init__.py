"""The Temporal side the core may know: payload keys and the codec that seals every payload."""
