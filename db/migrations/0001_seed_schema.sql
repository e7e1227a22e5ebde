-- The seed design's tables and indexes, as written there, plus the two tables they reference
-- (`profiles`, `clients`) which the seed assumes from the surrounding Avaliatec system.

CREATE TABLE IF NOT EXISTS profiles (
  id UUID PRIMARY KEY,
  full_name TEXT,
  email TEXT,
  role TEXT NOT NULL DEFAULT 'agent' CHECK (role IN ('admin', 'agent')),
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE TABLE IF NOT EXISTS clients (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  name TEXT NOT NULL,
  phone TEXT,
  email TEXT,
  document TEXT,
  notes TEXT,
  created_by UUID REFERENCES profiles(id) ON DELETE SET NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE TABLE whatsapp_instances (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  instance_name TEXT NOT NULL UNIQUE,
  instance_token TEXT NOT NULL,
  phone_number TEXT,
  display_name TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'disconnected' CHECK (
    status IN ('disconnected', 'connecting', 'connected', 'qr_code')
  ),
  qr_code TEXT,
  qr_code_updated_at TIMESTAMPTZ,
  webhook_url TEXT,
  created_by UUID REFERENCES profiles(id) ON DELETE SET NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  connected_at TIMESTAMPTZ,
  last_seen_at TIMESTAMPTZ
);

CREATE INDEX idx_whatsapp_instances_status ON whatsapp_instances(status);
CREATE INDEX idx_whatsapp_instances_created_by ON whatsapp_instances(created_by);

CREATE TABLE whatsapp_contacts (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  instance_id UUID REFERENCES whatsapp_instances(id) ON DELETE CASCADE NOT NULL,
  remote_jid TEXT NOT NULL,
  phone_number TEXT NOT NULL,
  name TEXT,
  profile_picture_url TEXT,
  contact_type TEXT CHECK (
    contact_type IN ('cliente', 'lead', 'profissional', 'prestador', 'unknown')
  ) DEFAULT 'unknown',
  client_id UUID REFERENCES clients(id) ON DELETE SET NULL,
  last_message_at TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  UNIQUE(instance_id, remote_jid)
);

CREATE INDEX idx_whatsapp_contacts_instance ON whatsapp_contacts(instance_id);
CREATE INDEX idx_whatsapp_contacts_remote_jid ON whatsapp_contacts(remote_jid);
CREATE INDEX idx_whatsapp_contacts_phone ON whatsapp_contacts(phone_number);
CREATE INDEX idx_whatsapp_contacts_client ON whatsapp_contacts(client_id);
CREATE INDEX idx_whatsapp_contacts_type ON whatsapp_contacts(contact_type);
CREATE INDEX idx_whatsapp_contacts_last_message ON whatsapp_contacts(last_message_at DESC);

CREATE TABLE whatsapp_messages (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  instance_id UUID REFERENCES whatsapp_instances(id) ON DELETE CASCADE NOT NULL,
  contact_id UUID REFERENCES whatsapp_contacts(id) ON DELETE CASCADE NOT NULL,
  message_id TEXT NOT NULL,
  remote_jid TEXT NOT NULL,
  from_me BOOLEAN NOT NULL DEFAULT false,
  message_type TEXT NOT NULL CHECK (
    message_type IN ('text', 'audio', 'image', 'video', 'document', 'sticker', 'location', 'contact', 'other')
  ),
  text_content TEXT,
  media_url TEXT,
  media_mime_type TEXT,
  media_size BIGINT,
  media_filename TEXT,
  quoted_message_id TEXT,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (
    status IN ('pending', 'sent', 'delivered', 'read', 'failed')
  ),
  timestamp TIMESTAMPTZ NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  UNIQUE(instance_id, message_id)
);

CREATE INDEX idx_whatsapp_messages_instance ON whatsapp_messages(instance_id);
CREATE INDEX idx_whatsapp_messages_contact ON whatsapp_messages(contact_id);
CREATE INDEX idx_whatsapp_messages_timestamp ON whatsapp_messages(timestamp DESC);
CREATE INDEX idx_whatsapp_messages_from_me ON whatsapp_messages(from_me);
CREATE INDEX idx_whatsapp_messages_status ON whatsapp_messages(status);

CREATE TABLE whatsapp_quick_messages (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  shortcut TEXT NOT NULL UNIQUE,
  message_text TEXT NOT NULL,
  description TEXT,
  created_by UUID REFERENCES profiles(id) ON DELETE SET NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE INDEX idx_whatsapp_quick_messages_shortcut ON whatsapp_quick_messages(shortcut);

CREATE TABLE whatsapp_instance_settings (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  instance_id UUID REFERENCES whatsapp_instances(id) ON DELETE CASCADE NOT NULL UNIQUE,
  reject_calls BOOLEAN NOT NULL DEFAULT false,
  reject_call_message TEXT,
  ignore_groups BOOLEAN NOT NULL DEFAULT true,
  always_online BOOLEAN NOT NULL DEFAULT false,
  read_messages BOOLEAN NOT NULL DEFAULT false,
  read_status BOOLEAN NOT NULL DEFAULT false,
  auto_reply_enabled BOOLEAN NOT NULL DEFAULT false,
  auto_reply_message TEXT,
  availability_schedule JSONB DEFAULT '{}',
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE INDEX idx_whatsapp_instance_settings_instance ON whatsapp_instance_settings(instance_id);

CREATE TABLE whatsapp_auto_reply_log (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  instance_id UUID REFERENCES whatsapp_instances(id) ON DELETE CASCADE NOT NULL,
  contact_id UUID REFERENCES whatsapp_contacts(id) ON DELETE CASCADE NOT NULL,
  message_sent TEXT NOT NULL,
  sent_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE INDEX idx_whatsapp_auto_reply_log_instance ON whatsapp_auto_reply_log(instance_id);
CREATE INDEX idx_whatsapp_auto_reply_log_contact ON whatsapp_auto_reply_log(contact_id, sent_at DESC);
