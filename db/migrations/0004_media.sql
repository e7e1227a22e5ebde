-- Media that plays: the bytes of every media message are kept in our media store (a folder
-- under DATA_DIR or an S3 bucket) and served through signed URLs of this server.
--
-- media_state: NULL for messages without media; 'pending' while the bytes are being fetched
-- (in the background, with retries); 'ready' once stored under media_key; 'unavailable' when
-- they could not be had (media_error says why). The message itself is never held back.

ALTER TABLE whatsapp_messages
  ADD COLUMN media_state TEXT CHECK (media_state IN ('pending', 'ready', 'unavailable')),
  ADD COLUMN media_key TEXT,                      -- key in the media store, when ready
  ADD COLUMN media_sha256 TEXT,                   -- of the stored bytes: the HTTP ETag
  -- Where the fetcher may download from besides Evolution API (Evolution's own S3 copy).
  -- Never an agent-given URL: the server does not fetch arbitrary URLs for users.
  ADD COLUMN media_source_url TEXT,
  ADD COLUMN media_attempts INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN media_next_attempt_at TIMESTAMPTZ,
  ADD COLUMN media_claimed_until TIMESTAMPTZ,
  ADD COLUMN media_error TEXT;

CREATE INDEX idx_whatsapp_messages_media_pending ON whatsapp_messages(media_next_attempt_at)
  WHERE media_state = 'pending';

-- Messages stored before this migration. Recordings the agents uploaded are in the store
-- already; recent incoming media can still be fetched from Evolution API; older media has
-- expired on WhatsApp's servers (CONTRACT §4.4: "after some weeks").
UPDATE whatsapp_messages SET media_state = 'ready', media_key = metadata->>'upload'
  WHERE metadata ? 'upload';
UPDATE whatsapp_messages SET media_state = 'pending', media_source_url = media_url
  WHERE media_state IS NULL AND deleted_at IS NULL
    AND message_type IN ('audio', 'image', 'video', 'document', 'sticker')
    AND message_id NOT LIKE 'local-%' AND sent_by IS NULL
    AND timestamp > NOW() - INTERVAL '14 days';
UPDATE whatsapp_messages SET media_state = 'pending'
  WHERE media_state IS NULL AND deleted_at IS NULL
    AND message_type IN ('audio', 'image', 'video', 'document', 'sticker')
    AND timestamp > NOW() - INTERVAL '14 days';
UPDATE whatsapp_messages
  SET media_state = 'unavailable', media_error = 'received before media was stored by this server'
  WHERE media_state IS NULL
    AND message_type IN ('audio', 'image', 'video', 'document', 'sticker');
