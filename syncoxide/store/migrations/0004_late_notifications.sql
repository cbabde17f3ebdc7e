ALTER TABLE policies ADD COLUMN late_notified_at timestamptz;
