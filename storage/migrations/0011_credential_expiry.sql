-- registry-auth schema v11 (issue 19): when a registry configuration's credential expires, as
-- its last connection test found it (GitHub's token-expiration header for a PAT, the
-- installation token's expires_at for a GitHub App); NULL when it does not expire or nobody
-- knows. Written with the validation result (RecordValidation), reset with it.
ALTER TABLE registry_configs ADD COLUMN credential_expire_time timestamptz;
-- Scheduled revalidation pages through the configurations validated longest ago, never
-- validated ones first (ListConfigsToRevalidate).
CREATE INDEX registry_configs_revalidation_idx
  ON registry_configs ((COALESCE(validated_at, '-infinity'::timestamptz)), workspace_id, id);
