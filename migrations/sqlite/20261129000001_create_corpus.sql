-- The corpus: one project per database file, its schema, documents split into sentences,
-- entities, candidate pairs, and labels as an append-only event log.

CREATE TABLE project (
    project_id   INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    schema_json  TEXT NOT NULL,
    created_at   TEXT NOT NULL
);

CREATE TABLE entity_type (
    entity_type_id INTEGER PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    color          TEXT
);

CREATE TABLE relation_type (
    relation_type_id INTEGER PRIMARY KEY,
    name             TEXT NOT NULL UNIQUE,
    description      TEXT NOT NULL
);

CREATE TABLE document (
    document_id   INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    text          TEXT NOT NULL,
    content_hash  TEXT NOT NULL,
    source_format TEXT NOT NULL,
    source_path   TEXT,
    -- Relations of the input whose two arguments lay in different sentences: not imported.
    cross_sentence_relations INTEGER NOT NULL DEFAULT 0,
    imported_at   TEXT NOT NULL
);

CREATE TABLE sentence (
    sentence_id  INTEGER PRIMARY KEY,
    document_id  INTEGER NOT NULL REFERENCES document (document_id),
    idx          INTEGER NOT NULL,
    start_char   INTEGER NOT NULL,
    text         TEXT NOT NULL,
    UNIQUE (document_id, idx)
);

CREATE TABLE entity (
    entity_id    INTEGER PRIMARY KEY,
    sentence_id  INTEGER NOT NULL REFERENCES sentence (sentence_id),
    ext_key      TEXT NOT NULL,
    entity_type  TEXT NOT NULL REFERENCES entity_type (name),
    -- Sentence-relative half-open char spans, `start-end;start-end` for discontinuous entities.
    spans        TEXT NOT NULL,
    start_char   INTEGER NOT NULL,
    end_char     INTEGER NOT NULL,
    mention      TEXT NOT NULL
);
CREATE INDEX entity_sentence ON entity (sentence_id);

CREATE TABLE pair (
    pair_id         INTEGER PRIMARY KEY,
    sentence_id     INTEGER NOT NULL REFERENCES sentence (sentence_id),
    head_entity_id  INTEGER NOT NULL REFERENCES entity (entity_id),
    tail_entity_id  INTEGER NOT NULL REFERENCES entity (entity_id),
    category        TEXT NOT NULL,
    UNIQUE (head_entity_id, tail_entity_id)
);
CREATE INDEX pair_sentence ON pair (sentence_id);

CREATE TABLE annotator (
    annotator_id INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL
);

CREATE TABLE model_version (
    model_version_id INTEGER PRIMARY KEY,
    model        TEXT NOT NULL,
    preset       TEXT NOT NULL,
    -- Directory of weights, config.json and vocabulary, relative to the database file.
    dir          TEXT NOT NULL,
    train_size   INTEGER NOT NULL,
    metrics_json TEXT,
    created_at   TEXT NOT NULL
);

CREATE TABLE iteration (
    iteration_id     INTEGER PRIMARY KEY,
    idx              INTEGER NOT NULL UNIQUE,
    status           TEXT NOT NULL CHECK (status IN ('active', 'rejected', 'quarantined', 'rolled_back')),
    model_version_id INTEGER REFERENCES model_version (model_version_id),
    threshold        REAL NOT NULL,
    batch_size       INTEGER NOT NULL,
    admitted         INTEGER NOT NULL,
    metrics_json     TEXT,
    started_at       TEXT NOT NULL,
    finished_at      TEXT
);

-- Labels are never updated: every change appends an event. The current label of a pair is its
-- latest non-gold event; a NULL relation withdraws the label (undo, rollback). Gold events are a
-- separate channel: reference answers hidden from training.
CREATE TABLE label_event (
    label_event_id   INTEGER PRIMARY KEY,
    pair_id          INTEGER NOT NULL REFERENCES pair (pair_id),
    relation         TEXT,
    source           TEXT NOT NULL CHECK (source IN ('seed', 'human', 'gold', 'auto')),
    action           TEXT NOT NULL CHECK (action IN ('import', 'set', 'confirm', 'fix', 'undo', 'revert', 'admit')),
    annotator_id     INTEGER REFERENCES annotator (annotator_id),
    created_at       TEXT NOT NULL,
    model_version_id INTEGER REFERENCES model_version (model_version_id),
    iteration_id     INTEGER REFERENCES iteration (iteration_id),
    probability      REAL,
    threshold        REAL,
    -- Model version and iteration numbers of labels imported from another project's export: kept
    -- as provenance, they reference no row of this database.
    imported_model_version INTEGER,
    imported_iteration     INTEGER
);
CREATE INDEX label_event_pair ON label_event (pair_id, label_event_id);

CREATE VIEW current_label AS
SELECT e.*
FROM label_event e
WHERE e.source <> 'gold'
  AND e.relation IS NOT NULL
  AND e.label_event_id = (
      SELECT MAX(x.label_event_id) FROM label_event x
      WHERE x.pair_id = e.pair_id AND x.source <> 'gold');

CREATE VIEW gold_label AS
SELECT e.*
FROM label_event e
WHERE e.source = 'gold'
  AND e.relation IS NOT NULL
  AND e.label_event_id = (
      SELECT MAX(x.label_event_id) FROM label_event x
      WHERE x.pair_id = e.pair_id AND x.source = 'gold');
