-- Credential lifecycle (CSC credentials/delete): when a credential was deleted. Its wrapped key
-- is overwritten at that moment (the key is destroyed); the row stays as a tombstone, named by
-- the audit records and counted against the new credentials a person may make in a day.
ALTER TABLE credentials ADD COLUMN deleted_at BIGINT;
