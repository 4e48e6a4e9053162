-- registry-auth schema v3: the Docker token realm. Service accounts, pull tokens, refresh
-- tokens and the failed-login throttle; mirrors model/tokens.h (storage/token_store.h).
--
-- Secrets are stored only as keyed hashes: secret_hash = HMAC-SHA256(hash key, secret), 32 bytes,
-- with the id of the hash key (a uint32) so hash keys can be rotated. Ids use the "C" collation
-- (bytewise order whatever the database locale). A time the model marks with an infinite
-- sentinel is NULL here where NULL reads naturally: expire_time NULL = never expires,
-- last_used_time NULL = never used, revoke_time NULL = not revoked.
-- Service accounts, pull tokens and refresh tokens go with their workspace (ON DELETE CASCADE),
-- with or without DeleteWorkspace's `force`.

-- Grants are a jsonb array on the account row rather than a child table: they are a small value
-- read and written only as a whole together with the account (never queried one by one), so one
-- row keeps Create, Get, List and the versioned Update single statements with no join or
-- aggregation, and the array keeps the caller's order. The CHECK below gives them the shape and
-- limits a child table's columns would have:
--   [{"repository_pattern": "acme/*", "actions": ["pull", "push"]}, ...]
-- at most 100 grants; a pattern is 1..255 printable ASCII characters without spaces; 1..16
-- actions, each 1..32 lowercase letters or "*". (Which patterns and actions make sense is
-- realm/grants.h's business, not the schema's.) plpgsql, so the checks run in order: a
-- malformed value fails the CHECK instead of raising an error inside it.
CREATE FUNCTION service_account_grants_valid(grants jsonb) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
  item jsonb;
  action jsonb;
BEGIN
  IF jsonb_typeof(grants) <> 'array' OR jsonb_array_length(grants) > 100 THEN
    RETURN false;
  END IF;
  FOR item IN SELECT value FROM jsonb_array_elements(grants) LOOP
    IF jsonb_typeof(item) <> 'object'
        OR (SELECT count(*) FROM jsonb_object_keys(item)) <> 2
        OR jsonb_typeof(item -> 'repository_pattern') IS DISTINCT FROM 'string'
        OR jsonb_typeof(item -> 'actions') IS DISTINCT FROM 'array' THEN
      RETURN false;
    END IF;
    IF (item ->> 'repository_pattern') !~ '^[\x21-\x7e]{1,255}$'
        OR jsonb_array_length(item -> 'actions') NOT BETWEEN 1 AND 16 THEN
      RETURN false;
    END IF;
    FOR action IN SELECT value FROM jsonb_array_elements(item -> 'actions') LOOP
      IF jsonb_typeof(action) <> 'string' OR (action #>> '{}') !~ '^([a-z]{1,32}|\*)$' THEN
        RETURN false;
      END IF;
    END LOOP;
  END LOOP;
  RETURN true;
END;
$fn$;

CREATE TABLE service_accounts (
  workspace_id       text        COLLATE "C" NOT NULL,
  id                 text        COLLATE "C" NOT NULL,
  display_name       text        NOT NULL DEFAULT '',
  grants             jsonb       NOT NULL DEFAULT '[]',
  enabled            boolean     NOT NULL DEFAULT true,
  expire_time        timestamptz,  -- NULL = never
  secret_hash        bytea       NOT NULL,
  secret_hash_key_id bigint      NOT NULL,
  secret_rotate_time timestamptz NOT NULL,
  last_used_time     timestamptz,  -- NULL = never used
  create_time        timestamptz NOT NULL,
  update_time        timestamptz NOT NULL,
  version            bigint      NOT NULL,
  CONSTRAINT service_accounts_pkey PRIMARY KEY (workspace_id, id),
  CONSTRAINT service_accounts_workspace_fkey FOREIGN KEY (workspace_id)
    REFERENCES workspaces (id) ON DELETE CASCADE,
  CONSTRAINT service_accounts_id_format CHECK (id ~ '^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$'),
  CONSTRAINT service_accounts_display_name_length CHECK (char_length(display_name) <= 256),
  CONSTRAINT service_accounts_grants_valid CHECK (service_account_grants_valid(grants)),
  CONSTRAINT service_accounts_secret_hash_length CHECK (octet_length(secret_hash) = 32),
  CONSTRAINT service_accounts_secret_hash_key_id_uint32
    CHECK (secret_hash_key_id BETWEEN 0 AND 4294967295),
  CONSTRAINT service_accounts_version_positive CHECK (version >= 1)
);

-- Pull tokens name their app without a foreign key: a token outlives its app's deletion (it is
-- revoked by RevokePullTokensOfApp, and expires anyway). The workspace key is enforced.
CREATE TABLE pull_tokens (
  id                 text        COLLATE "C" NOT NULL,
  workspace_id       text        COLLATE "C" NOT NULL,
  app_id             text        COLLATE "C" NOT NULL,
  repository         text        NOT NULL,  -- `<workspace>/<app>` at mint time
  secret_hash        bytea       NOT NULL,
  secret_hash_key_id bigint      NOT NULL,
  created_by         text        NOT NULL DEFAULT '',
  create_time        timestamptz NOT NULL,
  expire_time        timestamptz NOT NULL,
  revoke_time        timestamptz,  -- NULL = not revoked
  CONSTRAINT pull_tokens_pkey PRIMARY KEY (id),
  CONSTRAINT pull_tokens_workspace_fkey FOREIGN KEY (workspace_id)
    REFERENCES workspaces (id) ON DELETE CASCADE,
  -- 22 base64url characters: 128 random bits.
  CONSTRAINT pull_tokens_id_format CHECK (id ~ '^[A-Za-z0-9_-]{22}$'),
  CONSTRAINT pull_tokens_app_id_format CHECK (app_id ~ '^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$'),
  CONSTRAINT pull_tokens_repository_format CHECK (repository ~ '^[\x21-\x7e]{1,255}$'),
  CONSTRAINT pull_tokens_secret_hash_length CHECK (octet_length(secret_hash) = 32),
  CONSTRAINT pull_tokens_secret_hash_key_id_uint32
    CHECK (secret_hash_key_id BETWEEN 0 AND 4294967295),
  CONSTRAINT pull_tokens_created_by_length CHECK (char_length(created_by) <= 1024)
);

