-- Identity: persons with their login factors, login throttling, revoked access tokens.
CREATE TABLE persons (
    id              TEXT PRIMARY KEY NOT NULL,
    username        TEXT NOT NULL UNIQUE,
    given_name      TEXT NOT NULL,
    family_name     TEXT NOT NULL,
    status          TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    totp_secret     TEXT,
    totp_last_step  BIGINT,
    created_at      BIGINT NOT NULL
);

CREATE TABLE login_throttle (
    key           TEXT PRIMARY KEY NOT NULL,
    failures      BIGINT NOT NULL,
    locked_until  BIGINT NOT NULL
);

CREATE TABLE revoked_tokens (
    jti         TEXT PRIMARY KEY NOT NULL,
    expires_at  BIGINT NOT NULL
);
