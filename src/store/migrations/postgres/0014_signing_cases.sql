-- Signing cases: a document to be signed on behalf of an organisation by several members
-- until its rule of representation is met. For a PDF the case keeps the current revision
-- (each signature is an incremental revision of the same file) and a signature is recorded
-- only over the revision it was made on (conditional on sha256); for CAdES and XAdES the
-- document stays as it is and each signature is kept beside it (parallel signatures).
CREATE TABLE signing_cases (
    id            TEXT PRIMARY KEY NOT NULL,
    cvr           TEXT NOT NULL REFERENCES organisations (cvr),
    title         TEXT NOT NULL,
    format        TEXT NOT NULL,
    rule          TEXT NOT NULL,
    opened_by     TEXT NOT NULL REFERENCES persons (id),
    content       BYTEA NOT NULL,
    sha256        TEXT NOT NULL,
    status        TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    completed_at  BIGINT
);
CREATE INDEX signing_cases_cvr ON signing_cases (cvr);

-- Who signed a case, in which role, and (CAdES, XAdES) the signature; one per person.
CREATE TABLE case_signatures (
    case_id    TEXT NOT NULL REFERENCES signing_cases (id),
    person     TEXT NOT NULL REFERENCES persons (id),
    name       TEXT NOT NULL,
    role       TEXT NOT NULL,
    signed_at  BIGINT NOT NULL,
    signature  BYTEA,
    PRIMARY KEY (case_id, person)
);

-- A document uploaded to sign a case (its signed result goes back into the case).
ALTER TABLE documents ADD COLUMN case_id TEXT;
