-- Foundation: settings and wrapped user keys.
CREATE TABLE settings (
    name        TEXT PRIMARY KEY NOT NULL,
    value       TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE wrapped_keys (
    id          TEXT PRIMARY KEY NOT NULL,
    algorithm   TEXT NOT NULL,
    blob        BLOB NOT NULL,
    public_key  BLOB NOT NULL,
    created_at  BIGINT NOT NULL
);
