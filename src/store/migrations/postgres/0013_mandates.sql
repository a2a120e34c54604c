-- Powers of attorney: an organisation (the grantor) lets another organisation, or a named
-- person, (the grantee: exactly one of grantee_cvr and grantee_person) act for it within a
-- scope (`sign_on_behalf`, `use_seal` or a theme) from valid_from until valid_until (Unix
-- seconds). `state` is `offered`, `requested`, `active`, `refused` or `revoked`; it changes
-- by conditional updates from the state read, so two administrators cannot both move it.
-- `mac` is the integrity tag under the HSM's records key (`hsm::Record::Mandate`).
CREATE TABLE mandates (
    id              TEXT PRIMARY KEY NOT NULL,
    grantor_cvr     TEXT NOT NULL REFERENCES organisations (cvr),
    grantee_cvr     TEXT REFERENCES organisations (cvr),
    grantee_person  TEXT REFERENCES persons (id),
    scope           TEXT NOT NULL,
    valid_from      BIGINT NOT NULL,
    valid_until     BIGINT NOT NULL,
    state           TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    mac             BYTEA,
    CHECK ((grantee_cvr IS NULL) <> (grantee_person IS NULL)),
    CHECK (valid_from < valid_until)
);
CREATE INDEX mandates_grantor ON mandates (grantor_cvr);
CREATE INDEX mandates_grantee_cvr ON mandates (grantee_cvr);
CREATE INDEX mandates_grantee_person ON mandates (grantee_person);

-- A mandate held by an organisation, given by its administrators to one of its members
-- (`hsm::Record::MandateAssignment`). A person grantee needs none.
CREATE TABLE mandate_assignments (
    mandate      TEXT NOT NULL REFERENCES mandates (id),
    person       TEXT NOT NULL REFERENCES persons (id),
    assigned_at  BIGINT NOT NULL,
    mac          BYTEA,
    PRIMARY KEY (mandate, person)
);
CREATE INDEX mandate_assignments_person ON mandate_assignments (person);
