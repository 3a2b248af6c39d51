//! Newtype ids for the rows the engine hands around, so that a pair id can never be passed where
//! a model version id is expected. They serialise as plain integers for the front ends.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! row_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

row_id!(
    /// A candidate pair (`pair.pair_id`).
    PairId
);
row_id!(
    /// A trained model version (`model_version.model_version_id`); shown as `v<N>`.
    ModelVersionId
);
row_id!(
    /// A bootstrapping iteration row (`iteration.iteration_id`); users see its `idx`.
    IterationId
);
row_id!(
    /// A background job (`job.job_id`).
    JobId
);
row_id!(
    /// One appended label event (`label_event.label_event_id`).
    LabelEventId
);
