-- Sync pairs declared in policy files: the hash of the spec they were last applied from, and where
-- (file:line). A pair made by the CLI has neither; a pair removed from the files loses both.
ALTER TABLE sync_pairs ADD COLUMN spec_hash text;
ALTER TABLE sync_pairs ADD COLUMN origin text;
