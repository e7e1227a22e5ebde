-- What the running product needs beyond the seed's tables: identities and state the webhook
-- brings, the durable outbox, per-agent read marks, the webhook event log and the ordered
-- per-instance event stream that makes subscriptions resumable.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Instances ---------------------------------------------------------------------------------
ALTER TABLE whatsapp_instances
  ADD COLUMN evolution_instance_id TEXT,
  ADD COLUMN profile_name TEXT,
  ADD COLUMN profile_picture_url TEXT,
  ADD COLUMN status_reason INTEGER,
  ADD COLUMN status_detail TEXT,                  -- e.g. "QR code limit reached"
  ADD COLUMN qr_code_text TEXT,                   -- the raw QR string, for clients that draw it
  ADD COLUMN pairing_code TEXT,
  ADD COLUMN disconnected_at TIMESTAMPTZ,
  -- Per-instance event counter; bumped under the row lock so sequence order is commit order.
  ADD COLUMN event_seq BIGINT NOT NULL DEFAULT 0,
  -- Outbox rate limit shared by every replica: the next moment this number may send.
  ADD COLUMN next_send_at TIMESTAMPTZ NOT NULL DEFAULT '-infinity',
  -- Background reconciliation with Evolution's real state, with backoff.
  ADD COLUMN reconcile_at TIMESTAMPTZ,
  ADD COLUMN reconcile_attempts INTEGER NOT NULL DEFAULT 0;

CREATE TABLE whatsapp_instance_members (
  instance_id UUID NOT NULL REFERENCES whatsapp_instances(id) ON DELETE CASCADE,
  profile_id UUID NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
  added_by UUID REFERENCES profiles(id) ON DELETE SET NULL,
  added_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  PRIMARY KEY (instance_id, profile_id)
);
CREATE INDEX idx_whatsapp_instance_members_profile ON whatsapp_instance_members(profile_id);

-- Settings ----------------------------------------------------------------------------------
ALTER TABLE whatsapp_instance_settings
  ADD COLUMN timezone TEXT,                       -- NULL: the server's BUSINESS_TIMEZONE
  ADD COLUMN auto_reply_cooldown_minutes INTEGER NOT NULL DEFAULT 720
    CHECK (auto_reply_cooldown_minutes > 0);

-- Clients -----------------------------------------------------------------------------------
ALTER TABLE clients ADD COLUMN phone_key TEXT;    -- canonical phone, Brazilian ninth digit folded
CREATE INDEX idx_clients_phone_key ON clients(phone_key);
CREATE INDEX idx_clients_name_trgm ON clients USING gin (name gin_trgm_ops);
CREATE INDEX idx_clients_document_trgm ON clients USING gin (document gin_trgm_ops);
CREATE INDEX idx_clients_phone_trgm ON clients USING gin (phone_key gin_trgm_ops);
CREATE INDEX idx_clients_name_id ON clients(name, id);

-- Contacts ----------------------------------------------------------------------------------
ALTER TABLE whatsapp_contacts
  ADD COLUMN lid_jid TEXT,                        -- the person's @lid identity, when known
  ADD COLUMN phone_key TEXT,
  ADD COLUMN is_group BOOLEAN NOT NULL DEFAULT false,
  ADD COLUMN push_name TEXT,
  ADD COLUMN name_locked BOOLEAN NOT NULL DEFAULT false,   -- an agent named it; pushName won't overwrite
  ADD COLUMN client_match_ambiguous BOOLEAN NOT NULL DEFAULT false,
  -- "Newest conversation first": contacts known only from an address-book sync sort last.
  ADD COLUMN activity_at TIMESTAMPTZ GENERATED ALWAYS AS
    (COALESCE(last_message_at, '-infinity'::timestamptz)) STORED;

CREATE UNIQUE INDEX idx_whatsapp_contacts_lid ON whatsapp_contacts(instance_id, lid_jid)
  WHERE lid_jid IS NOT NULL;
CREATE INDEX idx_whatsapp_contacts_activity ON whatsapp_contacts(instance_id, activity_at DESC, id DESC);
CREATE INDEX idx_whatsapp_contacts_phone_key ON whatsapp_contacts(instance_id, phone_key);
CREATE INDEX idx_whatsapp_contacts_name_trgm ON whatsapp_contacts USING gin (name gin_trgm_ops);
CREATE INDEX idx_whatsapp_contacts_phone_trgm ON whatsapp_contacts USING gin (phone_number gin_trgm_ops);

