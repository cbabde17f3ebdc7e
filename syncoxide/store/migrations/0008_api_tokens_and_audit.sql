-- The REST API: its tokens (only an HMAC digest of each, under the token key, which is not in the
-- database) and the audit log of mutating calls (and of token changes made by the CLI, actor 'cli').
CREATE TABLE api_tokens (
    id           text PRIMARY KEY,
    name         text NOT NULL,
    scope        text NOT NULL CHECK (scope IN ('read', 'operate', 'admin')),
    digest       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL;

CREATE TABLE audit_log (
    id      bigserial PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now(),
    actor   text NOT NULL,
    scope   text,
    method  text NOT NULL,
    path    text NOT NULL,
    target  text,
    status  integer NOT NULL,
    address text,
    detail  jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_actor ON audit_log (actor, id DESC);
