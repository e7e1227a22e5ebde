-- Row-level security for deployments where Supabase clients read these tables directly (the
-- seed's RLS): a signed-in agent sees the rows of the numbers they are a member of, an admin
-- sees everything, anyone else nothing. This server connects as the tables' owner, which RLS
-- does not restrict; the same rules are enforced in its services.

-- The caller, from the JWT claims PostgREST/Supabase put in request settings.
CREATE OR REPLACE FUNCTION atendimento_claims() RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT COALESCE(NULLIF(current_setting('request.jwt.claims', true), '')::jsonb, '{}'::jsonb)
$$;

CREATE OR REPLACE FUNCTION atendimento_uid() RETURNS uuid
LANGUAGE sql STABLE AS $$
  SELECT NULLIF(COALESCE(atendimento_claims() ->> 'sub',
                         current_setting('request.jwt.claim.sub', true)), '')::uuid
$$;

CREATE OR REPLACE FUNCTION atendimento_is_admin() RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT COALESCE(atendimento_claims() -> 'app_metadata' ->> 'role', '') = 'admin'
$$;

-- SECURITY DEFINER: the membership table is itself protected, and policies must read it.
CREATE OR REPLACE FUNCTION atendimento_can_see(instance uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT atendimento_is_admin() OR EXISTS (
    SELECT 1 FROM whatsapp_instance_members m
    WHERE m.instance_id = instance AND m.profile_id = atendimento_uid())
$$;

ALTER TABLE whatsapp_instances ENABLE ROW LEVEL SECURITY;
ALTER TABLE whatsapp_instance_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE whatsapp_instance_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE whatsapp_contacts ENABLE ROW LEVEL SECURITY;
ALTER TABLE whatsapp_messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE whatsapp_auto_reply_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE whatsapp_quick_messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE whatsapp_contact_reads ENABLE ROW LEVEL SECURITY;
ALTER TABLE whatsapp_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE whatsapp_message_receipts ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_events ENABLE ROW LEVEL SECURITY;  -- no policy: server only

CREATE POLICY members_read ON whatsapp_instances FOR SELECT USING (atendimento_can_see(id));
CREATE POLICY admins_write ON whatsapp_instances FOR ALL
  USING (atendimento_is_admin()) WITH CHECK (atendimento_is_admin());

CREATE POLICY members_read ON whatsapp_instance_settings FOR SELECT
  USING (atendimento_can_see(instance_id));
CREATE POLICY admins_write ON whatsapp_instance_settings FOR ALL
  USING (atendimento_is_admin()) WITH CHECK (atendimento_is_admin());

CREATE POLICY members_read ON whatsapp_instance_members FOR SELECT
  USING (atendimento_can_see(instance_id));
CREATE POLICY admins_write ON whatsapp_instance_members FOR ALL
  USING (atendimento_is_admin()) WITH CHECK (atendimento_is_admin());

CREATE POLICY members_all ON whatsapp_contacts FOR ALL
  USING (atendimento_can_see(instance_id)) WITH CHECK (atendimento_can_see(instance_id));
CREATE POLICY members_all ON whatsapp_messages FOR ALL
  USING (atendimento_can_see(instance_id)) WITH CHECK (atendimento_can_see(instance_id));
CREATE POLICY members_read ON whatsapp_auto_reply_log FOR SELECT
  USING (atendimento_can_see(instance_id));
CREATE POLICY members_read ON whatsapp_events FOR SELECT
  USING (atendimento_can_see(instance_id));
CREATE POLICY members_read ON whatsapp_message_receipts FOR SELECT
  USING (atendimento_can_see(instance_id));

CREATE POLICY signed_in_read ON whatsapp_quick_messages FOR SELECT
  USING (atendimento_uid() IS NOT NULL);
CREATE POLICY admins_write ON whatsapp_quick_messages FOR ALL
  USING (atendimento_is_admin()) WITH CHECK (atendimento_is_admin());

CREATE POLICY own_marks ON whatsapp_contact_reads FOR ALL
  USING (profile_id = atendimento_uid()) WITH CHECK (profile_id = atendimento_uid());
