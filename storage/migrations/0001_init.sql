-- registry-auth schema v1: workspaces, their apps and their registry configurations.
-- Mirrors model/model.h. Ids follow the resource-id rule of the API
-- (^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$); times keep microseconds; `version` starts at 1.
-- Secrets are stored only as AES-256-GCM ciphertext (NULL when none is stored).
-- Ids use the "C" collation so keyset paging orders by bytes whatever the database locale.

CREATE TABLE workspaces (
  id           text        COLLATE "C" NOT NULL,
  display_name text        NOT NULL DEFAULT '',
  create_time  timestamptz NOT NULL,
  update_time  timestamptz NOT NULL,
  version      bigint      NOT NULL,
  CONSTRAINT workspaces_pkey PRIMARY KEY (id),
  CONSTRAINT workspaces_id_format CHECK (id ~ '^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$'),
  CONSTRAINT workspaces_display_name_length CHECK (char_length(display_name) <= 256),
  CONSTRAINT workspaces_version_positive CHECK (version >= 1)
);

CREATE TABLE registry_configs (
  workspace_id          text        COLLATE "C" NOT NULL,
  id                    text        COLLATE "C" NOT NULL,
  display_name          text        NOT NULL DEFAULT '',
  type                  text        NOT NULL,
  owner                 text        NOT NULL DEFAULT '',
  login_server          text        NOT NULL DEFAULT '',
  url                   text        NOT NULL DEFAULT '',
  repository_namespace  text        NOT NULL DEFAULT '',
  username              text        NOT NULL DEFAULT '',
  secret_ciphertext     bytea,
  secret_key_id         bigint      NOT NULL DEFAULT 0,
  secret_hint           text        NOT NULL DEFAULT '',
  is_default            boolean     NOT NULL DEFAULT false,
  validation_status     text        NOT NULL DEFAULT 'PENDING',
  validated_at          timestamptz,
  last_validation_error text        NOT NULL DEFAULT '',
  create_time           timestamptz NOT NULL,
  update_time           timestamptz NOT NULL,
  version               bigint      NOT NULL,
  CONSTRAINT registry_configs_pkey PRIMARY KEY (workspace_id, id),
  CONSTRAINT registry_configs_workspace_fkey FOREIGN KEY (workspace_id)
    REFERENCES workspaces (id),
  CONSTRAINT registry_configs_id_format CHECK (id ~ '^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$'),
  CONSTRAINT registry_configs_display_name_length CHECK (char_length(display_name) <= 256),
  CONSTRAINT registry_configs_type_known
    CHECK (type IN ('GHCR', 'ACR', 'DISTRIBUTION', 'GENERIC')),
  CONSTRAINT registry_configs_validation_status_known
    CHECK (validation_status IN ('PENDING', 'VALID', 'INVALID')),
  CONSTRAINT registry_configs_secret_nonempty
    CHECK (secret_ciphertext IS NULL OR octet_length(secret_ciphertext) > 0),
  CONSTRAINT registry_configs_secret_key_id_uint32
    CHECK (secret_key_id BETWEEN 0 AND 4294967295),
  CONSTRAINT registry_configs_version_positive CHECK (version >= 1)
);

-- At most one default configuration per workspace.
CREATE UNIQUE INDEX registry_configs_one_default
  ON registry_configs (workspace_id) WHERE is_default;

-- Key-rotation reports (CountSecretsByKeyId).
CREATE INDEX registry_configs_secret_key_id
  ON registry_configs (secret_key_id) WHERE secret_ciphertext IS NOT NULL;

CREATE TABLE apps (
  workspace_id       text        COLLATE "C" NOT NULL,
  id                 text        COLLATE "C" NOT NULL,
  display_name       text        NOT NULL DEFAULT '',
  -- A registry config of the same workspace; '' = the workspace's default. Checked by the
  -- service, not by a foreign key, so a config can be replaced without touching its apps.
  registry_config_id text        NOT NULL DEFAULT '',
  create_time        timestamptz NOT NULL,
  update_time        timestamptz NOT NULL,
  version            bigint      NOT NULL,
  CONSTRAINT apps_pkey PRIMARY KEY (workspace_id, id),
  CONSTRAINT apps_workspace_fkey FOREIGN KEY (workspace_id) REFERENCES workspaces (id),
  CONSTRAINT apps_id_format CHECK (id ~ '^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$'),
  CONSTRAINT apps_display_name_length CHECK (char_length(display_name) <= 256),
  CONSTRAINT apps_registry_config_id_format
    CHECK (registry_config_id = '' OR registry_config_id ~ '^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$'),
  CONSTRAINT apps_version_positive CHECK (version >= 1)
);
