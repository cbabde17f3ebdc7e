-- The catalog: sources that are scanned, and the manifest of Parquet parts (the truth of which
-- files a query reads), snapshots ingested and scans made.
CREATE TABLE sources (
    id         text PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    root       text NOT NULL,
    excludes   text[] NOT NULL DEFAULT '{}',
    hashes     text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE catalog_parts (
    path           text PRIMARY KEY,
    kind           text NOT NULL CHECK (kind IN ('snapshot', 'scan')),
    owner_id       text NOT NULL,
    rows           bigint NOT NULL,
    bytes          bigint NOT NULL,
    schema_version int NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    retired_at     timestamptz
);
CREATE INDEX catalog_parts_live ON catalog_parts (kind, owner_id) WHERE retired_at IS NULL;

CREATE TABLE catalog_snapshots (
    repository_id    text NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    snapshot_id      text NOT NULL,
    time             timestamptz NOT NULL,
    hostname         text,
    paths            text[] NOT NULL DEFAULT '{}',
    tags             text[] NOT NULL DEFAULT '{}',
    policy           text,
    files            bigint,
    bytes            bigint,
    compressed_bytes bigint,
    added_bytes      bigint,
    entries          bigint NOT NULL,
    part             text NOT NULL,
    ingested_at      timestamptz NOT NULL DEFAULT now(),
    removed_at       timestamptz,
    PRIMARY KEY (repository_id, snapshot_id)
);

CREATE TABLE catalog_scans (
    id          text PRIMARY KEY,
    source_id   text NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL DEFAULT now(),
    files       bigint NOT NULL,
    dirs        bigint NOT NULL,
    bytes       bigint NOT NULL,
    errors      bigint NOT NULL,
    hashed      bigint NOT NULL,
    reused      bigint NOT NULL,
    part_count  int NOT NULL,
    error_sample text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX catalog_scans_source ON catalog_scans (source_id, finished_at DESC);

CREATE TABLE cleanup_plans (
    id          text PRIMARY KEY,
    created_at  timestamptz NOT NULL DEFAULT now(),
    status      text NOT NULL CHECK (status IN ('planned', 'applying', 'applied', 'undoing', 'undone', 'purged')),
    trash_dir   text NOT NULL,
    keep_until  timestamptz,
    spec        jsonb NOT NULL,
    summary     jsonb NOT NULL DEFAULT '{}'::jsonb
);

CREATE TABLE cleanup_items (
    plan_id     text NOT NULL REFERENCES cleanup_plans (id) ON DELETE CASCADE,
    seq         int NOT NULL,
    path        text NOT NULL,
    reason      text NOT NULL,
    size        bigint NOT NULL,
    mtime_ns    bigint NOT NULL,
    hash_kind   text,
    hash        text,
    keep_path   text,
    state       text NOT NULL DEFAULT 'planned'
                CHECK (state IN ('planned', 'moving', 'trashed', 'skipped', 'restored', 'purged')),
    note        text,
    PRIMARY KEY (plan_id, seq)
);
