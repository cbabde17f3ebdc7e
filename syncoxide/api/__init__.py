"""The REST API, `syncoxide serve`: everything the CLI does over HTTP, behind scoped tokens.

app.py builds the FastAPI application from the routers in routes/; auth.py turns a bearer token into
a caller with a scope; problems.py answers every error as RFC 9457 problem+json; audit.py records
every mutating call; serve.py runs it under uvicorn with the listen rules (loopback, TLS or a proxy).
"""
