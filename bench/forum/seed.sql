-- Bulk load for the forum benchmark: set-based SQL only (generate_series), no ORM loops.
-- Sizes come from psql variables: :users, :posts, :comments, :votes, :big_thread.
-- Run by bench/forum/bench.py after `migrate` and `seed` (reference categories and tags).
\set ON_ERROR_STOP on
SET synchronous_commit = off;
SELECT setseed(0.42) \g /dev/null

-- users and profiles --------------------------------------------------------------------------
INSERT INTO users (password, is_superuser, first_name, last_name, is_staff, is_active, date_joined, username,
                   email, email_verified, role, suspension_reason, token_version)
SELECT '!', false, '', '', false, true, now() - interval '400 days' + g * interval '1 hour',
       'bench_' || g, 'bench_' || g || '@bench.local', true, 'user', '', 0
FROM generate_series(1, :users) g;
INSERT INTO profiles (user_id, display_name, bio, links, avatar_url, visibility, show_wallets, show_holdings,
                      points, level, holder_tier, settings, updated_at)
SELECT id, 'Bench ' || id, '', '[]', '', 'everyone', false, false, (random() * 5000)::int, 1 + (random() * 9)::int,
       CASE WHEN random() < 0.1 THEN 'holder' ELSE 'none' END, '{}', now()
FROM users WHERE username LIKE 'bench\_%';

CREATE TEMP TABLE bench_users AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM users WHERE username LIKE 'bench\_%';
CREATE UNIQUE INDEX ON bench_users (n);
CREATE TEMP TABLE bench_cats AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM categories;
CREATE TEMP TABLE bench_tags AS SELECT row_number() OVER (ORDER BY id) AS n, slug FROM tags;

-- posts: :posts over 60 days, ids in time order; the last one gets the big thread ----------------
INSERT INTO posts (author_id, category_id, title, slug, body, body_html, excerpt, tag_slugs, status,
                   status_reason, is_pinned, is_locked, score, upvotes, downvotes, comment_count,
                   hot_rank, controversy, created_at, updated_at, last_activity_at, revision_count, is_nsfw)
SELECT u.id, c.id,
       'Bench post ' || g || ': Success Kid and the ' || (ARRAY['chart','meme','moon','dip','pool','bot'])[1 + g % 6],
       'bench-post-' || g,
       'Post **' || g || '** body. The fist clench never gets old. Liquidity keeps growing on the main pool; '
           || 'not financial advice, just vibes. [guide](https://example.com/guide)',
       '<p>Post <strong>' || g || '</strong> body. The fist clench never gets old. Liquidity keeps growing on the '
           || 'main pool; not financial advice, just vibes. <a href="https://example.com/guide" '
           || 'rel="nofollow ugc noopener">guide</a></p>',
       'Post ' || g || ' body. The fist clench never gets old. Liquidity keeps growing on the main pool; not '
           || 'financial advice, just vibes. guide',
       ARRAY(SELECT slug FROM bench_tags WHERE n IN (1 + g % 18, 1 + (g::bigint * 7) % 18) ORDER BY n),
       'published', '', g % 5000 = 0, false, 0, 0, 0, 0, 0, 0,
       now() - (:posts - g) * (interval '60 days' / :posts),
       now(), now() - (:posts - g) * (interval '60 days' / :posts), 1, false
FROM generate_series(1, :posts) g
JOIN bench_users u ON u.n = 1 + (g::bigint * 7919) % :users
JOIN bench_cats c ON c.n = 1 + (g::bigint * 31) % (SELECT count(*) FROM bench_cats);

INSERT INTO post_tags (post_id, tag_id, created_at)
SELECT p.id, t.id, p.created_at FROM posts p CROSS JOIN LATERAL unnest(p.tag_slugs) s JOIN tags t ON t.slug = s;

CREATE TEMP TABLE bench_posts AS SELECT row_number() OVER (ORDER BY id) AS n, id, created_at FROM posts;
CREATE UNIQUE INDEX ON bench_posts (n);
SELECT max(id) AS big_post FROM posts \gset
UPDATE posts SET category_id = (SELECT id FROM categories WHERE slug = 'general') WHERE id = :big_post;

