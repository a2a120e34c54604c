-- PKI: every certificate the CA issues, its revocation state, and CRL numbers.
CREATE TABLE certificates (
    serial             TEXT PRIMARY KEY NOT NULL,
    issuer             TEXT NOT NULL,
    role               TEXT NOT NULL,
    subject            TEXT NOT NULL,
    der                BLOB NOT NULL,
    not_before         BIGINT NOT NULL,
    not_after          BIGINT NOT NULL,
    revoked_at         BIGINT,
    revocation_reason  INTEGER,
    created_at         BIGINT NOT NULL
);
CREATE INDEX certificates_role ON certificates (role, created_at);
CREATE INDEX certificates_issuer_revoked ON certificates (issuer, revoked_at);

CREATE TABLE crl_numbers (
    issuer  TEXT PRIMARY KEY NOT NULL,
    number  BIGINT NOT NULL
);
