//! The schema says which entity types exist, which relations exist, and which (head type, tail
//! type) pairs each relation may link. Every other part of EMRel asks the schema before it creates
//! a pair or accepts a label, so a relation can never be attached to a pair its types forbid.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::label::NONE;

/// An entity type with the names under which corpora may spell it (e.g. CCKS 2017's `身体部位`
/// for `position`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityTypeDef {
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// CSS colour used to highlight entities of this type in the desktop app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
}

/// A relation type and the ordered (head type, tail type) pairs it may link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelationDef {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Allowed `[head, tail]` entity-type pairs, by canonical entity-type name.
    pub args: Vec<[String; 2]>,
}

/// A validated schema. Construct it with [`Schema::new`], [`Schema::from_toml`],
/// [`Schema::from_json`] or [`Schema::paper_default`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    pub name: String,
    #[serde(rename = "entity")]
    pub entity_types: Vec<EntityTypeDef>,
    #[serde(rename = "relation")]
    pub relations: Vec<RelationDef>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SchemaError {
    #[error("schema file is not valid TOML: {0}")]
    Toml(String),
    #[error("schema file is not valid JSON: {0}")]
    Json(String),
    #[error("schema defines no entity types")]
    NoEntityTypes,
    #[error("entity type `{0}` is defined twice (as a name or an alias)")]
    DuplicateEntityType(String),
    #[error("relation `{0}` is defined twice (as a name or an alias)")]
    DuplicateRelation(String),
    #[error("`{NONE}` is reserved for the no-relation class and cannot be defined")]
    ReservedNone,
    #[error("relation `{relation}` names unknown entity type `{entity_type}`")]
    UnknownArgType { relation: String, entity_type: String },
    #[error("relation `{0}` allows no (head, tail) type pair")]
    NoArgs(String),
}

const PAPER_SCHEMA_TOML: &str = include_str!("../../../assets/schemas/paper.toml");

impl Schema {
    /// Validates and builds a schema.
    pub fn new(
        name: impl Into<String>,
        entity_types: Vec<EntityTypeDef>,
        relations: Vec<RelationDef>,
    ) -> Result<Schema, SchemaError> {
        let schema = Schema { name: name.into(), entity_types, relations };
        schema.validate()?;
        Ok(schema)
    }

    /// The paper's Table 3 schema: five entity types with CCKS 2017 aliases and eleven relations.
    pub fn paper_default() -> Schema {
        Schema::from_toml(PAPER_SCHEMA_TOML).expect("the bundled paper schema is valid")
    }

    pub fn from_toml(text: &str) -> Result<Schema, SchemaError> {
        let schema: Schema = toml::from_str(text).map_err(|e| SchemaError::Toml(e.to_string()))?;
        schema.validate()?;
        Ok(schema)
    }

    pub fn from_json(text: &str) -> Result<Schema, SchemaError> {
        let schema: Schema =
            serde_json::from_str(text).map_err(|e| SchemaError::Json(e.to_string()))?;
        schema.validate()?;
        Ok(schema)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("schema serialises")
    }

