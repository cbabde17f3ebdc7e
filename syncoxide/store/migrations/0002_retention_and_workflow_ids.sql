ALTER TABLE repositories ADD COLUMN retention jsonb;
ALTER TABLE runs ADD COLUMN workflow_id text;
UPDATE runs SET workflow_id = id WHERE workflow_id IS NULL;
CREATE INDEX runs_workflow ON runs (workflow_id);
