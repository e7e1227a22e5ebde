-- Full-text search over message text (Portuguese stemming, accents ignored).
--
-- unaccent() is STABLE (it finds its dictionary through search_path), so an index cannot use
-- it. atendimento_unaccent() is the usual IMMUTABLE wrapper, naming the function and the
-- dictionary by the schema the extension lives in (Supabase keeps extensions in `extensions`,
-- plain PostgreSQL in `public`). Every name inside these functions is schema-qualified:
-- PostgreSQL 17+ builds and maintains indexes with search_path set to pg_catalog only, and
-- no search_path a session sets can change what they return.
CREATE EXTENSION IF NOT EXISTS unaccent;

DO $$
DECLARE
  ext_schema text := (SELECT n.nspname FROM pg_extension e
                      JOIN pg_namespace n ON n.oid = e.extnamespace
                      WHERE e.extname = 'unaccent');
  own_schema text := current_schema();
BEGIN
  EXECUTE format(
    'CREATE FUNCTION %1$I.atendimento_unaccent(text) RETURNS text '
    'LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT '
    'AS $f$ SELECT %2$I.unaccent(%3$L::regdictionary, $1) $f$',
    own_schema, ext_schema, quote_ident(ext_schema) || '.unaccent');

  -- What a message is searched by, and what a search becomes: both through the same unaccent
  -- and the same Portuguese configuration, so "atencao" finds "Atenção" and "pagamento"
  -- finds "pagamentos". The index below is on the first: a query must write the match the
  -- same way (db/search.py does).
  EXECUTE format(
    'CREATE FUNCTION %1$I.atendimento_message_tsv(text) RETURNS tsvector '
    'LANGUAGE sql IMMUTABLE PARALLEL SAFE '
    'AS $f$ SELECT pg_catalog.to_tsvector(''pg_catalog.portuguese''::pg_catalog.regconfig, '
    '%1$I.atendimento_unaccent(COALESCE($1, ''''))) $f$',
    own_schema);
  -- websearch_to_tsquery takes anything a person types ("a phrase", -word, or) and never
  -- fails on syntax; stop words alone give an empty query, which matches nothing.
  EXECUTE format(
    'CREATE FUNCTION %1$I.atendimento_search_query(text) RETURNS tsquery '
    'LANGUAGE sql IMMUTABLE PARALLEL SAFE '
    'AS $f$ SELECT pg_catalog.websearch_to_tsquery(''pg_catalog.portuguese''::pg_catalog.regconfig, '
    '%1$I.atendimento_unaccent(COALESCE($1, ''''))) $f$',
    own_schema);
END
$$;

-- An expression index rather than a stored generated column: adding one rewrites the whole
-- table under an exclusive lock. Deleted messages ("deleted for everyone") are not searched,
-- nor messages without text.
CREATE INDEX idx_whatsapp_messages_search ON whatsapp_messages
  USING gin (atendimento_message_tsv(text_content))
  WHERE deleted_at IS NULL AND text_content IS NOT NULL;
