-- Asynchronous signing operations (CSC v2 operationMode "A"): accepted as 'pending', then
-- 'done' or 'failed' with the body the caller polls for (signatures/signPolling, only by the
-- person who asked) until expires_at. A pending operation whose deadline has passed was
-- interrupted (its node stopped): it no longer counts against the person's quota and is
-- answered as interrupted until it expires.
CREATE TABLE csc_operations (
    id           TEXT PRIMARY KEY NOT NULL,
    person       TEXT NOT NULL,
    kind         TEXT NOT NULL,
    status       TEXT NOT NULL,
    result       BYTEA,
    created_at   BIGINT NOT NULL,
    deadline_at  BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX csc_operations_person ON csc_operations (person, status);
CREATE INDEX csc_operations_expiry ON csc_operations (expires_at);