    fn validate(&self) -> Result<(), SchemaError> {
        if self.entity_types.is_empty() {
            return Err(SchemaError::NoEntityTypes);
        }
        let mut seen = BTreeSet::new();
        for t in &self.entity_types {
            // A type may list its own name in another case as an alias; other types may not.
            let own: BTreeSet<String> =
                std::iter::once(&t.name).chain(&t.aliases).map(|n| n.to_lowercase()).collect();
            for n in own {
                if !seen.insert(n.clone()) {
                    return Err(SchemaError::DuplicateEntityType(n));
                }
            }
        }
        let mut rels = BTreeSet::new();
        for r in &self.relations {
            let own: BTreeSet<String> =
                std::iter::once(&r.name).chain(&r.aliases).map(|n| n.to_lowercase()).collect();
            for n in own {
                if n == NONE {
                    return Err(SchemaError::ReservedNone);
                }
                if !rels.insert(n.clone()) {
                    return Err(SchemaError::DuplicateRelation(n));
                }
            }
            if r.args.is_empty() {
                return Err(SchemaError::NoArgs(r.name.clone()));
            }
            for arg in r.args.iter().flatten() {
                if !self.entity_types.iter().any(|t| &t.name == arg) {
                    return Err(SchemaError::UnknownArgType {
                        relation: r.name.clone(),
                        entity_type: arg.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// The canonical name of an entity type given its name or one of its aliases (ASCII case is
    /// ignored).
    pub fn resolve_entity_type(&self, name: &str) -> Option<&str> {
        let name = name.trim();
        self.entity_types
            .iter()
            .find(|t| {
                t.name.eq_ignore_ascii_case(name)
                    || t.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
            })
            .map(|t| t.name.as_str())
    }

    /// The canonical name of a relation given its name or alias; `none` resolves to [`NONE`].
    pub fn resolve_relation(&self, name: &str) -> Option<&str> {
        let name = name.trim();
        if name.eq_ignore_ascii_case(NONE) {
            return Some(NONE);
        }
        self.relations
            .iter()
            .find(|r| {
                r.name.eq_ignore_ascii_case(name)
                    || r.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
            })
            .map(|r| r.name.as_str())
    }

    pub fn relation(&self, name: &str) -> Option<&RelationDef> {
        self.relations.iter().find(|r| r.name == name)
    }

    /// Relations that may link a head of type `head` to a tail of type `tail`, in schema order.
    pub fn relations_for<'a>(
        &'a self,
        head: &'a str,
        tail: &'a str,
    ) -> impl Iterator<Item = &'a RelationDef> + 'a {
        self.relations.iter().filter(move |r| r.args.iter().any(|[h, t]| h == head && t == tail))
    }

    /// Whether (head, tail) is a candidate pair: some relation allows these types in this order.
    pub fn is_candidate(&self, head: &str, tail: &str) -> bool {
        self.relations_for(head, tail).next().is_some()
    }

    /// Whether `relation` (canonical name, or [`NONE`]) may label a pair of these types. `none`
    /// is allowed on every candidate pair.
    pub fn allows(&self, relation: &str, head: &str, tail: &str) -> bool {
        if relation == NONE {
            return self.is_candidate(head, tail);
        }
        self.relations_for(head, tail).any(|r| r.name == relation)
    }

    /// The pair category shown in statistics, e.g. `symptom-position`.
    pub fn pair_category(head: &str, tail: &str) -> String {
        format!("{head}-{tail}")
    }

    /// All pair categories the schema allows, in schema order and without repeats.
    pub fn pair_categories(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for r in &self.relations {
            for [h, t] in &r.args {
                if !out.iter().any(|(a, b)| a == h && b == t) {
                    out.push((h.clone(), t.clone()));
                }
            }
        }
        out
    }

    /// The classes a model predicts: [`NONE`] first, then every relation in schema order.
    pub fn classes(&self) -> Vec<String> {
        std::iter::once(NONE.to_string())
            .chain(self.relations.iter().map(|r| r.name.clone()))
            .collect()
    }

    pub fn entity_type(&self, name: &str) -> Option<&EntityTypeDef> {
        self.entity_types.iter().find(|t| t.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_schema_matches_table_3() {
        let s = Schema::paper_default();
        let names: Vec<_> = s.relations.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            ["DAP", "SAP", "SNAP", "TeRD", "TeAP", "TeCP", "TeRS", "TeAS", "TrAD", "TrRD", "TrAP"]
        );
        assert_eq!(s.resolve_entity_type("身体部位"), Some("position"));
        assert_eq!(s.resolve_entity_type("疾病和诊断"), Some("disease"));
        assert_eq!(s.resolve_entity_type("Symptom"), Some("symptom"));
        assert_eq!(s.resolve_entity_type("drug"), None);
        assert!(s.relations.iter().all(|r| !r.description.is_empty()));
        assert_eq!(s.classes().len(), 12);
        assert_eq!(s.pair_categories().len(), 7);
    }

    #[test]
    fn relations_are_enforced_by_type_and_direction() {
        let s = Schema::paper_default();
        assert!(s.allows("SAP", "symptom", "position"));
        assert!(s.allows("SNAP", "symptom", "position"));
        assert!(!s.allows("SAP", "position", "symptom"), "direction matters");
        assert!(!s.allows("TeRD", "symptom", "position"));
        assert!(s.allows(NONE, "test", "disease"));
        assert!(!s.allows(NONE, "disease", "disease"), "none only on candidate pairs");
        let rels: Vec<_> = s.relations_for("test", "position").map(|r| r.name.as_str()).collect();
        assert_eq!(rels, ["TeAP", "TeCP"]);
        assert!(!s.is_candidate("disease", "symptom"));
    }

    #[test]
    fn custom_schema_is_validated() {
        let ok = r#"
            name = "tiny"
            [[entity]]
            name = "drug"
            aliases = ["Drug"]
            [[entity]]
            name = "disease"
            [[relation]]
            name = "treats"
            description = "drug treats disease"
            args = [["drug", "disease"]]
        "#;
        let s = Schema::from_toml(ok).unwrap();
        assert!(s.allows("treats", "drug", "disease"));
        let bad = ok.replace(r#"args = [["drug", "disease"]]"#, r#"args = [["drug", "gene"]]"#);
        assert_eq!(
            Schema::from_toml(&bad).unwrap_err().to_string(),
            "relation `treats` names unknown entity type `gene`"
        );
        let none = ok.replace(r#"name = "treats""#, r#"name = "none""#);
        assert_eq!(Schema::from_toml(&none).unwrap_err(), SchemaError::ReservedNone);
        let json = s.to_json();
        assert_eq!(Schema::from_json(&json).unwrap(), s);
    }

    #[test]
    fn ruijin_schema_loads() {
        let s = Schema::from_toml(include_str!("../../../assets/schemas/ruijin.toml")).unwrap();
        assert_eq!(s.entity_types.len(), 15);
        assert_eq!(s.relations.len(), 10);
        assert_eq!(s.resolve_relation("SideEff-Drug"), Some("SideEff-Drug"));
    }
}