-- comments: three levels (roots, replies, replies to replies); ids and paths computed in the insert --
CREATE TEMP TABLE lvl (level int, lo bigint, hi bigint);

-- the big thread: :big_thread comments on the newest post (30 % roots, 40 % level 1, 30 % level 2)
INSERT INTO comments (id, post_id, parent_id, author_id, depth, path, body, body_html, status, status_reason,
                      score, upvotes, downvotes, best_rank, reply_count, created_at, updated_at)
SELECT s.cid, :big_post, NULL, u.id, 0, lpad(s.cid::text, 10, '0') || '.', 'Root comment ' || s.g,
       '<p>Root comment ' || s.g || '</p>', 'published', '', 0, 0, 0, 0, 0,
       now() - interval '1 hour' + s.g * interval '100 ms', now()
FROM (SELECT g, nextval(pg_get_serial_sequence('comments', 'id')) AS cid
      FROM generate_series(1, (:big_thread * 3) / 10) g) s
JOIN bench_users u ON u.n = 1 + (s.g::bigint * 13) % :users;
INSERT INTO lvl SELECT 0, min(id), max(id) FROM comments WHERE post_id = :big_post;

INSERT INTO comments (id, post_id, parent_id, author_id, depth, path, body, body_html, status, status_reason,
                      score, upvotes, downvotes, best_rank, reply_count, created_at, updated_at)
SELECT s.cid, :big_post, p.id, u.id, 1, p.path || lpad(s.cid::text, 10, '0') || '.', 'Reply ' || s.g,
       '<p>Reply ' || s.g || '</p>', 'published', '', 0, 0, 0, 0, 0, p.created_at + interval '1 minute', now()
FROM (SELECT g, nextval(pg_get_serial_sequence('comments', 'id')) AS cid
      FROM generate_series(1, (:big_thread * 4) / 10) g) s
JOIN lvl ON lvl.level = 0
JOIN comments p ON p.id = lvl.lo + (s.g::bigint * 7) % (lvl.hi - lvl.lo + 1)
JOIN bench_users u ON u.n = 1 + (s.g::bigint * 17) % :users;
INSERT INTO lvl SELECT 1, min(id), max(id) FROM comments WHERE post_id = :big_post AND depth = 1;

INSERT INTO comments (id, post_id, parent_id, author_id, depth, path, body, body_html, status, status_reason,
                      score, upvotes, downvotes, best_rank, reply_count, created_at, updated_at)
SELECT s.cid, :big_post, p.id, u.id, 2, p.path || lpad(s.cid::text, 10, '0') || '.', 'Deep reply ' || s.g,
       '<p>Deep reply ' || s.g || '</p>', 'published', '', 0, 0, 0, 0, 0, p.created_at + interval '1 minute', now()
FROM (SELECT g, nextval(pg_get_serial_sequence('comments', 'id')) AS cid
      FROM generate_series(1, :big_thread - (:big_thread * 3) / 10 - (:big_thread * 4) / 10) g) s
JOIN lvl ON lvl.level = 1
JOIN comments p ON p.id = lvl.lo + (s.g::bigint * 11) % (lvl.hi - lvl.lo + 1)
JOIN bench_users u ON u.n = 1 + (s.g::bigint * 19) % :users;
TRUNCATE lvl;

-- the rest, spread over all other posts: 40 % roots, 35 % level 1, 25 % level 2
SELECT (:comments - :big_thread) AS rest \gset
INSERT INTO comments (id, post_id, parent_id, author_id, depth, path, body, body_html, status, status_reason,
                      score, upvotes, downvotes, best_rank, reply_count, created_at, updated_at)
SELECT s.cid, bp.id, NULL, u.id, 0, lpad(s.cid::text, 10, '0') || '.', 'Comment ' || s.g,
       '<p>Comment ' || s.g || '</p>', 'published', '', 0, 0, 0, 0, 0,
       LEAST(now(), bp.created_at + (s.g % 720) * interval '1 minute'), now()
FROM (SELECT g, nextval(pg_get_serial_sequence('comments', 'id')) AS cid
      FROM generate_series(1, (:rest * 4) / 10) g) s
