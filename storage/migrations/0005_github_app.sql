-- registry-auth schema v5: GITHUB_APP configurations. A GitHub App installation whose
-- short-lived access tokens GetCredentials hands out; the secret is the App's private key
-- (encrypted like every secret). Repositories and permissions optionally narrow the tokens:
-- repository names without the owner, permissions as 'name=level'; both sorted by the service.
ALTER TABLE registry_configs DROP CONSTRAINT registry_configs_type_known;
ALTER TABLE registry_configs ADD CONSTRAINT registry_configs_type_known
  CHECK (type IN ('GHCR', 'ACR', 'DISTRIBUTION', 'GENERIC', 'GITHUB_APP'));

ALTER TABLE registry_configs
  ADD COLUMN app_id text NOT NULL DEFAULT '',
  ADD COLUMN installation_id bigint NOT NULL DEFAULT 0,
  ADD COLUMN app_repositories text[] NOT NULL DEFAULT '{}',
  ADD COLUMN app_permissions text[] NOT NULL DEFAULT '{}';

-- The App fields belong to GITHUB_APP configurations, which need an App and an installation.
-- The list checks join the elements with ',' (which no element may hold: splitting the joined
-- text must give back as many elements).
ALTER TABLE registry_configs ADD CONSTRAINT registry_configs_github_app_fields CHECK (
  CASE WHEN type = 'GITHUB_APP' THEN app_id <> '' AND installation_id > 0
       ELSE app_id = '' AND installation_id = 0 AND cardinality(app_repositories) = 0
            AND cardinality(app_permissions) = 0
  END);
ALTER TABLE registry_configs ADD CONSTRAINT registry_configs_app_repositories_format CHECK (
  cardinality(app_repositories) <= 500 AND
  cardinality(string_to_array(array_to_string(app_repositories, ','), ',')) =
    cardinality(app_repositories) AND
  array_to_string(app_repositories, ',') ~ '^([A-Za-z0-9._-]{1,100}(,(?!$)|$))*$');
ALTER TABLE registry_configs ADD CONSTRAINT registry_configs_app_permissions_format CHECK (
  cardinality(app_permissions) <= 50 AND
  cardinality(string_to_array(array_to_string(app_permissions, ','), ',')) =
    cardinality(app_permissions) AND
  array_to_string(app_permissions, ',') ~ '^([a-z][a-z0-9_]{0,63}=(read|write|admin)(,(?!$)|$))*$');
