-- Passkeys (WebAuthn credentials) and pending ceremony states (stateless nodes).
CREATE TABLE passkeys (
    credential_id  TEXT PRIMARY KEY NOT NULL,
    person_id      TEXT NOT NULL,
    passkey        TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);
CREATE INDEX passkeys_person ON passkeys (person_id);

CREATE TABLE webauthn_states (
    id          TEXT PRIMARY KEY NOT NULL,
    person_id   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    state       TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
