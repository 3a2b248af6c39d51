//! The synthetic demo corpus: Chinese EMR text with entities and a gold label on every candidate
//! pair, generated from word lists and clause templates in `assets/demo/`.
//!
//! It exists because real EMRs cannot be shipped (they are private), yet a new user, the test
//! suite and the bootstrapping simulation all need a corpus whose gold labels are complete and
//! consistent. The templates are written so that relations follow from sentence structure rather
//! than a keyword (negation scoped to one symptom, a test's examined position vs a position in its
//! result, a surgery that treats vs one that finds a disease), so a model must use context to do
//! well and the workbench's learning curves mean something.
//!
//! Gold labels are derived from the templates, never from the text: a pair listed in its
//! template's `relations` gets that relation, every other candidate pair in the sentence `none`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use emrel_core::label::Provenance;
use emrel_core::{
    DocumentInput, EntityInput, LabelSource, NONE, Origin, RelationInput, Schema, Span,
};
use rand::Rng;
use rand::SeedableRng;
use rand::distributions::{Distribution, WeightedIndex};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;

const WORDS_TOML: &str = include_str!("../../../assets/demo/words.toml");
const TEMPLATES_TOML: &str = include_str!("../../../assets/demo/templates.toml");
const DOCUMENTS_TOML: &str = include_str!("../../../assets/demo/documents.toml");

/// The file name every generated record's [`Origin`] points to.
const ORIGIN_FILE: &str = "demo";

/// Generates `sentences` sentences (at least; documents are whole) of synthetic Chinese EMR text,
/// deterministic for a given seed, grouped into documents named `demo-00001`, `demo-00002`, ...
pub fn generate(sentences: usize, seed: u64) -> Vec<emrel_core::DocumentInput> {
    let demo = Demo::bundled();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut docs = Vec::new();
    let mut total = 0;
    while total < sentences {
        let name = format!("demo-{:05}", docs.len() + 1);
        let (doc, n) = demo.document(&mut rng, name);
        total += n;
        docs.push(doc);
    }
    docs
}

