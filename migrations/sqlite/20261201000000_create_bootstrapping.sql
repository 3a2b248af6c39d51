-- Bootstrapping state: model versions get a lifecycle and their training parameters, the current
-- model is an append-only promotion log, stored scores order the annotation queues, the gold split
-- is frozen once, skips and undos are recorded, and background jobs are rows. Additive only: an
-- older binary that opens this file still finds every table and column it knows.

-- Background work (training, scoring, bootstrapping, simulation) as data.
CREATE TABLE job (
    job_id          INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,
    status          TEXT NOT NULL
        CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled', 'interrupted')),
    params_json     TEXT NOT NULL,
    progress_json   TEXT,
    checkpoint_json TEXT,
    message         TEXT,
    attempts        INTEGER NOT NULL DEFAULT 1,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    finished_at     TEXT
);
CREATE INDEX job_status ON job (status);

-- A model version is inserted when its training starts ('training'), so that an interrupted run
-- can find its directory and resume; it becomes 'ready' or 'failed'.
ALTER TABLE model_version ADD COLUMN status TEXT NOT NULL DEFAULT 'ready'
    CHECK (status IN ('training', 'ready', 'failed'));
-- JSON: model, preset, epochs, seed, device, and the label snapshot (last label event id) it
-- trains on, so that a resumed run sees the same data.
ALTER TABLE model_version ADD COLUMN params_json TEXT;
ALTER TABLE model_version ADD COLUMN seconds REAL;
ALTER TABLE model_version ADD COLUMN job_id INTEGER REFERENCES job (job_id);

-- The model that was current when an iteration started: it scored the pool and admitted the
-- iteration's labels, and it becomes current again when the iteration is rolled back.
ALTER TABLE iteration ADD COLUMN base_model_version_id INTEGER REFERENCES model_version (model_version_id);
ALTER TABLE iteration ADD COLUMN per_relation_cap INTEGER;
ALTER TABLE iteration ADD COLUMN job_id INTEGER REFERENCES job (job_id);

-- An undo event names the event it undoes, so that repeated undos walk further back.
ALTER TABLE label_event ADD COLUMN undoes_event_id INTEGER REFERENCES label_event (label_event_id);
CREATE INDEX label_event_annotator ON label_event (annotator_id, label_event_id);
CREATE INDEX label_event_iteration ON label_event (iteration_id);
CREATE INDEX label_event_undoes ON label_event (undoes_event_id);

-- The current model is the latest promotion; rollback appends a promotion of an older version.
CREATE TABLE model_promotion (
    model_promotion_id INTEGER PRIMARY KEY,
    model_version_id   INTEGER NOT NULL REFERENCES model_version (model_version_id),
    reason             TEXT NOT NULL,
    created_at         TEXT NOT NULL
);

-- One row per (pair, model version): the stored prediction the queues are ordered by.
CREATE TABLE pair_score (
    pair_id          INTEGER NOT NULL REFERENCES pair (pair_id),
    model_version_id INTEGER NOT NULL REFERENCES model_version (model_version_id),
    top_relation     TEXT NOT NULL,
    top_probability  REAL NOT NULL,
    -- Top probability minus the second; small means uncertain.
    margin           REAL NOT NULL,
    -- Shannon entropy (nats) of the probability vector; large means uncertain.
    entropy          REAL NOT NULL,
    -- Whether the schema allows `top_relation` on this pair's entity types.
    top_valid        INTEGER NOT NULL,
    -- JSON array in the order of the version's classes (`none` first, then schema order).
    probabilities    TEXT NOT NULL,
    PRIMARY KEY (model_version_id, pair_id)
);
CREATE INDEX pair_score_margin ON pair_score (model_version_id, margin);
CREATE INDEX pair_score_top ON pair_score (model_version_id, top_probability);

-- Human labels frozen for evaluation on the first training: never trained on.
CREATE TABLE gold_split (
    pair_id    INTEGER PRIMARY KEY REFERENCES pair (pair_id),
    created_at TEXT NOT NULL
);

-- Project-wide settings (bootstrapping thresholds, gold-split share, freeze time) as JSON values.
CREATE TABLE setting (
    key        TEXT PRIMARY KEY,
    value_json TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- A skipped pair goes to the end of that annotator's queues.
CREATE TABLE skip (
    skip_id      INTEGER PRIMARY KEY,
    pair_id      INTEGER NOT NULL REFERENCES pair (pair_id),
    annotator_id INTEGER NOT NULL REFERENCES annotator (annotator_id),
    created_at   TEXT NOT NULL
);
CREATE INDEX skip_annotator ON skip (annotator_id, pair_id);
