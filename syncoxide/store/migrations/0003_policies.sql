CREATE TABLE policies (
    name          text PRIMARY KEY,
    repository_id text NOT NULL REFERENCES repositories (id),
    spec          jsonb NOT NULL,
    spec_hash     text NOT NULL,
    version       int NOT NULL,
    origin        text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    removed_at    timestamptz
);

CREATE TABLE policy_versions (
    name       text NOT NULL,
    version    int NOT NULL,
    spec       jsonb NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    removed    boolean NOT NULL DEFAULT false,
    PRIMARY KEY (name, version)
);

CREATE INDEX runs_policy_started ON runs (policy_id, started_at DESC);

ALTER TABLE repositories ADD COLUMN spec_hash text;
