-- PAdES options of an uploaded document (JSON: name, reason, location, visible field,
-- certification), and its SHA-256 kept after the content itself is dropped at signing.
ALTER TABLE documents ADD COLUMN options TEXT;
ALTER TABLE documents ADD COLUMN sha256 TEXT;
