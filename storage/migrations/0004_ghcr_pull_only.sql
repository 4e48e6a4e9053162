-- registry-auth schema v4: GHCR configurations used only to pull. TestConnection then asks the
-- PAT for read:packages instead of write:packages (model RegistryConfig::pull_only).
ALTER TABLE registry_configs ADD COLUMN pull_only boolean NOT NULL DEFAULT false;
ALTER TABLE registry_configs ADD CONSTRAINT registry_configs_pull_only_ghcr
  CHECK (NOT pull_only OR type = 'GHCR');
