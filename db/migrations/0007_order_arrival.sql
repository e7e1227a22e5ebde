-- Arrival order. WhatsApp's messageTimestamp has whole seconds and people send bursts within
-- one: every message gets a number in the order it reached us (ours when queued), and every
-- ordering of messages breaks timestamp ties with it instead of a random UUID.

CREATE SEQUENCE whatsapp_messages_arrival_seq AS BIGINT;
ALTER TABLE whatsapp_messages ADD COLUMN arrival BIGINT;

-- Existing rows: by their timestamp, then by when they were stored.
UPDATE whatsapp_messages m SET arrival = o.n
FROM (SELECT id, row_number() OVER (ORDER BY timestamp, created_at, id) AS n
      FROM whatsapp_messages) o
WHERE m.id = o.id;
SELECT setval('whatsapp_messages_arrival_seq', COALESCE(max(arrival), 0) + 1, false)
FROM whatsapp_messages;

ALTER TABLE whatsapp_messages
  ALTER COLUMN arrival SET DEFAULT nextval('whatsapp_messages_arrival_seq'),
  ALTER COLUMN arrival SET NOT NULL;
ALTER SEQUENCE whatsapp_messages_arrival_seq OWNED BY whatsapp_messages.arrival;

DROP INDEX idx_whatsapp_messages_contact_page;
CREATE INDEX idx_whatsapp_messages_contact_page
  ON whatsapp_messages(contact_id, timestamp DESC, arrival DESC);

-- "Newest conversation first": contacts whose last messages share a second are ordered by
-- the arrival of those messages (0: no message yet).
ALTER TABLE whatsapp_contacts ADD COLUMN activity_arrival BIGINT NOT NULL DEFAULT 0;
UPDATE whatsapp_contacts c SET activity_arrival = l.arrival
FROM (SELECT DISTINCT ON (contact_id) contact_id, arrival FROM whatsapp_messages
      WHERE metadata->>'kind' IS DISTINCT FROM 'reaction'
      ORDER BY contact_id, timestamp DESC, arrival DESC) l
WHERE c.id = l.contact_id;

DROP INDEX idx_whatsapp_contacts_activity;
CREATE INDEX idx_whatsapp_contacts_activity
  ON whatsapp_contacts(instance_id, activity_at DESC, activity_arrival DESC, id DESC);
