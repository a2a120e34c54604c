-- Organisations by CVR number, their members with rights, invitations, and credentials that
-- act for an organisation (an employee's, or the organisation's seal).
CREATE TABLE organisations (
    cvr         TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    status      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE org_members (
    cvr             TEXT NOT NULL REFERENCES organisations (cvr),
    person          TEXT NOT NULL REFERENCES persons (id),
    admin           BOOLEAN NOT NULL,
    sign_on_behalf  BOOLEAN NOT NULL,
    use_seal        BOOLEAN NOT NULL,
    joined_at       BIGINT NOT NULL,
    PRIMARY KEY (cvr, person)
);
CREATE INDEX org_members_person ON org_members (person);

-- An invitation is kept by the SHA-256 of its code only; bound to one person or to whoever
-- holds the code; used once.
CREATE TABLE org_invitations (
    id              TEXT PRIMARY KEY NOT NULL,
    cvr             TEXT NOT NULL REFERENCES organisations (cvr),
    person          TEXT,
    admin           BOOLEAN NOT NULL,
    sign_on_behalf  BOOLEAN NOT NULL,
    use_seal        BOOLEAN NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL
);

-- `personal`, `employee` (for `cvr`) or `seal` (of `cvr`; `person` is the administrator who
-- made it).
ALTER TABLE credentials ADD COLUMN kind TEXT NOT NULL DEFAULT 'personal';
ALTER TABLE credentials ADD COLUMN cvr TEXT;
DROP INDEX credentials_live;
CREATE UNIQUE INDEX credentials_live ON credentials (person, policy, kind, COALESCE(cvr, ''))
    WHERE status <> 'revoked';
CREATE UNIQUE INDEX credentials_seal ON credentials (cvr) WHERE kind = 'seal' AND status <> 'revoked';
