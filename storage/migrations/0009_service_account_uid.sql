-- registry-auth schema v9 (issue 17): every service account has a uid, a random identifier
-- given at creation and never reused. A right the operator grants to one account by
-- configuration (`--token_catalog_accounts=acme+ops@<uid>`) names the uid, so an account or
-- workspace deleted and re-created under the same names does not inherit it. Existing rows
-- get a fresh uid here; new rows get theirs from the service.
ALTER TABLE service_accounts ADD COLUMN uid uuid NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE service_accounts ADD CONSTRAINT service_accounts_uid_key UNIQUE (uid);
