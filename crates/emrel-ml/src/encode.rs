//! Input encoding: the character vocabulary and the per-pair model input.
//!
//! A pair becomes character ids plus two relative-position ids (each character's distance to the
//! head and to the tail entity, clipped to ±`max_pos`, as in the paper's Fig. 2). A sentence
//! longer than `max_len` is cut to a window that keeps both entities and all the text between
//! them, centred on that span, rather than simply its first `max_len` characters.

use std::collections::HashMap;
use std::path::Path;

use emrel_core::Span;
use emrel_core::model::{ModelError, PairText};
use serde::{Deserialize, Serialize};

/// Id of the padding character.
pub const PAD: u32 = 0;
/// Id of characters outside the vocabulary.
pub const UNK: u32 = 1;
const PAD_TOKEN: &str = "<pad>";
const UNK_TOKEN: &str = "<unk>";

/// Character vocabulary: `<pad>` = 0, `<unk>` = 1, then the characters seen at least
/// `min_freq` times, most frequent first (ties by code point, so the order is deterministic).
#[derive(Debug, Clone, PartialEq)]
pub struct Vocab {
    min_freq: usize,
    tokens: Vec<String>,
    index: HashMap<char, u32>,
}

#[derive(Serialize, Deserialize)]
struct VocabFile {
    min_freq: usize,
    tokens: Vec<String>,
}

impl Vocab {
    /// Builds the vocabulary from `texts`, keeping characters seen at least `min_freq` times.
    pub fn build<S: AsRef<str>>(texts: &[S], min_freq: usize) -> Vocab {
        let mut counts: HashMap<char, usize> = HashMap::new();
        for t in texts {
            for c in t.as_ref().chars() {
                *counts.entry(c).or_default() += 1;
            }
        }
        let mut chars: Vec<(char, usize)> =
            counts.into_iter().filter(|&(_, n)| n >= min_freq.max(1)).collect();
        chars.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut tokens = vec![PAD_TOKEN.to_string(), UNK_TOKEN.to_string()];
        tokens.extend(chars.into_iter().map(|(c, _)| c.to_string()));
        Vocab::from_tokens(min_freq, tokens).expect("built tokens are single chars")
    }

    fn from_tokens(min_freq: usize, tokens: Vec<String>) -> Result<Vocab, ModelError> {
        if tokens.len() < 2 || tokens[0] != PAD_TOKEN || tokens[1] != UNK_TOKEN {
            return Err(ModelError::Invalid("vocabulary must start with <pad> and <unk>".into()));
        }
        let mut index = HashMap::with_capacity(tokens.len());
        for (i, t) in tokens.iter().enumerate().skip(2) {
            let mut cs = t.chars();
            match (cs.next(), cs.next()) {
                (Some(c), None) => {
                    index.insert(c, i as u32);
                }
                _ => {
                    return Err(ModelError::Invalid(format!(
                        "vocabulary token {t:?} is not a single character"
                    )));
                }
            }
        }
        Ok(Vocab { min_freq, tokens, index })
    }

    /// Number of ids, `<pad>` and `<unk>` included.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// True when only `<pad>` and `<unk>` are present.
    pub fn is_empty(&self) -> bool {
        self.tokens.len() <= 2
    }

    pub fn min_freq(&self) -> usize {
        self.min_freq
    }

    /// The token of each id (`<pad>`, `<unk>`, then single characters).
    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }

    /// The id of `c` ([`UNK`] when unknown).
    pub fn id(&self, c: char) -> u32 {
        self.index.get(&c).copied().unwrap_or(UNK)
    }

    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        let file = VocabFile { min_freq: self.min_freq, tokens: self.tokens.clone() };
        let json = serde_json::to_string(&file).map_err(|e| ModelError::Io(e.to_string()))?;
        std::fs::write(path, json)
            .map_err(|e| ModelError::Io(format!("cannot write {}: {e}", path.display())))
    }

    pub fn load(path: &Path) -> Result<Vocab, ModelError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ModelError::Io(format!("cannot read {}: {e}", path.display())))?;
        let file: VocabFile = serde_json::from_str(&text)
            .map_err(|e| ModelError::Io(format!("{}: {e}", path.display())))?;
        Vocab::from_tokens(file.min_freq, file.tokens)
    }
}