JOIN bench_posts bp ON bp.n = 1 + (s.g::bigint * 104729) % (:posts - 1)
JOIN bench_users u ON u.n = 1 + (s.g::bigint * 23) % :users;
INSERT INTO lvl SELECT 0, min(id), max(id) FROM comments WHERE post_id <> :big_post AND depth = 0;

INSERT INTO comments (id, post_id, parent_id, author_id, depth, path, body, body_html, status, status_reason,
                      score, upvotes, downvotes, best_rank, reply_count, created_at, updated_at)
SELECT s.cid, p.post_id, p.id, u.id, 1, p.path || lpad(s.cid::text, 10, '0') || '.', 'Reply ' || s.g,
       '<p>Reply ' || s.g || '</p>', 'published', '', 0, 0, 0, 0, 0,
       LEAST(now(), p.created_at + interval '7 minutes'), now()
FROM (SELECT g, nextval(pg_get_serial_sequence('comments', 'id')) AS cid
      FROM generate_series(1, (:rest * 35) / 100) g) s
JOIN lvl ON lvl.level = 0
JOIN comments p ON p.id = lvl.lo + (s.g::bigint * 7919) % (lvl.hi - lvl.lo + 1)
JOIN bench_users u ON u.n = 1 + (s.g::bigint * 29) % :users;
INSERT INTO lvl SELECT 1, min(id), max(id) FROM comments WHERE post_id <> :big_post AND depth = 1;

INSERT INTO comments (id, post_id, parent_id, author_id, depth, path, body, body_html, status, status_reason,
                      score, upvotes, downvotes, best_rank, reply_count, created_at, updated_at)
SELECT s.cid, p.post_id, p.id, u.id, 2, p.path || lpad(s.cid::text, 10, '0') || '.', 'Deep reply ' || s.g,
       '<p>Deep reply ' || s.g || '</p>', 'published', '', 0, 0, 0, 0, 0,
       LEAST(now(), p.created_at + interval '9 minutes'), now()
FROM (SELECT g, nextval(pg_get_serial_sequence('comments', 'id')) AS cid
      FROM generate_series(1, :rest - (:rest * 4) / 10 - (:rest * 35) / 100) g) s
JOIN lvl ON lvl.level = 1
JOIN comments p ON p.id = lvl.lo + (s.g::bigint * 6101) % (lvl.hi - lvl.lo + 1)
JOIN bench_users u ON u.n = 1 + (s.g::bigint * 31) % :users;

-- votes: 70 % on posts (skewed to recent posts), 30 % on comments; one per user per item ----------
INSERT INTO votes (user_id, post_id, comment_id, value, created_at, updated_at)
SELECT u.id, bp.id, NULL, CASE WHEN s.r < 0.8 THEN 1 ELSE -1 END,
       LEAST(now(), bp.created_at + s.r2 * interval '2 days'), now()
FROM (SELECT g, GREATEST(1, :posts - floor(power(random(), 2) * :posts)::int) AS pn,
             1 + floor(random() * :users)::int AS un, random() AS r, random() AS r2
      FROM generate_series(1, (:votes * 72) / 100) g) s
JOIN bench_posts bp ON bp.n = s.pn
JOIN bench_users u ON u.n = s.un
ON CONFLICT (user_id, post_id) WHERE comment_id IS NULL DO NOTHING;

SELECT min(id) AS cmin, max(id) AS cmax FROM comments \gset
INSERT INTO votes (user_id, post_id, comment_id, value, created_at, updated_at)
SELECT u.id, c.post_id, c.id, CASE WHEN s.r < 0.75 THEN 1 ELSE -1 END, c.created_at, now()
FROM (SELECT g, :cmin + floor(random() * (:cmax - :cmin + 1))::bigint AS cid,
             1 + floor(random() * :users)::int AS un, random() AS r
      FROM generate_series(1, (:votes * 31) / 100) g) s
JOIN comments c ON c.id = s.cid
JOIN bench_users u ON u.n = s.un
ON CONFLICT (user_id, comment_id) WHERE comment_id IS NOT NULL DO NOTHING;

-- no self-votes
DELETE FROM votes v USING posts p WHERE v.comment_id IS NULL AND p.id = v.post_id AND p.author_id = v.user_id;
DELETE FROM votes v USING comments c WHERE c.id = v.comment_id AND c.author_id = v.user_id;
