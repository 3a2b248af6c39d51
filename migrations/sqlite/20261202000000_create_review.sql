-- Semantic-drift review: each iteration keeps the drift metrics computed when its labels were
-- admitted, reviewers' audit judgements are rows, and a reviewed iteration records the decision.
-- Additive only.

-- JSON (emrel_core::drift::IterationDrift): admitted mix, JSD, confidence, centroid similarity,
-- churn, schema violations, F1 per relation, calibration. NULL for iterations admitted before
-- this migration or not finished yet.
ALTER TABLE iteration ADD COLUMN drift_json TEXT;
-- The alarms raised at admission (JSON array), with the thresholds in force then.
ALTER TABLE iteration ADD COLUMN alarms_json TEXT;
-- 'accepted' once a reviewer accepted the iteration (its status stays 'active').
ALTER TABLE iteration ADD COLUMN review TEXT CHECK (review IN ('accepted'));

-- One judgement of one automatic label in an audit, made with the model's score hidden.
-- The stratum (relation × confidence bin) is stored as drawn, so estimates stay reproducible
-- after labels change.
CREATE TABLE audit_judgement (
    audit_judgement_id INTEGER PRIMARY KEY,
    iteration_id       INTEGER NOT NULL REFERENCES iteration (iteration_id),
    pair_id            INTEGER NOT NULL REFERENCES pair (pair_id),
    -- The automatic label that was judged.
    relation           TEXT NOT NULL,
    probability        REAL NOT NULL,
    confidence_bin     INTEGER NOT NULL,
    correct            INTEGER NOT NULL CHECK (correct IN (0, 1)),
    -- The reviewer's relation when the label was wrong (it becomes a human label).
    right_relation     TEXT,
    annotator_id       INTEGER REFERENCES annotator (annotator_id),
    created_at         TEXT NOT NULL,
    UNIQUE (iteration_id, pair_id)
);
CREATE INDEX audit_judgement_iteration ON audit_judgement (iteration_id);
