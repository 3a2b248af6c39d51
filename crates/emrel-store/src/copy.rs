//! Copying a whole project between stores (`emrel copy`): every table, row by row with its ids,
//! in an order that satisfies the foreign keys, and the model folders. The column lists below
//! name every column of the current schema (both backends' migrations).

use serde::Serialize;

/// How a column is read and written on both backends.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    Int,
    Real,
    Text,
    Bool,
    Blob,
}

/// One table: its name, its id column (for the sequences of PostgreSQL), its columns.
pub(crate) struct Table {
    pub(crate) name: &'static str,
    pub(crate) id: Option<&'static str>,
    pub(crate) columns: &'static [(&'static str, Kind)],
}

/// One stored value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Int(Option<i64>),
    Real(Option<f64>),
    Text(Option<String>),
    Bool(Option<bool>),
    Blob(Option<Vec<u8>>),
}

use Kind::{Blob, Bool, Int, Real, Text};

/// Every table, parents before children.
pub(crate) const TABLES: &[Table] = &[
    Table {
        name: "project",
        id: Some("project_id"),
        columns: &[
            ("project_id", Int),
            ("name", Text),
            ("schema_json", Text),
            ("created_at", Text),
            ("uid", Text),
        ],
    },
    Table {
        name: "entity_type",
        id: Some("entity_type_id"),
        columns: &[("entity_type_id", Int), ("name", Text), ("color", Text)],
    },
    Table {
        name: "relation_type",
        id: Some("relation_type_id"),
        columns: &[("relation_type_id", Int), ("name", Text), ("description", Text)],
    },
    Table {
        name: "document",
        id: Some("document_id"),
        columns: &[
            ("document_id", Int),
            ("name", Text),
            ("text", Text),
            ("content_hash", Text),
            ("source_format", Text),
            ("source_path", Text),
            ("cross_sentence_relations", Int),
            ("imported_at", Text),
        ],
    },
    Table {
        name: "sentence",
        id: Some("sentence_id"),
        columns: &[
            ("sentence_id", Int),
            ("document_id", Int),
            ("idx", Int),
            ("start_char", Int),
            ("text", Text),
        ],
    },
    Table {
        name: "entity",
        id: Some("entity_id"),
        columns: &[
            ("entity_id", Int),
            ("sentence_id", Int),
            ("ext_key", Text),
            ("entity_type", Text),
            ("spans", Text),
            ("start_char", Int),
            ("end_char", Int),
            ("mention", Text),
        ],
    },
    Table {
        name: "pair",
        id: Some("pair_id"),
        columns: &[
            ("pair_id", Int),
            ("sentence_id", Int),
            ("head_entity_id", Int),
            ("tail_entity_id", Int),
            ("category", Text),
        ],
    },
    Table {
        name: "annotator",
        id: Some("annotator_id"),
        columns: &[("annotator_id", Int), ("name", Text), ("created_at", Text)],
    },
    Table {
        name: "job",
        id: Some("job_id"),
        columns: &[
            ("job_id", Int),
            ("kind", Text),
            ("status", Text),
            ("params_json", Text),
            ("progress_json", Text),
            ("checkpoint_json", Text),
            ("message", Text),
            ("attempts", Int),
            ("created_at", Text),
            ("updated_at", Text),
            ("finished_at", Text),
        ],
    },
    Table {
        name: "model_version",
        id: Some("model_version_id"),
        columns: &[
            ("model_version_id", Int),
            ("model", Text),
            ("preset", Text),
            ("dir", Text),
            ("train_size", Int),
            ("metrics_json", Text),
            ("created_at", Text),
            ("status", Text),
            ("params_json", Text),
            ("seconds", Real),
            ("job_id", Int),
        ],
    },
    Table {
        name: "iteration",
        id: Some("iteration_id"),
        columns: &[
            ("iteration_id", Int),
            ("idx", Int),
            ("status", Text),
            ("model_version_id", Int),
            ("threshold", Real),
            ("batch_size", Int),
            ("admitted", Int),
            ("metrics_json", Text),
            ("started_at", Text),
            ("finished_at", Text),
            ("base_model_version_id", Int),
            ("per_relation_cap", Int),
            ("job_id", Int),
            ("drift_json", Text),
            ("alarms_json", Text),
            ("review", Text),
        ],
    },
    Table {
        name: "label_event",
        id: Some("label_event_id"),
        columns: &[
            ("label_event_id", Int),
            ("pair_id", Int),
            ("relation", Text),
            ("source", Text),
            ("action", Text),
            ("annotator_id", Int),
            ("created_at", Text),
            ("model_version_id", Int),
            ("iteration_id", Int),
            ("probability", Real),
            ("threshold", Real),
            ("imported_model_version", Int),
            ("imported_iteration", Int),
            ("undoes_event_id", Int),
            ("shown_relation", Text),
        ],
    },
    Table {
        name: "model_file",
        id: None,
        columns: &[("model_version_id", Int), ("name", Text), ("bytes", Blob)],
    },
    Table {
        name: "model_promotion",
        id: Some("model_promotion_id"),
        columns: &[
            ("model_promotion_id", Int),
            ("model_version_id", Int),
            ("reason", Text),
            ("created_at", Text),
        ],
    },
    Table {
        name: "pair_score",
        id: None,
        columns: &[
            ("model_version_id", Int),
            ("pair_id", Int),
            ("top_relation", Text),
            ("top_probability", Real),
            ("margin", Real),
            ("entropy", Real),
            ("top_valid", Bool),
            ("probabilities", Text),
        ],
    },
    Table { name: "gold_split", id: None, columns: &[("pair_id", Int), ("created_at", Text)] },
    Table {
        name: "setting",
        id: None,
        columns: &[("key", Text), ("value_json", Text), ("updated_at", Text)],
    },
    Table {
        name: "skip",
        id: Some("skip_id"),
        columns: &[("skip_id", Int), ("pair_id", Int), ("annotator_id", Int), ("created_at", Text)],
    },
    Table {
        name: "audit_judgement",
        id: Some("audit_judgement_id"),
        columns: &[
            ("audit_judgement_id", Int),
            ("iteration_id", Int),
            ("pair_id", Int),
            ("relation", Text),
            ("probability", Real),
            ("confidence_bin", Int),
            ("correct", Bool),
            ("right_relation", Text),
            ("annotator_id", Int),
            ("created_at", Text),
        ],
    },
];

/// What a copy wrote.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CopySummary {
    /// Rows per table, in the order they were written.
    pub rows: Vec<(String, usize)>,
    /// Files of the model folders copied.
    pub model_files: usize,
}

/// Copies the folder tree `from` into `to` (created); returns the number of files.
pub(crate) fn copy_tree(from: &std::path::Path, to: &std::path::Path) -> std::io::Result<usize> {
    if !from.exists() {
        return Ok(0);
    }
    std::fs::create_dir_all(to)?;
    let mut n = 0;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            n += copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
            n += 1;
        }
    }
    Ok(n)
}
