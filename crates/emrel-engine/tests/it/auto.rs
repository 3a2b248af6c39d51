//! The live trigger: bootstrapping is due when the reliable set reaches N after a training.

use std::sync::Arc;

use emrel_engine::{CancelToken, NullSink, Queue};

use crate::{demo_project, label_from_gold, tiny};
use emrel_testdb::{Target, both};

both!(bootstrapping_is_due_when_the_reliable_set_reaches_n);
async fn bootstrapping_is_due_when_the_reliable_set_reaches_n(t: Target) {
    let project = demo_project(&t, 120, 5).await;
    crate::without_auto_quarantine(&project).await;
    label_from_gold(&project, 200, "ann").await;
    assert!(project.settings().await.unwrap().auto_bootstrap, "on by default");
    assert!(!project.bootstrap_due().await.unwrap(), "no model has scored the pool yet");

    let mut settings = project.settings().await.unwrap();
    settings.threshold = 0.0;
    settings.tolerance_points = 100.0;
    project.set_settings(&settings).await.unwrap();
    project.train(&tiny(1), Arc::new(NullSink), CancelToken::new()).await.unwrap();
    let reliable = project.counts(&Queue::confirm(), "ann").await.unwrap().reliable;
    assert!(reliable > 0, "at λ = 0 every scored unlabeled pair is reliable");

    settings.batch_size = reliable + 1;
    project.set_settings(&settings).await.unwrap();
    assert!(!project.bootstrap_due().await.unwrap(), "n = N − 1 is not enough");

    settings.batch_size = reliable;
    project.set_settings(&settings).await.unwrap();
    let due = project.auto_bootstrap().await.unwrap().expect("n = N: due");
    assert_eq!((due.reliable, due.batch_size), (reliable, reliable));
    assert_eq!(due.options.threshold, 0.0, "the project's λ");
    assert_eq!(due.options.batch_size, reliable, "the project's N");
    assert_eq!(due.options.tolerance_points, 100.0);
    let train = &due.options.train;
    assert_eq!(
        (train.model.as_str(), train.preset.as_str(), train.epochs),
        ("cnn", "tiny", Some(1)),
        "trains like the last training job"
    );

    settings.auto_bootstrap = false;
    project.set_settings(&settings).await.unwrap();
    assert!(!project.bootstrap_due().await.unwrap(), "the setting turns it off");
    settings.auto_bootstrap = true;
    project.set_settings(&settings).await.unwrap();

    // The due run admits the reliable set as one iteration; afterwards nothing is due.
    let report =
        project.bootstrap(&due.options, Arc::new(NullSink), CancelToken::new()).await.unwrap();
    assert_eq!(report.iterations.first().map(|i| i.admitted), Some(reliable));
    let after = project.counts(&Queue::confirm(), "ann").await.unwrap().reliable;
    assert!(after < reliable, "the reliable set was admitted ({after} left)");
    assert!(!project.bootstrap_due().await.unwrap());
}
