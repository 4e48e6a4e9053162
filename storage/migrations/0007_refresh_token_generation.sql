-- registry-auth schema v7: a refresh token is bound to the generation of its subject's secret
-- (model RefreshToken::subject_generation): the digest of the subject's secret hash when the
-- token was issued. /token refuses a refresh whose subject's current secret has another digest,
-- so a regenerated secret, or an account deleted and re-created under the same id, ends the
-- refresh tokens of the old one even when a replica with a stale cache minted them late.
ALTER TABLE refresh_tokens ADD COLUMN subject_generation bytea NOT NULL DEFAULT ''::bytea;
ALTER TABLE refresh_tokens ADD CONSTRAINT refresh_tokens_subject_generation_length
  CHECK (octet_length(subject_generation) IN (0, 32));

-- Existing tokens are bound to their subject's current secret only when they were issued
-- after it was (re)generated; the others keep '' and are refused (their clients log in again).
UPDATE refresh_tokens AS r SET subject_generation = a.secret_hash
  FROM service_accounts AS a
  WHERE r.subject = a.workspace_id || '+' || a.id AND r.workspace_id = a.workspace_id
    AND r.create_time >= a.create_time
    AND r.create_time >= a.secret_rotate_time;
UPDATE refresh_tokens AS r SET subject_generation = p.secret_hash
  FROM pull_tokens AS p
  WHERE r.subject = 'pull+' || p.id;
