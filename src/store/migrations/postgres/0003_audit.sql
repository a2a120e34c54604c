-- Audit: the hash-chained log and its signed checkpoints.
CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY NOT NULL,
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    event       TEXT NOT NULL,
    subject     TEXT,
    request_id  TEXT,
    record      BYTEA NOT NULL,
    hash        BYTEA NOT NULL
);
CREATE INDEX audit_log_actor ON audit_log (actor, seq);
CREATE INDEX audit_log_subject ON audit_log (subject, seq);
CREATE INDEX audit_log_request ON audit_log (request_id);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE TABLE audit_checkpoints (
    seq        BIGINT PRIMARY KEY NOT NULL,
    head_hash  BYTEA NOT NULL,
    at         BIGINT NOT NULL,
    key_label  TEXT NOT NULL,
    signature  BYTEA NOT NULL
);
