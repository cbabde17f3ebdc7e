"""The syncoxide command line: Typer sub-apps in app.py and its neighbours; quick/ answers search and scan with the
standard library alone when a worker is there to ask."""
