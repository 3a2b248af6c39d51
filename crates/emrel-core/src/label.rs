//! Labels and their provenance. A label is never edited in place: every change is an appended
//! event, and the current label of a pair is derived from its latest event.

use std::fmt;
use std::str::FromStr;

/// The no-relation class (the paper's "unknown"): predicted by models, excluded from P/R/F1.
pub const NONE: &str = "none";

/// Where a label came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LabelSource {
    /// Given by an annotator before the first model existed.
    Seed,
    /// Given, confirmed or fixed by an annotator.
    Human,
    /// Reference answer shipped with a corpus; hidden from training and used to simulate
    /// annotators and to measure true precision.
    Gold,
    /// Admitted by bootstrapping from a model's confident prediction.
    Auto,
}

impl LabelSource {
    pub const ALL: [LabelSource; 4] =
        [LabelSource::Seed, LabelSource::Human, LabelSource::Gold, LabelSource::Auto];

    pub fn as_str(self) -> &'static str {
        match self {
            LabelSource::Seed => "seed",
            LabelSource::Human => "human",
            LabelSource::Gold => "gold",
            LabelSource::Auto => "auto",
        }
    }
}

impl fmt::Display for LabelSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown label source `{0}` (expected seed, human, gold or auto)")]
pub struct UnknownSource(pub String);

impl FromStr for LabelSource {
    type Err = UnknownSource;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "seed" => Ok(LabelSource::Seed),
            "human" => Ok(LabelSource::Human),
            "gold" => Ok(LabelSource::Gold),
            "auto" => Ok(LabelSource::Auto),
            _ => Err(UnknownSource(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse_back_from_their_names() {
        for s in LabelSource::ALL {
            assert_eq!(s.as_str().parse::<LabelSource>(), Ok(s));
        }
        assert_eq!(
            "robot".parse::<LabelSource>().unwrap_err().to_string(),
            "unknown label source `robot` (expected seed, human, gold or auto)"
        );
    }
}

/// Who or what gave a label, and when. Auto labels carry the model version, iteration,
/// probability and threshold that admitted them.
#[derive(Debug, Clone, PartialEq)]
pub struct Provenance {
    pub source: LabelSource,
    pub annotator: Option<String>,
    /// RFC 3339 UTC timestamp; `None` means "now" when the label is stored.
    pub created_at: Option<String>,
    pub model_version: Option<i64>,
    pub iteration: Option<i64>,
    pub probability: Option<f64>,
    pub threshold: Option<f64>,
}

impl Provenance {
    pub fn new(source: LabelSource) -> Provenance {
        Provenance {
            source,
            annotator: None,
            created_at: None,
            model_version: None,
            iteration: None,
            probability: None,
            threshold: None,
        }
    }
}
