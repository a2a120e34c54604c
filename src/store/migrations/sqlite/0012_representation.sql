-- Businesses as they really sign: an organisation's rule of representation, the roles its
-- members hold, anonymous members, and members' requests for a right or a role.

-- An anonymous member is known to the organisation's administrators, but their employee
-- certificate names only the pseudonym (a UUID given when the membership was made anonymous).
ALTER TABLE org_members ADD COLUMN anonymous BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE org_members ADD COLUMN pseudonym TEXT;

-- An invitation may make the member anonymous and give roles (space-separated, sorted).
ALTER TABLE org_invitations ADD COLUMN anonymous BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE org_invitations ADD COLUMN roles TEXT NOT NULL DEFAULT '';

-- The roles a member holds (`director`, `board`, ...), each with an integrity tag; they go
-- with the membership.
CREATE TABLE org_roles (
    cvr         TEXT NOT NULL,
    person      TEXT NOT NULL,
    role        TEXT NOT NULL,
    granted_at  BIGINT NOT NULL,
    mac         BLOB,
    PRIMARY KEY (cvr, person, role),
    FOREIGN KEY (cvr, person) REFERENCES org_members (cvr, person) ON DELETE CASCADE
);
CREATE INDEX org_roles_person ON org_roles (person);

-- An organisation's rule of representation (canonical text), with an integrity tag.
CREATE TABLE org_rules (
    cvr     TEXT PRIMARY KEY NOT NULL REFERENCES organisations (cvr),
    rule    TEXT NOT NULL,
    set_at  BIGINT NOT NULL,
    mac     BLOB
);

-- A member's pending request for a right or a role (`kind` is `right` or `role`); it grants
-- nothing until an administrator approves it, and goes with the membership.
CREATE TABLE org_requests (
    id          TEXT PRIMARY KEY NOT NULL,
    cvr         TEXT NOT NULL,
    person      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    FOREIGN KEY (cvr, person) REFERENCES org_members (cvr, person) ON DELETE CASCADE
);
CREATE UNIQUE INDEX org_requests_once ON org_requests (cvr, person, kind, name);
