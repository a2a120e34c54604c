-- Persons known through a trusted external issuer: (issuer, sub) -> person.
CREATE TABLE external_subjects (
    issuer     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    person_id  TEXT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
