-- Team inbox: who owns a conversation and where it stands, internal notes, labels, and the
-- log that reports are computed from.
--
-- A contact's chat is the conversation. Its current cycle starts with the first incoming
-- message (or the one that reopens it after RESOLVED, or an agent reopening it by hand):
-- `opened_at`. `first_response_at` is the first reply of a person (not an auto-reply, not a
-- note) in that cycle; `resolved_at` when it was last resolved. Every opening, status change and
-- assignment is also appended to `whatsapp_conversation_log`, which reports read together with
-- the stored messages.

ALTER TABLE whatsapp_contacts
  ADD COLUMN conversation_status TEXT NOT NULL DEFAULT 'open'
    CHECK (conversation_status IN ('open', 'pending', 'resolved')),
  ADD COLUMN assignee_id UUID REFERENCES profiles(id) ON DELETE SET NULL,
  ADD COLUMN opened_at TIMESTAMPTZ,
  ADD COLUMN first_response_at TIMESTAMPTZ,
  ADD COLUMN resolved_at TIMESTAMPTZ;

-- The inbox filters, each in "newest conversation first" order so a page stops early
-- (keyset on the same key as idx_whatsapp_contacts_activity).
CREATE INDEX idx_whatsapp_contacts_status_activity ON whatsapp_contacts
  (instance_id, conversation_status, activity_at DESC, activity_arrival DESC, id DESC);
CREATE INDEX idx_whatsapp_contacts_assignee_activity ON whatsapp_contacts
  (instance_id, assignee_id, activity_at DESC, activity_arrival DESC, id DESC);
CREATE INDEX idx_whatsapp_contacts_assignee ON whatsapp_contacts(assignee_id)
  WHERE assignee_id IS NOT NULL;

-- Notes: messages of type 'note', written by an agent, never sent.
ALTER TABLE whatsapp_messages DROP CONSTRAINT whatsapp_messages_message_type_check;
ALTER TABLE whatsapp_messages ADD CONSTRAINT whatsapp_messages_message_type_check CHECK (
  message_type IN ('text', 'audio', 'image', 'video', 'document', 'sticker', 'location',
                   'contact', 'other', 'note')) NOT VALID;
ALTER TABLE whatsapp_messages VALIDATE CONSTRAINT whatsapp_messages_message_type_check;

-- Reports count a number's messages of a period from this index alone.
CREATE INDEX idx_whatsapp_messages_instance_time ON whatsapp_messages
  (instance_id, timestamp) INCLUDE (from_me, message_type, sent_by);

-- Openings, status changes and assignments, in order (id), with who did them (actor_id null:
-- the customer or the system). `status` and `assignee_id` are the values after the change.
CREATE TABLE whatsapp_conversation_log (
  id BIGSERIAL PRIMARY KEY,
  instance_id UUID NOT NULL REFERENCES whatsapp_instances(id) ON DELETE CASCADE,
  contact_id UUID NOT NULL REFERENCES whatsapp_contacts(id) ON DELETE CASCADE,
  at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  kind TEXT NOT NULL CHECK (kind IN ('opened', 'status', 'assigned')),
  status TEXT NOT NULL CHECK (status IN ('open', 'pending', 'resolved')),
  assignee_id UUID REFERENCES profiles(id) ON DELETE SET NULL,
  actor_id UUID REFERENCES profiles(id) ON DELETE SET NULL
);
CREATE INDEX idx_whatsapp_conversation_log_period
  ON whatsapp_conversation_log(instance_id, kind, at);
CREATE INDEX idx_whatsapp_conversation_log_contact
  ON whatsapp_conversation_log(contact_id, id);

-- Labels: free text, one spelling per number (the first one used), unique per contact
-- whatever the case.
CREATE TABLE whatsapp_contact_labels (
  contact_id UUID NOT NULL REFERENCES whatsapp_contacts(id) ON DELETE CASCADE,
  instance_id UUID NOT NULL REFERENCES whatsapp_instances(id) ON DELETE CASCADE,
  label TEXT NOT NULL,
  label_key TEXT NOT NULL,                        -- the label case-folded: what equality means
  added_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  PRIMARY KEY (contact_id, label_key)
);
CREATE INDEX idx_whatsapp_contact_labels_instance
  ON whatsapp_contact_labels(instance_id, label_key, contact_id);

-- Conversations already stored: the cycle is open since their first incoming message.
UPDATE whatsapp_contacts c SET opened_at = f.first_in
FROM (SELECT contact_id, min(timestamp) AS first_in FROM whatsapp_messages
      WHERE NOT from_me GROUP BY contact_id) f
WHERE c.id = f.contact_id;
UPDATE whatsapp_contacts c SET first_response_at = (
  SELECT min(m.timestamp) FROM whatsapp_messages m
  WHERE m.contact_id = c.id AND m.from_me AND m.timestamp >= c.opened_at
    AND m.status <> 'failed' AND m.metadata->>'kind' IS DISTINCT FROM 'auto_reply'
    AND m.metadata->>'kind' IS DISTINCT FROM 'reaction')
WHERE c.opened_at IS NOT NULL;
INSERT INTO whatsapp_conversation_log (instance_id, contact_id, at, kind, status)
SELECT instance_id, id, opened_at, 'opened', 'open' FROM whatsapp_contacts
WHERE opened_at IS NOT NULL ORDER BY opened_at;

-- Row-level security, as 0005 does for the other tables.
ALTER TABLE whatsapp_conversation_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE whatsapp_contact_labels ENABLE ROW LEVEL SECURITY;
CREATE POLICY members_read ON whatsapp_conversation_log FOR SELECT
  USING (atendimento_can_see(instance_id));
CREATE POLICY members_all ON whatsapp_contact_labels FOR ALL
  USING (atendimento_can_see(instance_id)) WITH CHECK (atendimento_can_see(instance_id));
