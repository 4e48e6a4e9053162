-- registry-auth schema v10 (issue 19): the platform registry's notifications (Docker
-- Distribution's events: pushes, pulls, mounts, deletes), as RegistryEvent in model/model.h.
-- History like the audit trail: no foreign keys, rows outlive the workspace, repository and
-- principal they name; retention (PruneRegistryEvents) removes them by event_time. Keys use the
-- "C" collation so paging orders by bytes whatever the database locale. The registry delivers
-- at least once, so the event id is the primary key and inserts skip ids already stored
-- (INSERT ... ON CONFLICT (event_id) DO NOTHING, one statement per envelope).
-- Limits as in storage/registry_store.h: event_id 1..256 characters, workspace_id the
-- resource-id rule, every other text at most 1024 characters. The stores check them before
-- writing; these constraints are the last word.
CREATE TABLE registry_events (
  event_id       text        COLLATE "C" NOT NULL,
  workspace_id   text        COLLATE "C" NOT NULL,
  repository     text        COLLATE "C" NOT NULL DEFAULT '',
  action         text        NOT NULL DEFAULT '',
  digest         text        NOT NULL DEFAULT '',
  tag            text        NOT NULL DEFAULT '',
  media_type     text        NOT NULL DEFAULT '',
  size           bigint      NOT NULL DEFAULT 0,
  actor          text        NOT NULL DEFAULT '',
  -- RegistryEventActorKind: 0 unspecified, 1 anonymous, 2 service account, 3 pull token,
  -- 4 workspace credential, 5 unknown.
  actor_kind     smallint    NOT NULL DEFAULT 0,
  request_addr   text        NOT NULL DEFAULT '',
  request_method text        NOT NULL DEFAULT '',
  user_agent     text        NOT NULL DEFAULT '',
  event_time     timestamptz NOT NULL,
  receive_time   timestamptz NOT NULL,
  CONSTRAINT registry_events_pkey PRIMARY KEY (event_id),
  CONSTRAINT registry_events_event_id_length
    CHECK (event_id <> '' AND char_length(event_id) <= 256),
  CONSTRAINT registry_events_workspace_id_format
    CHECK (workspace_id ~ '^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$'),
  CONSTRAINT registry_events_repository_length CHECK (char_length(repository) <= 1024),
  CONSTRAINT registry_events_action_length CHECK (char_length(action) <= 1024),
  CONSTRAINT registry_events_digest_length CHECK (char_length(digest) <= 1024),
  CONSTRAINT registry_events_tag_length CHECK (char_length(tag) <= 1024),
  CONSTRAINT registry_events_media_type_length CHECK (char_length(media_type) <= 1024),
  CONSTRAINT registry_events_actor_length CHECK (char_length(actor) <= 1024),
  CONSTRAINT registry_events_request_addr_length CHECK (char_length(request_addr) <= 1024),
  CONSTRAINT registry_events_request_method_length CHECK (char_length(request_method) <= 1024),
  CONSTRAINT registry_events_user_agent_length CHECK (char_length(user_agent) <= 1024),
  CONSTRAINT registry_events_actor_kind_known CHECK (actor_kind BETWEEN 0 AND 5)
);

-- ListRegistryEvents: one workspace newest first, keyset-paged on (event_time, event_id).
CREATE INDEX registry_events_workspace_time
  ON registry_events (workspace_id, event_time DESC, event_id);
-- The same for one repository (the most common filter: "who pushed acme/web?").
CREATE INDEX registry_events_repository_time
  ON registry_events (workspace_id, repository, event_time DESC);
-- PruneRegistryEvents: the oldest first, across workspaces.
CREATE INDEX registry_events_event_time ON registry_events (event_time);
