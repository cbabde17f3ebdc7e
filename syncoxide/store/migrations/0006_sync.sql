-- Sync: pairs, the state both sides were last known to be in sync at (the bisync baseline, and what
-- lets a one-way no-change run skip stat calls), runs, and the journal (write-ahead log) of actions.
CREATE TABLE sync_pairs (
    id          text PRIMARY KEY,
    mode        text NOT NULL CHECK (mode IN ('copy', 'sync', 'move', 'bisync')),
    source      jsonb NOT NULL,
    destination jsonb NOT NULL,
    baseline_at timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sync_state (
    pair_id        text NOT NULL REFERENCES sync_pairs (id) ON DELETE CASCADE,
    path           text NOT NULL,
    src_size       bigint NOT NULL,
    src_mtime_ns   bigint NOT NULL,
    src_md5        text,
    dst_size       bigint NOT NULL,
    dst_mtime_ns   bigint NOT NULL,
    dst_md5        text,
    PRIMARY KEY (pair_id, path)
);

CREATE TABLE sync_runs (
    id          text PRIMARY KEY,
    pair_id     text NOT NULL REFERENCES sync_pairs (id) ON DELETE CASCADE,
    mode        text NOT NULL,
    status      text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'interrupted', 'aborted')),
    dry_run     boolean NOT NULL DEFAULT false,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    summary     jsonb NOT NULL DEFAULT '{}',
    error       text
);
CREATE INDEX sync_runs_pair ON sync_runs (pair_id, started_at DESC);

CREATE TABLE sync_journal (
    run_id     text NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    seq        integer NOT NULL,
    pair_id    text NOT NULL,
    action     jsonb NOT NULL,
    state      text NOT NULL DEFAULT 'planned'
               CHECK (state IN ('planned', 'running', 'done', 'failed', 'superseded')),
    progress   jsonb NOT NULL DEFAULT '{}',
    error      text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX sync_journal_open ON sync_journal (pair_id) WHERE state IN ('planned', 'running', 'failed');
