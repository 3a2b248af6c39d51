-- Model weights live in the project: every file of a trained model version's folder (weights,
-- config, vocabulary, metadata; not its training checkpoint), so that the `.db` file alone is the
-- whole project and a team's clients all load the same model. The folder beside the database is
-- a cache that is written back from here when it is missing.
CREATE TABLE model_file (
    model_version_id INTEGER NOT NULL REFERENCES model_version (model_version_id),
    name             TEXT NOT NULL,
    bytes            BLOB NOT NULL,
    PRIMARY KEY (model_version_id, name)
);
