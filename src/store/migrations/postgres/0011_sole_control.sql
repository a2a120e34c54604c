-- Level-preserving enrolment: a factor that yields High is bound from a High session or with
-- an enrolment code handed over out of band (kept by its SHA-256 only, used once), and counts
-- for High from `high_from` (a delay after an enrolment by code). Passkeys enrolled before
-- this version keep counting (high_from 0).
CREATE TABLE enrolment_codes (
    code_hash   TEXT PRIMARY KEY NOT NULL,
    person_id   TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX enrolment_codes_person ON enrolment_codes (person_id);

ALTER TABLE passkeys ADD COLUMN high_from BIGINT NOT NULL DEFAULT 0;
ALTER TABLE passkeys ADD COLUMN bound_by TEXT NOT NULL DEFAULT 'session';

-- What a SAD has been spent on: its mode (`hash` for signHash, `doc` for signDoc and the
-- native flow, fixed by the first use) and each approved hash, signed at most once.
CREATE TABLE sad_spent (
    sad_id      TEXT NOT NULL,
    item        TEXT NOT NULL,
    value       TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (sad_id, item)
);
CREATE INDEX sad_spent_expiry ON sad_spent (expires_at);

-- Audit checkpoints of version 2 are chained (each signs the previous one's digest in
-- prev_hash) and state the interval they were made at, so that a missing checkpoint is found.
ALTER TABLE audit_checkpoints ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE audit_checkpoints ADD COLUMN every BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_checkpoints ADD COLUMN prev_hash BYTEA;

-- Integrity tags (HMAC-SHA256 under the HSM's records key) of the rows that grant access,
-- bound to their owner and purpose: a database writer cannot move or edit them unnoticed.
ALTER TABLE persons ADD COLUMN password_mac BYTEA;
ALTER TABLE passkeys ADD COLUMN mac BYTEA;
ALTER TABLE credentials ADD COLUMN mac BYTEA;
ALTER TABLE org_members ADD COLUMN mac BYTEA;

-- An authorization code carries the level its login reached (a passkey still in its delay
-- counts for Substantial) and, like an enrolment code, an integrity tag.
ALTER TABLE oauth_codes ADD COLUMN loa TEXT NOT NULL DEFAULT '';
ALTER TABLE oauth_codes ADD COLUMN mac BYTEA;
ALTER TABLE enrolment_codes ADD COLUMN mac BYTEA;
ALTER TABLE org_invitations ADD COLUMN mac BYTEA;
ALTER TABLE external_subjects ADD COLUMN mac BYTEA;