// ----- The data files as written -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWords {
    lists: BTreeMap<String, RawList>,
    fillers: BTreeMap<String, Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawList {
    #[serde(rename = "type")]
    entity_type: String,
    words: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTemplates {
    template: Vec<RawTemplate>,
}

fn one() -> u32 {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTemplate {
    group: String,
    #[serde(default = "one")]
    weight: u32,
    text: String,
    #[serde(default)]
    relations: Vec<[String; 3]>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDocuments {
    group: Vec<RawGroup>,
    document: Vec<RawDocument>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    name: String,
    max_clauses: usize,
    #[serde(default)]
    no_cross: Vec<[String; 2]>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDocument {
    title: String,
    weight: u32,
    section: Vec<RawSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSection {
    heading: String,
    group: String,
    min: usize,
    max: usize,
}

// ----- The data compiled for generation -----

struct WordList {
    /// Canonical entity type (the file may spell it with an alias).
    entity_type: String,
    words: Vec<String>,
}

enum Piece {
    Text(String),
    /// Index into [`Demo::fillers`].
    Filler(usize),
    /// An entity: index into [`Demo::lists`] and the slot's index in its template.
    Slot {
        list: usize,
        slot: usize,
    },
}

struct Template {
    pieces: Vec<Piece>,
    /// Canonical entity type of each slot.
    slot_types: Vec<String>,
    /// `(head slot, tail slot, canonical relation)`.
    relations: Vec<(usize, usize, String)>,
}

impl Template {
    fn relation(&self, head: usize, tail: usize) -> &str {
        self.relations
            .iter()
            .find(|(h, t, _)| *h == head && *t == tail)
            .map_or(NONE, |(_, _, r)| r.as_str())
    }
}

struct Group {
    name: String,
    max_clauses: usize,
    no_cross: Vec<(String, String)>,
    templates: Vec<Template>,
    weights: Option<WeightedIndex<u32>>,
}

struct Section {
    heading: String,
    group: usize,
    min: usize,
    max: usize,
}

struct DocStyle {
    title: String,
    sections: Vec<Section>,
}

struct Demo {
    schema: Schema,
    lists: Vec<WordList>,
    fillers: Vec<Vec<String>>,
    groups: Vec<Group>,
    styles: Vec<DocStyle>,
    style_weights: WeightedIndex<u32>,
}

fn is_terminator(c: char) -> bool {
    matches!(c, '。' | '！' | '？')
}

fn check_text(what: &str, text: &str) -> Result<(), String> {
    if let Some(c) = text.chars().find(|&c| is_terminator(c)) {
        return Err(format!("{what} `{text}` contains the sentence terminator {c}"));
    }
    Ok(())
}

impl Demo {
    /// The data bundled under `assets/demo/`, compiled once.
    fn bundled() -> &'static Demo {
        static DEMO: OnceLock<Demo> = OnceLock::new();
        DEMO.get_or_init(|| {
            Demo::load(WORDS_TOML, TEMPLATES_TOML, DOCUMENTS_TOML)
                .unwrap_or_else(|e| panic!("the bundled demo data is invalid: {e}"))
        })
    }

    /// Parses and validates the three data files against the paper schema.
    fn load(words: &str, templates: &str, documents: &str) -> Result<Demo, String> {
        let schema = Schema::paper_default();
        let words: RawWords =
            toml::from_str(words).map_err(|e| format!("assets/demo/words.toml: {e}"))?;
        let templates: RawTemplates =
            toml::from_str(templates).map_err(|e| format!("assets/demo/templates.toml: {e}"))?;
        let documents: RawDocuments =
            toml::from_str(documents).map_err(|e| format!("assets/demo/documents.toml: {e}"))?;

        let mut list_names = Vec::new();
        let mut lists = Vec::new();
        for (name, raw) in words.lists {
            let ty = schema
                .resolve_entity_type(&raw.entity_type)
                .ok_or_else(|| format!("list {name}: unknown entity type `{}`", raw.entity_type))?;
            if raw.words.is_empty() {
                return Err(format!("list {name} is empty"));
            }
            for w in &raw.words {
                check_text(&format!("word in list {name}"), w)?;
                if w.trim().is_empty() || w.trim() != w {
                    return Err(format!("list {name}: word `{w}` is blank or padded"));
                }
            }
            list_names.push(name);
            lists.push(WordList { entity_type: ty.to_string(), words: raw.words });
        }
        let mut filler_names = Vec::new();
        let mut fillers = Vec::new();
        for (name, words) in words.fillers {
            if words.is_empty() {
                return Err(format!("filler {name} is empty"));
            }
            for w in &words {
                check_text(&format!("filler {name}"), w)?;
            }
            filler_names.push(name);
            fillers.push(words);
        }

        let mut groups: Vec<Group> = Vec::new();
        for g in documents.group {
            if g.max_clauses == 0 {
                return Err(format!("group {} allows no clause", g.name));
            }
            let mut no_cross = Vec::new();
            for [a, b] in g.no_cross {
                let resolve = |t: &str| {
                    schema
                        .resolve_entity_type(t)
                        .map(str::to_string)
                        .ok_or_else(|| format!("group {}: unknown entity type `{t}`", g.name))
                };
                no_cross.push((resolve(&a)?, resolve(&b)?));
            }
            if groups.iter().any(|o| o.name == g.name) {
                return Err(format!("group {} is defined twice", g.name));
            }
            groups.push(Group {
                name: g.name,
                max_clauses: g.max_clauses,
                no_cross,
                templates: Vec::new(),
                weights: None,
            });
        }

        let mut weights: Vec<Vec<u32>> = vec![Vec::new(); groups.len()];
        for raw in templates.template {
            let gi = groups
                .iter()
                .position(|g| g.name == raw.group)
                .ok_or_else(|| format!("template `{}`: unknown group {}", raw.text, raw.group))?;
            if raw.weight == 0 {
                return Err(format!("template `{}` has weight 0", raw.text));
            }
            let t = compile_template(&schema, &raw, &list_names, &lists, &filler_names)?;
            groups[gi].templates.push(t);
            weights[gi].push(raw.weight);
        }
        for (g, w) in groups.iter_mut().zip(weights) {
            if !w.is_empty() {
                g.weights =
                    Some(WeightedIndex::new(w).map_err(|e| format!("group {}: {e}", g.name))?);
            }
        }

        let mut styles = Vec::new();
        let mut style_weights = Vec::new();
        for d in documents.document {
            check_text(&format!("title of {}", d.title), &d.title)?;
            let mut sections = Vec::new();
            for s in d.section {
                check_text(&format!("heading in {}", d.title), &s.heading)?;
                let group = groups
                    .iter()
                    .position(|g| g.name == s.group)
                    .ok_or_else(|| format!("document {}: unknown group {}", d.title, s.group))?;
                if groups[group].templates.is_empty() {
                    return Err(format!("document {}: group {} has no template", d.title, s.group));
                }
                if s.min > s.max {
                    return Err(format!(
                        "document {}: section {} has min > max",
                        d.title, s.heading
                    ));
                }
                sections.push(Section { heading: s.heading, group, min: s.min, max: s.max });
            }
            if sections.iter().map(|s| s.min).sum::<usize>() == 0 {
                return Err(format!("document {} may have no sentence", d.title));
            }
            styles.push(DocStyle { title: d.title, sections });
            style_weights.push(d.weight);
        }
        let style_weights =
            WeightedIndex::new(style_weights).map_err(|e| format!("document weights: {e}"))?;
        Ok(Demo { schema, lists, fillers, groups, styles, style_weights })
    }

    /// One document and its number of sentences.
    fn document(&self, rng: &mut ChaCha8Rng, name: String) -> (DocumentInput, usize) {
        let style = &self.styles[self.style_weights.sample(rng)];
        let mut b = DocBuilder::default();
        b.push(&style.title);
        b.push("\n");
        let mut first = true;
        for section in &style.sections {
            let n = rng.gen_range(section.min..=section.max);
            if n == 0 {
                continue;
            }
            if !first {
                b.push("\n");
            }
            first = false;
            b.push(&section.heading);
            for _ in 0..n {
                self.sentence(rng, &self.groups[section.group], &mut b);
            }
        }
        let sentences = b.sentences;
        let doc = DocumentInput {
            name,
            text: b.text,
            entities: b.entities,
            relations: b.relations,
            sentences: None,
            origin: Origin::new(ORIGIN_FILE, 0),
        };
        (doc, sentences)
    }

    /// Appends one sentence of `group` (1 to `max_clauses` clauses) with its entities and a gold
    /// label for every candidate pair in it.
    fn sentence(&self, rng: &mut ChaCha8Rng, group: &Group, b: &mut DocBuilder) {
        let weights = group.weights.as_ref().expect("sections only use groups with templates");
        let wanted = rng.gen_range(1..=group.max_clauses);
        let mut clauses: Vec<&Template> = Vec::new();
        // A few draws per clause: a clause that clashes with the ones before it (see
        // `compatible`) is redrawn, and given up on if it keeps clashing.
        for _ in 0..wanted {
            for _ in 0..4 {
                let t = &group.templates[weights.sample(rng)];
                if self.compatible(group, &clauses, t) {
                    clauses.push(t);
                    break;
                }
            }
        }

        struct Placed<'a> {
            entity: usize,
            ty: &'a str,
            clause: usize,
            slot: usize,
        }
        let mut placed: Vec<Placed> = Vec::new();
        let mut used: Vec<&str> = Vec::new();
        for (ci, t) in clauses.iter().enumerate() {
            if ci > 0 {
                b.push("，");
            }
            for piece in &t.pieces {
                match piece {
                    Piece::Text(s) => b.push(s),
                    Piece::Filler(f) => b.push(choose(rng, &self.fillers[*f])),
                    Piece::Slot { list, slot } => {
                        let list = &self.lists[*list];
                        // The same word twice in a sentence reads oddly ("腹部压痛，腹部压痛");
                        // a few redraws avoid it without ever failing on a short list.
                        let mut word = choose(rng, &list.words);
                        for _ in 0..8 {
                            if !used.contains(&word) {
                                break;
                            }
                            word = choose(rng, &list.words);
                        }
                        used.push(word);
                        let start = b.len;
                        b.push(word);
                        let entity = b.entities.len();
                        b.entities.push(EntityInput {
                            key: format!("T{}", entity + 1),
                            entity_type: list.entity_type.clone(),
                            spans: vec![Span::new(start, b.len)],
                            mention: Some(word.to_string()),
                            origin: Origin::new(ORIGIN_FILE, 0),
                        });
                        placed.push(Placed {
                            entity,
                            ty: &list.entity_type,
                            clause: ci,
                            slot: *slot,
                        });
                    }
                }
            }
        }
        b.push("。");
        b.sentences += 1;

        for h in &placed {
            for t in &placed {
                if h.entity == t.entity || !self.schema.is_candidate(h.ty, t.ty) {
                    continue;
                }
                let relation = if h.clause == t.clause {
                    clauses[h.clause].relation(h.slot, t.slot)
                } else {
                    NONE
                };
                b.relations.push(RelationInput {
                    relation: relation.to_string(),
                    head: b.entities[h.entity].key.clone(),
                    tail: b.entities[t.entity].key.clone(),
                    provenance: Provenance::new(LabelSource::Gold),
                    origin: Origin::new(ORIGIN_FILE, 0),
                });
            }
        }
    }

    /// Whether `next` may join `clauses` in one sentence: no entity-type pair of the group's
    /// `no_cross` list may meet across clauses, because such pairs would read as related while
    /// their gold label is `none`.
    fn compatible(&self, group: &Group, clauses: &[&Template], next: &Template) -> bool {
        let has = |t: &Template, ty: &str| t.slot_types.iter().any(|s| s == ty);
        clauses.iter().all(|c| {
            group
                .no_cross
                .iter()
                .all(|(a, b)| !((has(c, a) && has(next, b)) || (has(c, b) && has(next, a))))
        })
    }
}

fn choose<'a, R: Rng>(rng: &mut R, words: &'a [String]) -> &'a str {
    &words[rng.gen_range(0..words.len())]
}

/// Parses `{list:name}` slots and `{filler}`s and resolves the relation triples.
fn compile_template(
    schema: &Schema,
    raw: &RawTemplate,
    list_names: &[String],
    lists: &[WordList],
    filler_names: &[String],
) -> Result<Template, String> {
    let err = |msg: String| format!("template `{}`: {msg}", raw.text);
    check_text("template", &raw.text)?;
    let mut pieces = Vec::new();
    let mut slot_names: Vec<String> = Vec::new();
    let mut slot_types = Vec::new();
    let mut rest = raw.text.as_str();
    while !rest.is_empty() {
        let Some(open) = rest.find('{') else {
            pieces.push(Piece::Text(rest.to_string()));
            break;
        };
        if open > 0 {
            pieces.push(Piece::Text(rest[..open].to_string()));
        }
        let close = rest[open..].find('}').ok_or_else(|| err("unclosed `{`".into()))? + open;
        let inner = &rest[open + 1..close];
        match inner.split_once(':') {
            Some((list, name)) => {
                let li = list_names
                    .iter()
                    .position(|l| l == list)
                    .ok_or_else(|| err(format!("unknown list `{list}`")))?;
                if slot_names.iter().any(|n| n == name) {
                    return Err(err(format!("slot `{name}` is used twice")));
                }
                pieces.push(Piece::Slot { list: li, slot: slot_names.len() });
                slot_names.push(name.to_string());
                slot_types.push(lists[li].entity_type.clone());
            }
            None => {
                let fi = filler_names
                    .iter()
                    .position(|f| f == inner)
                    .ok_or_else(|| err(format!("unknown filler `{inner}`")))?;
                pieces.push(Piece::Filler(fi));
            }
        }
        rest = &rest[close + 1..];
    }
    let mut relations = Vec::new();
    for [h, t, r] in &raw.relations {
        let slot = |n: &str| {
            slot_names.iter().position(|s| s == n).ok_or_else(|| err(format!("no slot `{n}`")))
        };
        let (hi, ti) = (slot(h)?, slot(t)?);
        let rel = schema
            .resolve_relation(r)
            .filter(|rel| *rel != NONE)
            .ok_or_else(|| err(format!("unknown relation `{r}`")))?;
        if !schema.allows(rel, &slot_types[hi], &slot_types[ti]) {
            return Err(err(format!(
                "{rel} is not allowed from {} ({h}) to {} ({t})",
                slot_types[hi], slot_types[ti]
            )));
        }
        if relations.iter().any(|(a, b, _)| *a == hi && *b == ti) {
            return Err(err(format!("pair ({h}, {t}) is listed twice")));
        }
        relations.push((hi, ti, rel.to_string()));
    }
    Ok(Template { pieces, slot_types, relations })
}

/// A document's text as it grows, with its length in chars (entity offsets are char offsets).
#[derive(Default)]
struct DocBuilder {
    text: String,
    len: usize,
    entities: Vec<EntityInput>,
    relations: Vec<RelationInput>,
    sentences: usize,
}

impl DocBuilder {
    fn push(&mut self, s: &str) {
        self.text.push_str(s);
        self.len += s.chars().count();
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet, HashMap};

    use emrel_core::{PreparedDocument, prepare_document};

    use super::*;

    const NEGATIONS: [&str; 5] = ["无", "未", "否认", "没有", "不"];

    fn prepared(docs: Vec<DocumentInput>) -> Vec<PreparedDocument> {
        let schema = Schema::paper_default();
        docs.into_iter()
            .map(|d| {
                let name = d.name.clone();
                prepare_document(&schema, d, false)
                    .unwrap_or_else(|e| panic!("{name} does not prepare: {e}"))
            })
            .collect()
    }

    /// Relation -> number of gold labels.
    fn relation_counts(docs: &[PreparedDocument]) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for l in docs.iter().flat_map(|d| &d.labels) {
            *counts.entry(l.relation.clone()).or_insert(0) += 1;
        }
        counts
    }

    #[test]
    fn demo_data_loads_and_every_template_relation_is_allowed_by_the_schema() {
        let demo = Demo::load(WORDS_TOML, TEMPLATES_TOML, DOCUMENTS_TOML).unwrap();
        let schema = Schema::paper_default();
        let mut templates = 0;
        for g in &demo.groups {
            for t in &g.templates {
                templates += 1;
                for (h, tl, r) in &t.relations {
                    assert!(
                        schema.allows(r, &t.slot_types[*h], &t.slot_types[*tl]),
                        "group {}: {r} from {} to {}",
                        g.name,
                        t.slot_types[*h],
                        t.slot_types[*tl]
                    );
                }
            }
        }
        assert!(templates >= 80, "only {templates} templates");
        // `load` rejects a relation the schema forbids, naming the template.
        let bad = TEMPLATES_TOML.to_string()
            + "\n[[template]]\ngroup = \"exam\"\ntext = \"{region:p1}{local:s1}\"\n\
               relations = [[\"p1\", \"s1\", \"SAP\"]]\n";
        let err = Demo::load(WORDS_TOML, &bad, DOCUMENTS_TOML).err().unwrap();
        assert_eq!(
            err,
            "template `{region:p1}{local:s1}`: SAP is not allowed from position (p1) to symptom (s1)"
        );
    }

    #[test]
    fn demo_word_lists_are_large_and_each_word_has_one_type() {
        let demo = Demo::bundled();
        let mut per_type: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        let mut type_of: HashMap<&str, &str> = HashMap::new();
        for l in &demo.lists {
            for w in &l.words {
                per_type.entry(&l.entity_type).or_default().insert(w);
                let prev = type_of.insert(w, &l.entity_type);
                assert!(
                    prev.is_none_or(|p| p == l.entity_type),
                    "`{w}` is both {} and {}",
                    prev.unwrap_or_default(),
                    l.entity_type
                );
            }
        }
        for ty in ["treatment", "disease", "symptom", "test", "position"] {
            let n = per_type.get(ty).map_or(0, BTreeSet::len);
            assert!(n >= 40, "only {n} distinct {ty} words");
        }
    }

    #[test]
    fn demo_is_deterministic_for_a_seed() {
        assert_eq!(generate(300, 7), generate(300, 7));
        assert_ne!(generate(300, 7), generate(300, 8));
        assert!(generate(0, 7).is_empty());
        let names: Vec<String> = generate(40, 1).into_iter().map(|d| d.name).collect();
        assert_eq!(names[0], "demo-00001");
        assert_eq!(names[1], "demo-00002");
    }

    #[test]
    fn demo_prepares_strictly_with_one_gold_label_per_candidate_pair() {
        let docs = generate(5000, 42);
        let expected: Vec<(usize, usize)> =
            docs.iter().map(|d| (d.entities.len(), d.relations.len())).collect();
        for d in &docs {
            for e in &d.entities {
                assert_eq!(e.origin, Origin::new("demo", 0));
                assert!(e.mention.is_some());
            }
            for r in &d.relations {
                assert_eq!(r.provenance, Provenance::new(LabelSource::Gold));
            }
        }
        let prepared = prepared(docs);
        let mut sentences = 0;
        for (p, (entities, relations)) in prepared.iter().zip(expected) {
            assert!(p.skipped.is_empty());
            assert_eq!(p.cross_sentence_relations, 0, "{}", p.name);
            assert_eq!(p.labels.len(), relations, "{}: a label was merged or dropped", p.name);
            assert_eq!(p.sentences.iter().map(|s| s.entities.len()).sum::<usize>(), entities);
            sentences += p.sentences.len();
            for (si, s) in p.sentences.iter().enumerate() {
                let labeled: Vec<(usize, usize)> = p
                    .labels
                    .iter()
                    .filter(|l| l.sentence == si)
                    .map(|l| (l.head, l.tail))
                    .collect();
                let unique: BTreeSet<(usize, usize)> = labeled.iter().copied().collect();
                assert_eq!(
                    unique.len(),
                    labeled.len(),
                    "{} sentence {si}: a pair has two labels",
                    p.name
                );
                let pairs: BTreeSet<(usize, usize)> = s.pairs.iter().copied().collect();
                assert_eq!(unique, pairs, "{} sentence {si}: `{}`", p.name, s.text);
            }
        }
        assert!(sentences >= 5000, "only {sentences} sentences");
    }

    #[test]
    fn demo_has_every_relation_in_a_skewed_mix() {
        let prepared = prepared(generate(5000, 42));
        let counts = relation_counts(&prepared);
        let total: usize = counts.values().sum();
        for (r, n) in &counts {
            println!("{r:>5} {n:>6} {:5.1}%", 100.0 * *n as f64 / total as f64);
        }
        println!("total {total:>6}");
        let schema = Schema::paper_default();
        for class in schema.classes() {
            assert!(counts.get(&class).copied().unwrap_or(0) > 0, "no {class} label");
        }
        let share = |r: &str| counts.get(r).copied().unwrap_or(0) as f64 / total as f64;
        assert!((0.6..=0.8).contains(&share(NONE)), "none is {:.2} of the pairs", share(NONE));
        // The paper's Table 3 skew: TeAP and SNAP are common, TeAS, TeRS and TrAP rare.
        for common in ["TeAP", "SNAP"] {
            for rare in ["TeAS", "TeRS", "TrAP"] {
                assert!(share(common) > 2.0 * share(rare), "{common} vs {rare}");
            }
        }
    }

    #[test]
    fn demo_negation_words_do_not_separate_sap_from_snap() {
        let prepared = prepared(generate(5000, 42));
        // (relation, sentence has a negation word) -> count, over symptom -> position pairs.
        let mut seen: BTreeMap<(String, bool), usize> = BTreeMap::new();
        for p in &prepared {
            for l in &p.labels {
                let s = &p.sentences[l.sentence];
                if s.entities[l.head].entity_type != "symptom" {
                    continue;
                }
                let negated = NEGATIONS.iter().any(|n| s.text.contains(n));
                *seen.entry((l.relation.clone(), negated)).or_insert(0) += 1;
            }
        }
        println!("symptom -> position (relation, sentence has a negation word): {seen:?}");
        for r in ["SAP", "SNAP", NONE] {
            for negated in [false, true] {
                let n = seen.get(&(r.to_string(), negated)).copied().unwrap_or(0);
                assert!(
                    n > 0,
                    "{r} never occurs {} a negation word",
                    ["without", "with"][negated as usize]
                );
            }
        }
        // The best rule "negation word -> SNAP, else SAP" is far from perfect on SAP/SNAP pairs.
        let get = |r: &str, n: bool| seen.get(&(r.to_string(), n)).copied().unwrap_or(0) as f64;
        let right = get("SNAP", true) + get("SAP", false);
        let all = right + get("SNAP", false) + get("SAP", true);
        let accuracy = right.max(all - right) / all;
        println!("keyword rule accuracy on SAP vs SNAP: {accuracy:.2}");
        assert!(accuracy < 0.8, "a negation keyword separates SAP from SNAP ({accuracy:.2})");
    }

    #[test]
    fn demo_test_position_relations_need_structure_not_a_keyword() {
        let prepared = prepared(generate(5000, 42));
        // Both TeAP and TeCP (and none) occur in sentences with a result marker (示/提示).
        let mut seen: BTreeSet<(String, bool)> = BTreeSet::new();
        for p in &prepared {
            for l in &p.labels {
                let s = &p.sentences[l.sentence];
                let (h, t) = (&s.entities[l.head], &s.entities[l.tail]);
                if h.entity_type == "test" && t.entity_type == "position" {
                    seen.insert((l.relation.clone(), s.text.contains('示')));
                }
            }
        }
        for r in ["TeAP", "TeCP", NONE] {
            assert!(seen.contains(&(r.to_string(), true)), "{r} never occurs with 示");
        }
        assert!(seen.contains(&("TeAP".to_string(), false)));
    }

    #[test]
    fn demo_generates_quickly() {
        // Debug builds are ~10x slower than release; the budget here is generous for CI.
        let start = std::time::Instant::now();
        let docs = generate(5000, 3);
        let elapsed = start.elapsed();
        assert!(!docs.is_empty());
        assert!(elapsed.as_secs_f64() < 5.0, "took {elapsed:?}");
    }
}
