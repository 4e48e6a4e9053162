-- registry-auth schema v8 (issue 17): a stored secret is bound to its endpoint. The ciphertext's
-- associated data now names the endpoint too (type, and the settings that say where the secret
-- goes or whose it is); `secret_ad_version` records which associated data a row's ciphertext
-- was encrypted under: 1 = the row's identity only (every row written before this migration),
-- 2 = identity and endpoint. `registry-authd keys reencrypt` moves version-1 rows to 2 online;
-- a new secret is always written as 2. Nothing ever moves a row back to 1.
ALTER TABLE registry_configs ADD COLUMN secret_ad_version smallint NOT NULL DEFAULT 1
    CONSTRAINT registry_configs_secret_ad_version_known CHECK (secret_ad_version IN (1, 2));
