-- Privacy under the LGPD (Lei 13.709/2018, art. 18): erasing a person, the record of what was
-- done (without the person's data), media objects whose deletion must survive a failing store,
-- and the daily retention job.

-- Who exported or erased what, when and why, and how many items: never the person's data (no
-- name, phone number or text; the contact's id means nothing once the contact is gone).
CREATE TABLE privacy_log (
  id BIGSERIAL PRIMARY KEY,
  action TEXT NOT NULL CHECK (action IN ('export', 'erase', 'retention')),
  actor_id UUID REFERENCES profiles(id) ON DELETE SET NULL,
  instance_id UUID,                               -- no foreign key: the log outlives the number
  subject_id UUID,                                -- the contact's id; no foreign key either
  reason TEXT,
  counts JSONB NOT NULL DEFAULT '{}',
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE INDEX idx_privacy_log_created ON privacy_log(created_at);

-- Media objects to delete from the store (folder or S3). Written in the transaction that
-- deletes their rows, so an object is never forgotten; removed once the store confirms.
-- A failed deletion waits for its next attempt; replicas share the queue (SKIP LOCKED).
CREATE TABLE media_deletions (
  key TEXT PRIMARY KEY,                           -- an object key, or a folder when is_prefix
  is_prefix BOOLEAN NOT NULL DEFAULT false,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  claimed_until TIMESTAMPTZ,
  last_error TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE INDEX idx_media_deletions_due ON media_deletions(next_attempt_at);

-- Jobs that run once a day whatever the number of replicas: whoever moves next_run_at first
-- runs it.
CREATE TABLE scheduled_jobs (
  name TEXT PRIMARY KEY,
  next_run_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  last_started_at TIMESTAMPTZ,
  last_finished_at TIMESTAMPTZ,
  last_counts JSONB
);

-- Retention deletes messages by their time, oldest first, in batches.
CREATE INDEX idx_whatsapp_messages_timestamp_id ON whatsapp_messages(timestamp, id);

-- A contact's erasure is announced on the stream as `deleted`. The check is widened rather
-- than rewritten, so ops that other migrations allowed stay allowed.
DO $$
DECLARE definition TEXT;
BEGIN
  SELECT pg_get_constraintdef(oid) INTO definition FROM pg_constraint
  WHERE conrelid = 'whatsapp_events'::regclass AND conname = 'whatsapp_events_op_check';
  IF definition IS NOT NULL AND position('''deleted''' IN definition) = 0 THEN
    ALTER TABLE whatsapp_events DROP CONSTRAINT whatsapp_events_op_check;
    EXECUTE 'ALTER TABLE whatsapp_events ADD CONSTRAINT whatsapp_events_op_check '
      || replace(definition, 'ARRAY[', 'ARRAY[''deleted''::text, ');
  END IF;
END $$;

-- Row-level security as in 0005: the log is for admins; the queues are the server's only.
ALTER TABLE privacy_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE media_deletions ENABLE ROW LEVEL SECURITY;  -- no policy: server only
ALTER TABLE scheduled_jobs ENABLE ROW LEVEL SECURITY;   -- no policy: server only
CREATE POLICY admins_read ON privacy_log FOR SELECT USING (atendimento_is_admin());
