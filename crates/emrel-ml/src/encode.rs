//! Input encoding: the character vocabulary and the per-pair model input.
//!
//! A pair becomes character ids plus two relative-position ids (each character's distance to the
//! head and to the tail entity, clipped to ±`max_pos`, as in the paper's Fig. 2). A sentence
//! longer than `max_len` is cut to a window that keeps both entities, centred on them, rather than
//! simply its first `max_len` characters: the text between them too when it fits, else each
//! entity with the context around it (see [`window`]).

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
        crate::files::write(path, json)
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
    /// Longest window in characters (longer only when an entity itself is longer).
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

/// The characters of a text kept as the model's input: one or two `[start, end)` segments, in
/// text order, that together hold both entities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    segments: [(usize, usize); 2],
    n: usize,
}

impl Window {
    /// The kept segments, in text order (one or two).
    pub fn segments(&self) -> &[(usize, usize)] {
        &self.segments[..self.n]
    }

    /// Number of characters kept.
    pub fn len(&self) -> usize {
        self.segments().iter().map(|&(s, e)| e - s).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn one(start: usize, end: usize) -> Window {
        Window { segments: [(start, end), (0, 0)], n: 1 }
    }

    /// The window position of text position `i` (which must lie in a segment).
    fn map(&self, i: usize) -> usize {
        let mut offset = 0;
        for &(s, e) in self.segments() {
            if (s..e).contains(&i) {
                return offset + i - s;
            }
            offset += e - s;
        }
        unreachable!("position {i} outside the window {:?}", self.segments())
    }
}

/// `budget` chars centred on `span` and shifted to stay inside a text of `len >= budget` chars, or
/// the span alone when it is longer than `budget`.
fn around(span: Span, budget: usize, len: usize) -> (usize, usize) {
    let l = span.end - span.start;
    if l >= budget {
        return (span.start, span.end);
    }
    let extra = budget - l;
    let start = span.start.saturating_sub(extra / 2);
    let end = start + budget;
    if end > len { (len - budget, len) } else { (start, end) }
}

/// The window of a text of `len` chars for a pair of entities:
/// - the whole text when it fits in `max_len`;
/// - else, when the span from the first entity's start to the last entity's end fits, `max_len`
///   chars centred on that span (shifted to stay inside the text);
/// - else (entities far apart) two segments of about `max_len / 2` chars, each centred on one
///   entity, so the model sees each entity in its context instead of the whole text between
///   them (an entity longer than its half is kept whole; segments that meet are merged).
///
/// The input therefore stays within `max_len` chars unless an entity itself is longer.
pub fn window(len: usize, head: Span, tail: Span, max_len: usize) -> Window {
    if len <= max_len {
        return Window::one(0, len);
    }
    let lo = head.start.min(tail.start);
    let hi = head.end.max(tail.end);
    if hi - lo <= max_len {
        let (s, e) = around(Span::new(lo, hi), max_len, len);
        return Window::one(s, e);
    }
    let (first, second) =
        if (head.start, head.end) <= (tail.start, tail.end) { (head, tail) } else { (tail, head) };
    let half = max_len / 2;
    let a = around(first, half, len);
    let b = around(second, max_len - half, len);
    let (a, b) = if a <= b { (a, b) } else { (b, a) };
    if b.0 <= a.1 { Window::one(a.0, a.1.max(b.1)) } else { Window { segments: [a, b], n: 2 } }
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
    let w = window(n, pair.head, pair.tail, cfg.max_len);
    // Text positions of the kept chars; relative positions are true distances in the text, so
    // the jump between two segments shows in them.
    let kept: Vec<usize> = w.segments().iter().flat_map(|&(s, e)| s..e).collect();
    let shift = |s: Span| Span::new(w.map(s.start), w.map(s.end - 1) + 1);
    let ids = kept.iter().map(|&i| vocab.id(chars[i])).collect();
    let pos = |span: Span| {
        kept.iter().map(|&i| position_id(relative_position(i, span), cfg.max_pos)).collect()
    };
    Ok(EncodedPair {
        chars: ids,
        head_pos: pos(pair.head),
        tail_pos: pos(pair.tail),
        head: shift(pair.head),
        tail: shift(pair.tail),
    })
}

/// A pair for tests: `text` with entities at the char ranges `head` and `tail`.
#[cfg(test)]
pub(crate) fn test_pair(text: &str, head: (usize, usize), tail: (usize, usize)) -> PairText {
    PairText {
        text: text.to_string(),
        head: Span::new(head.0, head.1),
        tail: Span::new(tail.0, tail.1),
        head_type: "a".into(),
        tail_type: "b".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::test_pair as pair;
    use super::*;

    /// 100 chars cycling through the alphabet, and its vocabulary.
    fn alphabet() -> (String, Vocab) {
        let text: String = (0..100).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
        let v = Vocab::build(&[text.as_str()], 1);
        (text, v)
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

    fn one(w: Window) -> (usize, usize) {
        assert_eq!(w.segments().len(), 1, "{w:?}");
        w.segments()[0]
    }

    #[test]
    fn window_keeps_both_entities_and_the_text_between() {
        // Entities near the end of a long text: the window shifts to stay inside the text.
        assert_eq!(one(window(100, Span::new(90, 92), Span::new(97, 100), 20)), (80, 100));
        // Near the start.
        assert_eq!(one(window(100, Span::new(0, 2), Span::new(5, 6), 20)), (0, 20));
        // In the middle: centred on the span 40..50.
        assert_eq!(one(window(100, Span::new(45, 50), Span::new(40, 42), 20)), (35, 55));
        // Overlapping entities.
        assert_eq!(one(window(100, Span::new(50, 60), Span::new(55, 58), 20)), (45, 65));
        // A span of exactly max_len is kept whole.
        assert_eq!(one(window(100, Span::new(10, 12), Span::new(28, 30), 20)), (10, 30));

        let (text, v) = alphabet();
        let cfg = EncodeConfig { max_len: 20, max_pos: 50 };
        let e = encode_pair(&v, &cfg, &pair(&text, (90, 92), (97, 100))).unwrap();
        assert_eq!(e.len(), 20);
        assert_eq!((e.head, e.tail), (Span::new(10, 12), Span::new(17, 20)));
        assert_eq!(e.chars[10], v.id(text.chars().nth(90).unwrap()));
        assert_eq!(e.head_pos[10], position_id(0, 50));
        assert_eq!(e.tail_pos[0], position_id(-17, 50));
    }

    #[test]
    fn far_apart_entities_keep_their_contexts_not_the_whole_span() {
        // 48 chars apart with max_len 20: two segments of 10, each centred on its entity.
        let w = window(100, Span::new(60, 65), Span::new(10, 12), 20);
        assert_eq!(w.segments(), [(6, 16), (58, 68)]);
        assert_eq!(w.len(), 20);
        // Segments clipped at the text's ends.
        assert_eq!(
            window(100, Span::new(0, 2), Span::new(98, 100), 20).segments(),
            [(0, 10), (90, 100)]
        );
        // An entity longer than its half is kept whole; the other keeps its half.
        assert_eq!(
            window(100, Span::new(5, 20), Span::new(70, 72), 20).segments(),
            [(5, 20), (66, 76)]
        );
        // A long entity containing the other: one segment, the long entity.
        assert_eq!(one(window(100, Span::new(10, 60), Span::new(30, 32), 20)), (10, 60));
        // Never longer than max_len unless an entity is, and both entities always inside.
        for len in [21, 50, 300] {
            for a in (0..len - 3).step_by(7) {
                for b in (0..len - 2).step_by(5) {
                    let (h, t) = (Span::new(a, a + 3), Span::new(b, b + 2));
                    let w = window(len, h, t, 20);
                    assert!(w.len() <= 20, "{len} {h:?} {t:?} {w:?}");
                    for s in [h, t] {
                        assert!(w.segments().iter().any(|&(x, y)| x <= s.start && s.end <= y));
                    }
                }
            }
        }

        // Encoding: the entities' window spans follow the cut, and relative positions stay the
        // true distances in the text (so the jump between the segments shows).
        let (text, v) = alphabet();
        let cfg = EncodeConfig { max_len: 20, max_pos: 30 };
        let e = encode_pair(&v, &cfg, &pair(&text, (60, 65), (10, 12))).unwrap();
        assert_eq!(e.len(), 20);
        assert_eq!((e.head, e.tail), (Span::new(12, 17), Span::new(4, 6)));
        assert_eq!(e.chars[12], v.id(text.chars().nth(60).unwrap()));
        assert_eq!(e.chars[9], v.id(text.chars().nth(15).unwrap()));
        assert_eq!(e.chars[10], v.id(text.chars().nth(58).unwrap()));
        // Char 15 (window 9) is 4 after the tail and 45 before the head (clipped to -30).
        assert_eq!(e.tail_pos[9], position_id(4, 30));
        assert_eq!(e.head_pos[9], position_id(-45, 30));
        assert_eq!(e.head_pos[10], position_id(-2, 30));
        assert_eq!(e.tail_pos[19], position_id(57, 30));
    }
}
