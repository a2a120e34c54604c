-- Signing credentials: a user key pair wrapped under the HSM master key, its certificate, the
-- signature policy it serves, and its state. Nothing per-user stays in the HSM.
CREATE TABLE credentials (
    id           TEXT PRIMARY KEY NOT NULL,
    person       TEXT NOT NULL REFERENCES persons (id),
    policy       TEXT NOT NULL,
    algorithm    TEXT NOT NULL,
    wrapped      BLOB NOT NULL,
    serial       TEXT NOT NULL,
    certificate  BLOB NOT NULL,
    status       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX credentials_person ON credentials (person, created_at);
-- One live credential per person and policy (two nodes enrolling at once cannot both win).
CREATE UNIQUE INDEX credentials_live ON credentials (person, policy) WHERE status <> 'revoked';

-- Uses of signature activation data: one row per SAD that was used, the count only growing up
-- to the maximum the SAD allows (a conditional upsert), so a SAD is never used more often than
-- it says, whichever node serves the request.
CREATE TABLE sad_uses (
    id          TEXT PRIMARY KEY NOT NULL,
    used        BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX sad_uses_expiry ON sad_uses (expires_at);

-- Rich authorization requests (RFC 9396): what the person is asked to approve on the login
-- page (CSC credential entries with document digests), carried into the code and the token.
ALTER TABLE oauth_requests ADD COLUMN authorization_details TEXT;
ALTER TABLE oauth_codes ADD COLUMN authorization_details TEXT;

-- Whole documents in the native signing flow: uploaded, authorized by their digest, signed,
-- downloaded by their owner; kept until they expire.
CREATE TABLE documents (
    id          TEXT PRIMARY KEY NOT NULL,
    person      TEXT NOT NULL,
    format      TEXT NOT NULL,
    level       TEXT NOT NULL,
    content     BLOB NOT NULL,
    signed      BLOB,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX documents_expiry ON documents (expires_at);
