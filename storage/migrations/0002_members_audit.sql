-- registry-auth schema v2: workspace members and the append-only audit trail.
-- Mirrors Member and AuditEvent in model/model.h. Keys use the "C" collation so paging and the
-- resource-prefix filter order by bytes whatever the database locale.

CREATE TABLE workspace_members (
  workspace_id text        COLLATE "C" NOT NULL,
  -- The front end's opaque user id: 1..256 printable ASCII characters, no spaces. (PostgreSQL
  -- regex bounds stop at 255, hence the separate length test.)
  user_id      text        COLLATE "C" NOT NULL,
  role         text        NOT NULL,
  status       text        NOT NULL,
  create_time  timestamptz NOT NULL,
  update_time  timestamptz NOT NULL,
  version      bigint      NOT NULL,
  CONSTRAINT workspace_members_pkey PRIMARY KEY (workspace_id, user_id),
  -- Members go with their workspace, with or without DeleteWorkspace's `force`.
  CONSTRAINT workspace_members_workspace_fkey FOREIGN KEY (workspace_id)
    REFERENCES workspaces (id) ON DELETE CASCADE,
  CONSTRAINT workspace_members_user_id_format
    CHECK (user_id ~ '^[\x21-\x7e]+$' AND octet_length(user_id) <= 256),
  CONSTRAINT workspace_members_role_known CHECK (role IN ('OWNER', 'ADMIN', 'MEMBER')),
  CONSTRAINT workspace_members_status_known CHECK (status IN ('ACTIVE', 'INVITED', 'REMOVED')),
  CONSTRAINT workspace_members_version_positive CHECK (version >= 1)
);

-- ListWorkspacesOfUser: one user's memberships in workspace order.
CREATE INDEX workspace_members_user ON workspace_members (user_id, workspace_id);

-- The audit trail. No foreign keys: rows outlive the resources they name. `id` is assigned by
-- the database only (GENERATED ALWAYS), so rows cannot be inserted out of order.
-- Length limits, in characters: `detail` 2048, every other text 1024. The stores truncate
-- over-long detail, peer and request_id (free text from outside) and refuse the rest
-- (identities and names, which a truncation would falsify).
CREATE TABLE audit_events (
  id           bigint      GENERATED ALWAYS AS IDENTITY,
  time         timestamptz NOT NULL,
  caller       text        NOT NULL DEFAULT '',
  on_behalf_of text        NOT NULL DEFAULT '',
  action       text        NOT NULL DEFAULT '',
  resource     text        COLLATE "C" NOT NULL DEFAULT '',
  outcome      text        NOT NULL DEFAULT '',
  detail       text        NOT NULL DEFAULT '',
  request_id   text        NOT NULL DEFAULT '',
  peer         text        NOT NULL DEFAULT '',
  CONSTRAINT audit_events_pkey PRIMARY KEY (id),
  CONSTRAINT audit_events_caller_length CHECK (char_length(caller) <= 1024),
  CONSTRAINT audit_events_on_behalf_of_length CHECK (char_length(on_behalf_of) <= 1024),
  CONSTRAINT audit_events_action_length CHECK (char_length(action) <= 1024),
  CONSTRAINT audit_events_resource_length CHECK (char_length(resource) <= 1024),
  CONSTRAINT audit_events_outcome_length CHECK (char_length(outcome) <= 1024),
  CONSTRAINT audit_events_detail_length CHECK (char_length(detail) <= 2048),
  CONSTRAINT audit_events_request_id_length CHECK (char_length(request_id) <= 1024),
  CONSTRAINT audit_events_peer_length CHECK (char_length(peer) <= 1024)
);

-- ListAuditEvents pages newest first (ORDER BY id DESC, id < before) and is planned with the
-- actual filter values (see postgres_store.cc). The primary key, read backwards, serves the
-- unfiltered list and filters that match most rows; an exact resource or a rare caller is read
-- newest first straight from (resource, id) / (caller, id); a resource prefix ("workspaces/acme"
-- and everything under "workspaces/acme/") is a range of (resource, id) and a top-N sort of the
-- rows it matches; a narrow time window is a range of the time index and a sort.
CREATE INDEX audit_events_resource ON audit_events (resource, id);
CREATE INDEX audit_events_caller ON audit_events (caller, id);
CREATE INDEX audit_events_time ON audit_events (time);

-- Append-only, enforced by the database: any UPDATE, DELETE or TRUNCATE statement fails, even
-- one that matches no row. (The table owner can still drop these triggers, and
-- session_replication_role = replica skips them: run the service as a role that does not own
-- the schema where that matters.)
CREATE FUNCTION audit_events_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
    USING ERRCODE = 'prohibited_sql_statement_attempted';
END;
$fn$;

CREATE TRIGGER audit_events_no_update_delete
  BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();

CREATE TRIGGER audit_events_no_truncate
  BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();
