-- Approval on the person's phone (CSC credentials/authorize answered 202, then
-- credentials/authorizeCheck): what a relying party asked a person to approve, bound to the
-- access token that asked (token_id) and the level of that login, until the person approves it
-- with a passkey over the hashes or refuses; then the SAD until the relying party collects it,
-- once. `hashes` is JSON: each hash (base64) with its label. `status`: pending, approved,
-- refused, expired, collected; every change is one statement conditional on the status.
CREATE TABLE approval_requests (
    id              TEXT PRIMARY KEY NOT NULL,
    person          TEXT NOT NULL REFERENCES persons (id),
    token_id        TEXT NOT NULL,
    loa             TEXT NOT NULL,
    amr             TEXT NOT NULL,
    credential      TEXT NOT NULL,
    hash_algorithm  TEXT NOT NULL,
    hashes          TEXT NOT NULL,
    num_signatures  BIGINT NOT NULL,
    description     TEXT,
    status          TEXT NOT NULL,
    sad             TEXT,
    sad_expires_at  BIGINT,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    decided_at      BIGINT
);
CREATE INDEX approval_requests_person ON approval_requests (person, status);
CREATE INDEX approval_requests_expiry ON approval_requests (expires_at);