-- ListPullTokens of one app, newest first (and RevokePullTokensOfApp). Its workspace_id prefix
-- also serves the whole-workspace list (a top-N sort of the workspace's tokens, which
-- DeleteExpiredPullTokens keeps few) and the ON DELETE CASCADE from workspaces.
CREATE INDEX pull_tokens_app ON pull_tokens (workspace_id, app_id, create_time DESC, id DESC);
-- DeleteExpiredPullTokens.
CREATE INDEX pull_tokens_expire_time ON pull_tokens (expire_time);

CREATE TABLE refresh_tokens (
  id                 text        COLLATE "C" NOT NULL,
  -- The Basic user name that logged in, e.g. `acme+builder`: 1..256 printable ASCII
  -- characters, no spaces (like workspace_members.user_id).
  subject            text        COLLATE "C" NOT NULL,
  service            text        NOT NULL DEFAULT '',
  workspace_id       text        COLLATE "C" NOT NULL,
  client_id          text        NOT NULL DEFAULT '',
  secret_hash        bytea       NOT NULL,
  secret_hash_key_id bigint      NOT NULL,
  create_time        timestamptz NOT NULL,
  expire_time        timestamptz NOT NULL,
  last_used_time     timestamptz,  -- NULL = never used
  revoke_time        timestamptz,  -- NULL = not revoked
  CONSTRAINT refresh_tokens_pkey PRIMARY KEY (id),
  CONSTRAINT refresh_tokens_workspace_fkey FOREIGN KEY (workspace_id)
    REFERENCES workspaces (id) ON DELETE CASCADE,
  CONSTRAINT refresh_tokens_id_format CHECK (id ~ '^[A-Za-z0-9_-]{22}$'),
  CONSTRAINT refresh_tokens_subject_format
    CHECK (subject ~ '^[\x21-\x7e]+$' AND octet_length(subject) <= 256),
  CONSTRAINT refresh_tokens_service_length CHECK (char_length(service) <= 255),
  CONSTRAINT refresh_tokens_client_id_length CHECK (char_length(client_id) <= 255),
  CONSTRAINT refresh_tokens_secret_hash_length CHECK (octet_length(secret_hash) = 32),
  CONSTRAINT refresh_tokens_secret_hash_key_id_uint32
    CHECK (secret_hash_key_id BETWEEN 0 AND 4294967295)
);

-- ListRefreshTokens of one subject, newest first, and RevokeRefreshTokensOfSubject.
CREATE INDEX refresh_tokens_subject ON refresh_tokens (subject, create_time DESC, id DESC);
-- ListRefreshTokens of a workspace, newest first, and the ON DELETE CASCADE.
CREATE INDEX refresh_tokens_workspace
  ON refresh_tokens (workspace_id, create_time DESC, id DESC);
-- DeleteExpiredRefreshTokens.
CREATE INDEX refresh_tokens_expire_time ON refresh_tokens (expire_time);

-- CountSecretHashesByKeyId reads the three tables whole: a rare report does not justify an
-- index on every insert of a pull or refresh token.

-- Failed logins per throttle key (`account:<user>`, `addr:<client ip>`), shared by all replicas.
-- RecordLoginFailure locks the key's row for its read-modify-write (postgres_token_store.cc).
-- Rows are small and short-lived: DeleteStaleThrottleStates removes them once their window and
-- block have ended.
CREATE TABLE login_throttle (
  key           text        COLLATE "C" NOT NULL,
  failures      integer     NOT NULL,
  window_start  timestamptz NOT NULL,
  blocked_until timestamptz NOT NULL,
  CONSTRAINT login_throttle_pkey PRIMARY KEY (key),
  CONSTRAINT login_throttle_key_length CHECK (octet_length(key) BETWEEN 1 AND 512),
  CONSTRAINT login_throttle_failures_nonnegative CHECK (failures >= 0)
);
