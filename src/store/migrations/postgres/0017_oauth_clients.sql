-- OAuth 2.0 beyond the authorization-code flow: pushed authorization requests (RFC 9126),
-- single-use proof ids (DPoP proofs, RFC 9449, and client assertions, RFC 7523), an
-- organisation's system clients for its seal (CSC API v2 §8.5), and their rate windows.

-- A pushed request, kept by the SHA-256 of its request_uri, taken once by its own client
-- before it expires. `request` is the checked request (JSON).
CREATE TABLE oauth_pushed (
    uri_hash    TEXT PRIMARY KEY NOT NULL,
    client_id   TEXT NOT NULL,
    request     TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);

-- Ids accepted once (a hash of kind, owner and id) until the proof or assertion carrying
-- them could no longer be accepted anyway.
CREATE TABLE oauth_seen (
    key         TEXT PRIMARY KEY NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX oauth_seen_expires ON oauth_seen (expires_at);

-- A system client of an organisation: its public key (JWK, with its RFC 7638 thumbprint),
-- its quota of signatures per authorization and its authorizations per minute. `mac` is the
-- integrity tag under the HSM's records key (`hsm::Record::SystemClient`).
CREATE TABLE system_clients (
    client_id              TEXT PRIMARY KEY NOT NULL,
    cvr                    TEXT NOT NULL REFERENCES organisations (cvr),
    jwk                    TEXT NOT NULL,
    jkt                    TEXT NOT NULL,
    max_per_authorization  BIGINT NOT NULL,
    per_minute             BIGINT NOT NULL,
    created_by             TEXT NOT NULL REFERENCES persons (id),
    created_at             BIGINT NOT NULL,
    mac                    BYTEA
);
CREATE INDEX system_clients_cvr ON system_clients (cvr);

-- Authorizations of a system client per minute (window_start: Unix seconds, a multiple of 60),
-- counted by one conditional statement so that several nodes share the limit.
CREATE TABLE client_rate (
    client_id     TEXT NOT NULL,
    window_start  BIGINT NOT NULL,
    used          BIGINT NOT NULL,
    PRIMARY KEY (client_id, window_start)
);
