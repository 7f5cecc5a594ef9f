-- Cluster mode: failed logins are counted here, so that login_max_failures per username and per
-- client address within login_window_s holds across every node (a single node counts them in
-- memory and leaves this table empty). Each failure is a row; rows older than the window are
-- deleted by the next failure.
CREATE TABLE login_failures (
  key       text NOT NULL,
  failed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_by_key ON login_failures (key, failed_at);
CREATE INDEX login_failures_by_time ON login_failures (failed_at);
