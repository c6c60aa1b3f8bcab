-- The customer's language (POST /v1/links `language`), as a Qualtrics language code such as FR,
-- ES-ES or ZH-S: the survey link carries it as Q_Language, and the tap's own pages are shown in
-- it. Not personal data on its own (like channel), so retention and erasure leave it, and the
-- "no longer available" page of an erased invite still speaks the customer's language.
-- NULL for invites issued without one, and for every invite issued before this migration.
ALTER TABLE invites ADD COLUMN language TEXT;
