"""The embedded stack (`syncoxide dev up|down|status`) and the demo."""
