-- registry-auth schema v6: apps whose repository anyone may pull. The token realm grants
-- `repository:<workspace>/<app>:pull` to every requester, anonymous ones included, for an app
-- with public_pull (model App::public_pull). Push and delete stay with the workspace's grants.
ALTER TABLE apps ADD COLUMN public_pull boolean NOT NULL DEFAULT false;
