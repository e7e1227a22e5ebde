-- Read marks by arrival. WhatsApp times have whole seconds, and a phone that was offline
-- delivers messages late with their original time: a message that reaches us after an agent
-- marked the chat read is unread, whatever its timestamp. The mark keeps the arrival number of
-- the newest message when it was set; unread means arrived after it.
ALTER TABLE whatsapp_contact_reads ADD COLUMN read_arrival BIGINT NOT NULL DEFAULT 0;
UPDATE whatsapp_contact_reads r SET read_arrival = COALESCE(
  (SELECT max(m.arrival) FROM whatsapp_messages m
   WHERE m.contact_id = r.contact_id AND m.timestamp <= r.read_at), 0);

DROP INDEX idx_whatsapp_messages_unread;
CREATE INDEX idx_whatsapp_messages_unread ON whatsapp_messages(contact_id, arrival)
  WHERE NOT from_me AND deleted_at IS NULL;
