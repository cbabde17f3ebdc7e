CREATE TABLE repositories (
    id             text PRIMARY KEY,
    name           text NOT NULL UNIQUE,
    engine         text NOT NULL CHECK (engine IN ('borg', 'restic')),
    location       text NOT NULL UNIQUE,
    passphrase_ref text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE runs (
    id            text PRIMARY KEY,
    kind          text NOT NULL,
    status        text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
    repository_id text REFERENCES repositories (id),
    policy_id     text,
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    files         bigint,
    bytes         bigint,
    added_bytes   bigint,
    snapshot_id   text,
    error         text,
    details       jsonb NOT NULL DEFAULT '{}'::jsonb
);

CREATE INDEX runs_repository_started ON runs (repository_id, started_at DESC);
CREATE INDEX runs_kind_started ON runs (kind, started_at DESC);