/// Sizes of the encoded input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeConfig {
    /// Longest window in characters (a longer span between the entities is kept whole).
    pub max_len: usize,
    /// Relative positions are clipped to `-max_pos..=max_pos`.
    pub max_pos: usize,
}

impl EncodeConfig {
    /// Number of position ids: `0` is padding, then `2 * max_pos + 1` clipped distances.
    pub fn n_positions(&self) -> usize {
        2 * self.max_pos + 2
    }
}

/// One pair as model input (all vectors have the window's length).
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedPair {
    pub chars: Vec<u32>,
    pub head_pos: Vec<u32>,
    pub tail_pos: Vec<u32>,
    /// Entity extents relative to the window.
    pub head: Span,
    pub tail: Span,
}

impl EncodedPair {
    pub fn len(&self) -> usize {
        self.chars.len()
    }

    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }
}

/// The window `[start, end)` of a text of `len` chars: the whole text when it fits in `max_len`,
/// else `max_len` chars centred on the span from the first entity's start to the last entity's
/// end (shifted to stay inside the text), or that span alone when it is longer than `max_len`.
pub fn window(len: usize, head: Span, tail: Span, max_len: usize) -> (usize, usize) {
    if len <= max_len {
        return (0, len);
    }
    let lo = head.start.min(tail.start);
    let hi = head.end.max(tail.end);
    if hi - lo >= max_len {
        return (lo, hi);
    }
    let extra = max_len - (hi - lo);
    let mut start = lo.saturating_sub(extra / 2);
    let mut end = start + max_len;
    if end > len {
        end = len;
        start = len - max_len;
    }
    (start, end)
}

/// Signed distance of char `i` to `span`: negative before it, 0 inside, positive after it.
pub fn relative_position(i: usize, span: Span) -> i64 {
    if i < span.start {
        i as i64 - span.start as i64
    } else if i >= span.end {
        i as i64 - span.end as i64 + 1
    } else {
        0
    }
}

/// The position id of a signed distance: clipped to ±`max_pos`, shifted so that 0 stays padding.
pub fn position_id(rel: i64, max_pos: usize) -> u32 {
    let m = max_pos as i64;
    (rel.clamp(-m, m) + m + 1) as u32
}

