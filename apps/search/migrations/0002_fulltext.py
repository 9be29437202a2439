"""The full-text index: text search configuration, document functions, triggers, indexes.

Design (see README "### Search"):
- `sk_unaccent(text)`: an IMMUTABLE wrapper around unaccent (the extension's own function is only
  STABLE, so it cannot appear in an index expression).
- `sk_english`: a copy of `english` whose word mappings pass through `unaccent` before the Snowball
  stemmer, so "café" = "cafe", "Pokémon" = "pokemon". Numbers and letter+digit words (base58 mints,
  tx signatures) map to `simple`: kept whole, lowercased.
- `sk_search_specials(text)`: the tokens the parser would mangle, as extra lexemes: `$TICKER`
  symbols become `'$ticker'` (the parser alone would index only `ticker`, so "$SKID" and the word
  "skid" would be indistinguishable) and base58 addresses (32-44 characters of the base58
  alphabet) are kept case-exact next to the parser's lowercase form. Cheap guards (a '$' at all, a
  32-character base58 run at all) skip the costlier extracting expressions for ordinary text.
- `sk_post_document(title, tag_slugs, body)`: weighted title A, tags B, body C.
- BEFORE INSERT/UPDATE triggers on `posts` and `comments` compute `search_vector` in the same
  statement (so the same transaction) as the write; an update that leaves title, tags and body
  unchanged (votes, counters, status) skips the work.
- Indexes for suggestions and filters on other apps' tables, created here so those apps stay
  unaware of search: trigram indexes on usernames, display names and tag slugs, a prefix index on
  usernames, a GIN index on posts.tag_slugs (the tag filter and related posts).
"""

from django.db import migrations

FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION public.sk_unaccent(text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$;

CREATE TEXT SEARCH CONFIGURATION public.sk_english (COPY = pg_catalog.english);
ALTER TEXT SEARCH CONFIGURATION public.sk_english
    ALTER MAPPING FOR hword, hword_part, word WITH public.unaccent, english_stem;

CREATE OR REPLACE FUNCTION public.sk_search_specials(doc text) RETURNS tsvector
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
  result tsvector;
BEGIN
  -- Most text has neither a '$' nor a 32-character base58 run: answer at once.
  IF doc IS NULL OR (strpos(doc, '$') = 0 AND doc !~ '[1-9A-HJ-NP-Za-km-z]{32}') THEN
    RETURN ''::tsvector;
  END IF;
  SELECT coalesce(string_agg(DISTINCT '''' || t || ''':1', ' ')::tsvector, ''::tsvector) INTO result
  FROM (
    SELECT '$' || lower(m[1]) AS t
    FROM regexp_matches(CASE WHEN strpos(doc, '$') > 0 THEN doc END,
                        '(?:^|[^A-Za-z0-9$_])\$([A-Za-z][A-Za-z0-9]{1,9})(?![A-Za-z0-9_])', 'g') AS m
    UNION
    SELECT m[1]
    FROM regexp_matches(CASE WHEN doc ~ '[1-9A-HJ-NP-Za-km-z]{32}' THEN doc END,
                        '(?:^|[^A-Za-z0-9])([1-9A-HJ-NP-Za-km-z]{32,44})(?![A-Za-z0-9])', 'g') AS m
  ) s;
  RETURN result;
END
$$;

CREATE OR REPLACE FUNCTION public.sk_post_document(title text, tag_slugs varchar[], body text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT setweight(to_tsvector('public.sk_english', coalesce(title, '')), 'A')
      || setweight(public.sk_search_specials(title), 'A')
      || setweight(to_tsvector('public.sk_english', array_to_string(coalesce(tag_slugs, '{}'), ' ')), 'B')
      || setweight(to_tsvector('public.sk_english', left(coalesce(body, ''), 100000)), 'C')
      || setweight(public.sk_search_specials(left(body, 100000)), 'C')
$$;

CREATE OR REPLACE FUNCTION public.sk_comment_document(body text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT setweight(to_tsvector('public.sk_english', left(coalesce(body, ''), 100000)), 'C')
      || setweight(public.sk_search_specials(left(body, 100000)), 'C')
$$;

CREATE OR REPLACE FUNCTION public.sk_posts_search_vector_trg() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF TG_OP = 'UPDATE'
     AND NEW.title IS NOT DISTINCT FROM OLD.title
     AND NEW.body IS NOT DISTINCT FROM OLD.body
     AND NEW.tag_slugs IS NOT DISTINCT FROM OLD.tag_slugs
     AND NEW.search_vector IS NOT NULL THEN
    RETURN NEW;
  END IF;
  NEW.search_vector := public.sk_post_document(NEW.title, NEW.tag_slugs, NEW.body);
  RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION public.sk_comments_search_vector_trg() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.body IS NOT DISTINCT FROM OLD.body AND NEW.search_vector IS NOT NULL THEN
    RETURN NEW;
  END IF;
  NEW.search_vector := public.sk_comment_document(NEW.body);
  RETURN NEW;
END
$$;

CREATE TRIGGER posts_search_vector BEFORE INSERT OR UPDATE ON posts
    FOR EACH ROW EXECUTE FUNCTION public.sk_posts_search_vector_trg();
CREATE TRIGGER comments_search_vector BEFORE INSERT OR UPDATE ON comments
    FOR EACH ROW EXECUTE FUNCTION public.sk_comments_search_vector_trg();

UPDATE posts SET search_vector = public.sk_post_document(title, tag_slugs, body);
UPDATE comments SET search_vector = public.sk_comment_document(body);

CREATE INDEX IF NOT EXISTS search_users_username_prefix_idx ON users (lower(username) text_pattern_ops);
CREATE INDEX IF NOT EXISTS search_users_username_trgm_idx ON users USING gin (lower(username) gin_trgm_ops);
CREATE INDEX IF NOT EXISTS search_profiles_display_name_trgm_idx
    ON profiles USING gin (public.sk_unaccent(lower(display_name)) gin_trgm_ops);
CREATE INDEX IF NOT EXISTS search_tags_slug_trgm_idx ON tags USING gin (slug gin_trgm_ops);
CREATE INDEX IF NOT EXISTS search_posts_tag_slugs_idx ON posts USING gin (tag_slugs);
"""

REVERSE = r"""
DROP INDEX IF EXISTS search_posts_tag_slugs_idx;
DROP INDEX IF EXISTS search_tags_slug_trgm_idx;
DROP INDEX IF EXISTS search_profiles_display_name_trgm_idx;
DROP INDEX IF EXISTS search_users_username_trgm_idx;
DROP INDEX IF EXISTS search_users_username_prefix_idx;
DROP TRIGGER IF EXISTS comments_search_vector ON comments;
DROP TRIGGER IF EXISTS posts_search_vector ON posts;
DROP FUNCTION IF EXISTS public.sk_comments_search_vector_trg();
DROP FUNCTION IF EXISTS public.sk_posts_search_vector_trg();
DROP FUNCTION IF EXISTS public.sk_comment_document(text);
DROP FUNCTION IF EXISTS public.sk_post_document(text, varchar[], text);
DROP FUNCTION IF EXISTS public.sk_search_specials(text);
DROP TEXT SEARCH CONFIGURATION IF EXISTS public.sk_english;
DROP FUNCTION IF EXISTS public.sk_unaccent(text);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_extensions"),
        ("accounts", "0001_initial"),
        ("forum", "0001_initial"),
        ("search", "0001_initial"),
    ]

    operations = [migrations.RunSQL(FUNCTIONS, reverse_sql=REVERSE)]
