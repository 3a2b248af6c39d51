//! The live trigger of bootstrapping: "each time the reliable set reaches its batch size N, the
//! model is retrained on the grown corpus". A front end asks [`Project::auto_bootstrap`] when a
//! training or bootstrapping job has finished (and when it opens a project) and, when it
//! answers with a run, starts that bootstrapping job.

use emrel_store::{IterationStatus, JobStatus};
use serde::Serialize;

use crate::Project;
use crate::bootstrap::BootstrapOptions;
use crate::error::{Result, json_err};
use crate::queue;
use crate::training::TrainOptions;

/// A bootstrapping run that is due, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AutoBootstrap {
    /// The reliable set's size n…
    pub reliable: usize,
    /// …which reached N.
    pub batch_size: usize,
    /// The run: the project's λ, N, per-relation cap and tolerance, and the training options
    /// of the last training or bootstrapping job (else the current model's kind and preset).
    pub options: BootstrapOptions,
}

impl Project {
    /// Whether bootstrapping should start on its own now (see [`Project::auto_bootstrap`]).
    pub async fn bootstrap_due(&self) -> Result<bool> {
        Ok(self.auto_bootstrap().await?.is_some())
    }

    /// The bootstrapping run that is due, if one is: the project's `auto_bootstrap` setting is
    /// on, a current model has scored the pool, no iteration waits for a reviewer (the last one
    /// is neither rejected nor quarantined), and the reliable set has reached the batch size.
    pub async fn auto_bootstrap(&self) -> Result<Option<AutoBootstrap>> {
        let settings = self.settings().await?;
        if !settings.auto_bootstrap {
            return Ok(None);
        }
        let Some(current) = self.store.current_model().await? else { return Ok(None) };
        let waiting = self.store.iterations().await?.last().is_some_and(|it| {
            matches!(it.status, IterationStatus::Rejected | IterationStatus::Quarantined)
        });
        if waiting {
            return Ok(None);
        }
        let lambda = settings.lambda();
        let rows = self.store.queue_rows(Some(current), None).await?;
        let reliable = rows.iter().filter(|r| queue::is_reliable(r, &lambda)).count();
        if reliable < settings.batch_size {
            return Ok(None);
        }
        let mut train = self.last_train_options().await?;
        train.gold_fraction = settings.gold_fraction;
        let options = BootstrapOptions {
            train,
            threshold: settings.threshold,
            batch_size: settings.batch_size,
            per_relation_cap: settings.per_relation_cap,
            tolerance_points: settings.tolerance_points,
            ..BootstrapOptions::default()
        };
        Ok(Some(AutoBootstrap { reliable, batch_size: settings.batch_size, options }))
    }

    /// The training options of the newest succeeded training or bootstrapping job; the current
    /// model's kind and preset when there is none.
    async fn last_train_options(&self) -> Result<TrainOptions> {
        for job in self.store.jobs().await? {
            if job.status != JobStatus::Succeeded {
                continue;
            }
            match job.kind.as_str() {
                "train" => return serde_json::from_str(&job.params_json).map_err(json_err),
                "bootstrap" => {
                    let b: BootstrapOptions =
                        serde_json::from_str(&job.params_json).map_err(json_err)?;
                    return Ok(b.train);
                }
                _ => {}
            }
        }
        let current = self.models().await?.into_iter().find(|m| m.current);
        Ok(match current {
            Some(m) => TrainOptions { model: m.model, preset: m.preset, ..TrainOptions::default() },
            None => TrainOptions::default(),
        })
    }
}