/// Encodes one pair. Fails when an entity lies outside the text or is empty.
pub fn encode_pair(
    vocab: &Vocab,
    cfg: &EncodeConfig,
    pair: &PairText,
) -> Result<EncodedPair, ModelError> {
    let chars: Vec<char> = pair.text.chars().collect();
    let n = chars.len();
    for (what, s) in [("head", pair.head), ("tail", pair.tail)] {
        if s.start >= s.end || s.end > n {
            return Err(ModelError::Invalid(format!(
                "{what} entity {}..{} is empty or outside a text of {n} chars",
                s.start, s.end
            )));
        }
    }
    let (start, end) = window(n, pair.head, pair.tail, cfg.max_len);
    let shift = |s: Span| Span::new(s.start - start, s.end - start);
    let (head, tail) = (shift(pair.head), shift(pair.tail));
    let ids = chars[start..end].iter().map(|&c| vocab.id(c)).collect();
    let pos = |span: Span| {
        (0..end - start).map(|i| position_id(relative_position(i, span), cfg.max_pos)).collect()
    };
    Ok(EncodedPair { chars: ids, head_pos: pos(head), tail_pos: pos(tail), head, tail })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(text: &str, head: (usize, usize), tail: (usize, usize)) -> PairText {
        PairText {
            text: text.to_string(),
            head: Span::new(head.0, head.1),
            tail: Span::new(tail.0, tail.1),
            head_type: "a".into(),
            tail_type: "b".into(),
        }
    }

    #[test]
    fn vocabulary_orders_by_frequency_and_cuts_rare_chars() {
        let v = Vocab::build(&["aab", "ac", "a"], 2);
        assert_eq!(v.tokens(), ["<pad>", "<unk>", "a"]);
        assert_eq!(v.id('a'), 2);
        assert_eq!(v.id('b'), UNK);
        let v = Vocab::build(&["bba", "c"], 1);
        assert_eq!(v.tokens(), ["<pad>", "<unk>", "b", "a", "c"]);
    }

    #[test]
    fn vocabulary_round_trips_through_json() {
        let dir = tempfile::tempdir().unwrap();
        let v = Vocab::build(&["左肺上叶结节", "右肺"], 1);
        let p = dir.path().join("vocab.json");
        v.save(&p).unwrap();
        assert_eq!(Vocab::load(&p).unwrap(), v);
    }

    #[test]
    fn positions_follow_the_paper() {
        // Distances relative to an entity at 3..5: before negative, inside 0, after positive.
        let s = Span::new(3, 5);
        let rel: Vec<i64> = (0..7).map(|i| relative_position(i, s)).collect();
        assert_eq!(rel, [-3, -2, -1, 0, 0, 1, 2]);
        assert_eq!(position_id(0, 5), 6);
        assert_eq!(position_id(-100, 5), 1);
        assert_eq!(position_id(100, 5), 11);
    }

    #[test]
    fn entities_at_the_start_and_end() {
        let v = Vocab::build(&["肺癌行手术治疗"], 1);
        let cfg = EncodeConfig { max_len: 100, max_pos: 3 };
        let e = encode_pair(&v, &cfg, &pair("肺癌行手术治疗", (0, 2), (5, 7))).unwrap();
        assert_eq!(e.len(), 7);
        assert_eq!(e.head_pos, [4, 4, 5, 6, 7, 7, 7]);
        assert_eq!(e.tail_pos, [1, 1, 1, 2, 3, 4, 4]);
        assert!(e.chars.iter().all(|&c| c >= 2));
        assert!(encode_pair(&v, &cfg, &pair("肺癌", (0, 2), (1, 3))).is_err());
    }

    #[test]
    fn window_keeps_both_entities_and_the_text_between() {
        // Entities near the end of a long text: the window shifts to stay inside the text.
        assert_eq!(window(100, Span::new(90, 92), Span::new(97, 100), 20), (80, 100));
        // Near the start.
        assert_eq!(window(100, Span::new(0, 2), Span::new(5, 6), 20), (0, 20));
        // In the middle: centred on the span 40..50.
        assert_eq!(window(100, Span::new(45, 50), Span::new(40, 42), 20), (35, 55));
        // A span longer than the window is kept whole.
        assert_eq!(window(100, Span::new(10, 12), Span::new(60, 65), 20), (10, 65));
        // Overlapping entities.
        assert_eq!(window(100, Span::new(50, 60), Span::new(55, 58), 20), (45, 65));

        let text: String = (0..100).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
        let v = Vocab::build(&[text.as_str()], 1);
        let cfg = EncodeConfig { max_len: 20, max_pos: 50 };
        let e = encode_pair(&v, &cfg, &pair(&text, (90, 92), (97, 100))).unwrap();
        assert_eq!(e.len(), 20);
        assert_eq!((e.head, e.tail), (Span::new(10, 12), Span::new(17, 20)));
        assert_eq!(e.chars[10], v.id(text.chars().nth(90).unwrap()));
        assert_eq!(e.head_pos[10], position_id(0, 50));
        assert_eq!(e.tail_pos[0], position_id(-17, 50));
    }
}