-- Messages ----------------------------------------------------------------------------------
ALTER TABLE whatsapp_messages
  ADD COLUMN sender_jid TEXT,                     -- author inside a group
  ADD COLUMN sender_name TEXT,
  ADD COLUMN media_seconds INTEGER,
  ADD COLUMN metadata JSONB,                      -- location, contact card, reaction details
  ADD COLUMN deleted_at TIMESTAMPTZ,
  ADD COLUMN error TEXT,                          -- why sending failed, for the agent
  ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN next_attempt_at TIMESTAMPTZ,
  ADD COLUMN claimed_until TIMESTAMPTZ,
  ADD COLUMN idempotency_key TEXT,
  ADD COLUMN sent_by UUID REFERENCES profiles(id) ON DELETE SET NULL,
  ADD COLUMN updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW();

CREATE INDEX idx_whatsapp_messages_contact_page ON whatsapp_messages(contact_id, timestamp DESC, id DESC);
CREATE INDEX idx_whatsapp_messages_unread ON whatsapp_messages(contact_id, timestamp)
  WHERE NOT from_me AND deleted_at IS NULL;
CREATE INDEX idx_whatsapp_messages_outbox ON whatsapp_messages(instance_id, created_at)
  WHERE status = 'pending' AND from_me;
CREATE UNIQUE INDEX idx_whatsapp_messages_idempotency ON whatsapp_messages(sent_by, idempotency_key)
  WHERE idempotency_key IS NOT NULL;

-- Receipts (`messages.update`) that arrived before their message: applied when it is stored.
CREATE TABLE whatsapp_message_receipts (
  instance_id UUID NOT NULL REFERENCES whatsapp_instances(id) ON DELETE CASCADE,
  message_id TEXT NOT NULL,
  status TEXT CHECK (status IN ('sent', 'delivered', 'read', 'failed')),
  deleted BOOLEAN NOT NULL DEFAULT false,
  received_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  PRIMARY KEY (instance_id, message_id)
);

-- Per-agent read marks: unread counts belong to the agent, not to the WhatsApp number.
CREATE TABLE whatsapp_contact_reads (
  profile_id UUID NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
  contact_id UUID NOT NULL REFERENCES whatsapp_contacts(id) ON DELETE CASCADE,
  read_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (profile_id, contact_id)
);

-- Auto-reply: one per incoming message at most, whoever processes it.
ALTER TABLE whatsapp_auto_reply_log
  ADD COLUMN incoming_message_id UUID REFERENCES whatsapp_messages(id) ON DELETE SET NULL,
  ADD COLUMN outgoing_message_id UUID REFERENCES whatsapp_messages(id) ON DELETE SET NULL;
CREATE UNIQUE INDEX idx_whatsapp_auto_reply_log_incoming ON whatsapp_auto_reply_log(incoming_message_id)
  WHERE incoming_message_id IS NOT NULL;

-- Quick messages: `/` autocomplete is a prefix match on the shortcut.
CREATE INDEX idx_whatsapp_quick_messages_shortcut_prefix
  ON whatsapp_quick_messages(shortcut text_pattern_ops);

-- Webhook event log: stored raw before processing, processed in arrival order per instance.
CREATE TABLE webhook_events (
  id BIGSERIAL PRIMARY KEY,
  instance_id UUID NOT NULL REFERENCES whatsapp_instances(id) ON DELETE CASCADE,
  event TEXT NOT NULL,
  payload JSONB NOT NULL,
  body_sha256 TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  received_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  processed_at TIMESTAMPTZ,
  UNIQUE (instance_id, body_sha256)
);
CREATE INDEX idx_webhook_events_pending ON webhook_events(instance_id, id) WHERE status = 'pending';
CREATE INDEX idx_webhook_events_failed ON webhook_events(received_at) WHERE status = 'failed';
CREATE INDEX idx_webhook_events_done ON webhook_events(processed_at) WHERE status = 'done';

-- Ordered change stream per instance: what `afterSeq` resumes from.
CREATE TABLE whatsapp_events (
  instance_id UUID NOT NULL REFERENCES whatsapp_instances(id) ON DELETE CASCADE,
  seq BIGINT NOT NULL,
  topic TEXT NOT NULL CHECK (topic IN ('message', 'contact')),
  op TEXT NOT NULL CHECK (op IN ('created', 'updated')),
  entity_id UUID NOT NULL,
  contact_id UUID,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  PRIMARY KEY (instance_id, seq)
);
CREATE INDEX idx_whatsapp_events_created ON whatsapp_events(created_at);
