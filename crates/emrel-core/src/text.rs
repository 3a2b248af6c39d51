//! Sentence splitting. Offsets are in Unicode scalar values (chars), as in CCKS 2017 and brat.

/// A half-open char range `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    pub fn contains(&self, other: Span) -> bool {
        self.start <= other.start && other.end <= self.end
    }
}

fn is_terminator(c: char) -> bool {
    matches!(c, '。' | '！' | '？')
}

/// Closing marks that belong to the sentence they follow (`他说：“好。”`).
fn is_closer(c: char) -> bool {
    matches!(c, '”' | '’' | '」' | '』' | '）' | ')' | '"' | '\'')
}

/// Splits `text` into sentences after runs of 。！？ (with any closing quotes that follow).
///
/// Line breaks do not end a sentence: they stay in its text, because some corpora break lines in
/// the middle of sentences. A boundary that would cut through one of `entities` (char extents) is
/// dropped, so the entity's sentence stays whole. Sentences are trimmed of surrounding whitespace
/// and whitespace-only sentences are left out.
pub fn split_sentences(text: &str, entities: &[Span]) -> Vec<Span> {
    let chars: Vec<char> = text.chars().collect();
    let mut boundaries = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if is_terminator(chars[i]) {
            while i < chars.len() && is_terminator(chars[i]) {
                i += 1;
            }
            while i < chars.len() && is_closer(chars[i]) {
                i += 1;
            }
            boundaries.push(i);
        } else {
            i += 1;
        }
    }
    boundaries.retain(|&b| !entities.iter().any(|e| e.start < b && b < e.end));
    let mut out = Vec::new();
    let mut start = 0;
    for end in boundaries.into_iter().chain(std::iter::once(chars.len())) {
        if end <= start {
            continue;
        }
        let mut s = start;
        let mut e = end;
        while s < e && chars[s].is_whitespace() {
            s += 1;
        }
        while e > s && chars[e - 1].is_whitespace() {
            e -= 1;
        }
        // Never trim into an entity (an entity may start or end with a space in brat data).
        for ent in entities {
            if ent.start < end && ent.end > start {
                s = s.min(ent.start.max(start));
                e = e.max(ent.end.min(end));
            }
        }
        if s < e {
            out.push(Span::new(s, e));
        }
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, entities: &[(usize, usize)], expect: &[&str]) {
        let ents: Vec<Span> = entities.iter().map(|&(s, e)| Span::new(s, e)).collect();
        let chars: Vec<char> = text.chars().collect();
        let got: Vec<String> = split_sentences(text, &ents)
            .into_iter()
            .map(|s| chars[s.start..s.end].iter().collect())
            .collect();
        assert_eq!(got, expect);
    }

    #[test]
    fn splits_on_chinese_terminators() {
        check("患者头痛。无发热！是否咳嗽？", &[], &["患者头痛。", "无发热！", "是否咳嗽？"]);
    }

    #[test]
    fn keeps_line_breaks_inside_a_sentence() {
        check(
            "目前,2型糖尿病已成为危害公众\n健康的主要疾病。其后",
            &[],
            &["目前,2型糖尿病已成为危害公众\n健康的主要疾病。", "其后"],
        );
    }

    #[test]
    fn runs_of_terminators_and_closing_quotes_stay_with_their_sentence() {
        check("他说：“好。”然后走了。。。再见", &[], &["他说：“好。”", "然后走了。。。", "再见"]);
    }

    #[test]
    fn trims_whitespace_and_drops_empty_sentences() {
        check("  头痛。 \r\n \r\n", &[], &["头痛。"]);
        check("", &[], &[]);
        check("。", &[], &["。"]);
    }

    #[test]
    fn an_entity_across_a_boundary_keeps_its_sentence_whole() {
        // The entity "痛。发" (chars 1..4) straddles the boundary after 。 (position 3).
        check("头痛。发热。咳嗽", &[(1, 4)], &["头痛。发热。", "咳嗽"]);
        // An entity ending exactly at a boundary does not block it.
        check("头痛。发热。", &[(0, 3)], &["头痛。", "发热。"]);
    }
}
