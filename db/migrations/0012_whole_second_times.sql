-- Message times to the whole second. Ours were stored with a fraction while WhatsApp's have
-- whole seconds, so an agent's reply sorted after a customer's message of the same second that
-- reached us later; within a second, arrival decides (0007).

CREATE TEMPORARY TABLE fractional_contacts ON COMMIT DROP AS
  SELECT DISTINCT contact_id FROM whatsapp_messages
  WHERE timestamp <> date_trunc('second', timestamp);

UPDATE whatsapp_messages SET timestamp = date_trunc('second', timestamp)
WHERE timestamp <> date_trunc('second', timestamp);

-- Their conversations' place in the list follows their last message again.
UPDATE whatsapp_contacts c SET
  last_message_at = date_trunc('second', c.last_message_at),
  activity_arrival = COALESCE(l.arrival, c.activity_arrival)
FROM fractional_contacts f
LEFT JOIN LATERAL (
  SELECT m.arrival FROM whatsapp_messages m
  WHERE m.contact_id = f.contact_id AND m.metadata->>'kind' IS DISTINCT FROM 'reaction'
    AND m.message_type <> 'note'
  ORDER BY m.timestamp DESC, m.arrival DESC LIMIT 1
) l ON true
WHERE c.id = f.contact_id;
