//! The corpus statistics query (shared by both backends).

use std::collections::BTreeMap;

use sqlx::Row;

use super::Queries;
use crate::Result;
use crate::stats::{CategoryStats, Stats};

impl Queries {
    pub async fn stats(&self) -> Result<Stats> {
        let count = |sql: &'static str| async move {
            sqlx::query_scalar::<_, i64>(sql).fetch_one(&self.pool).await.map(|n| n as usize)
        };
        let documents = count("SELECT COUNT(*) FROM document").await?;
        let sentences = count("SELECT COUNT(*) FROM sentence").await?;
        let entities = count("SELECT COUNT(*) FROM entity").await?;
        let pairs = count("SELECT COUNT(*) FROM pair").await?;
        let labeled = count("SELECT COUNT(*) FROM current_label").await?;
        let cross = count(
            "SELECT CAST(COALESCE(SUM(cross_sentence_relations), 0) AS BIGINT) FROM document",
        )
        .await?;

        let mut entities_per_type: BTreeMap<String, usize> =
            self.schema.entity_types.iter().map(|t| (t.name.clone(), 0)).collect();
        for row in sqlx::query("SELECT entity_type, COUNT(*) FROM entity GROUP BY entity_type")
            .fetch_all(&self.pool)
            .await?
        {
            entities_per_type.insert(row.get(0), row.get::<i64, _>(1) as usize);
        }

        let mut categories: Vec<CategoryStats> = self
            .schema
            .pair_categories()
            .into_iter()
            .map(|(h, t)| CategoryStats {
                category: emrel_core::Schema::pair_category(&h, &t),
                pairs: 0,
                labels: BTreeMap::new(),
                gold: BTreeMap::new(),
            })
            .collect();
        for row in sqlx::query("SELECT category, COUNT(*) FROM pair GROUP BY category")
            .fetch_all(&self.pool)
            .await?
        {
            let cat: String = row.get(0);
            if let Some(c) = categories.iter_mut().find(|c| c.category == cat) {
                c.pairs = row.get::<i64, _>(1) as usize;
            }
        }
        let mut labels: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
        for (view, gold) in [("current_label", false), ("gold_label", true)] {
            let sql = format!(
                "SELECT p.category, l.relation, l.source, COUNT(*) FROM {view} l
                 JOIN pair p ON p.pair_id = l.pair_id GROUP BY p.category, l.relation, l.source"
            );
            for row in sqlx::query(&sql).fetch_all(&self.pool).await? {
                let (cat, rel, src): (String, String, String) =
                    (row.get(0), row.get(1), row.get(2));
                let n = row.get::<i64, _>(3) as usize;
                *labels.entry(rel.clone()).or_default().entry(src).or_default() += n;
                if let Some(c) = categories.iter_mut().find(|c| c.category == cat) {
                    let m = if gold { &mut c.gold } else { &mut c.labels };
                    *m.entry(rel).or_default() += n;
                }
            }
        }
        Ok(Stats {
            schema: self.schema.name.clone(),
            documents,
            sentences,
            entities,
            entities_per_type,
            pairs,
            unlabeled_pairs: pairs - labeled,
            categories,
            labels,
            cross_sentence_relations: cross,
        })
    }
}
