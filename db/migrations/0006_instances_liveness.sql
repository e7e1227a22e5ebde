-- Liveness of worker processes, and the instance states Evolution reports.
--
-- Each worker process holds a session advisory lock (namespace 7002, key = its worker id) on a
-- connection of its own for as long as it lives; PostgreSQL drops it the moment that
-- connection ends (process killed, host gone once TCP keepalives give up). A claim records
-- the worker id, so a claim whose worker is no longer alive is free at once, instead of
-- after its lease (the lease stays as the backstop for claims made without a worker id).
ALTER TABLE whatsapp_messages
  ADD COLUMN claimed_by INTEGER,
  ADD COLUMN media_claimed_by INTEGER;

CREATE FUNCTION atendimento_worker_alive(worker INTEGER) RETURNS BOOLEAN
LANGUAGE sql VOLATILE AS $$
  SELECT EXISTS (
    SELECT 1 FROM pg_locks
    WHERE locktype = 'advisory' AND granted AND objsubid = 2
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND classid = 7002 AND objid = CAST(CAST(worker AS bigint) AS oid))
$$;

-- A number we disconnected (or found stuck) stays DISCONNECTED whatever stray `connecting`
-- or QR webhooks Evolution still sends, until connectInstance is asked again.
ALTER TABLE whatsapp_instances
  ADD COLUMN status_held BOOLEAN NOT NULL DEFAULT false,
  ADD COLUMN connecting_since TIMESTAMPTZ;
