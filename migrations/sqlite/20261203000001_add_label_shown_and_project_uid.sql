-- What the annotator was shown when they labeled: the suggested relation (its model version and
-- probability are the event's model_version_id and probability). NULL when nothing was shown.
ALTER TABLE label_event ADD COLUMN shown_relation TEXT;

-- A project's identity, unique across databases: the model folders and the desktop's writes are
-- keyed by it, so a database recreated at the same path never takes another project's files or
-- labels. Existing projects get one now.
ALTER TABLE project ADD COLUMN uid TEXT;
UPDATE project SET uid = lower(hex(randomblob(16))) WHERE uid IS NULL;
