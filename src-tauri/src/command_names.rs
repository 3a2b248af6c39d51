// The commands the desktop app exposes, shared by `build.rs` (which generates one
// `allow-<command>` permission each) and the crate (a test checks that this list, the command
// table in `commands.rs` and the capability file agree).

pub const COMMANDS: &[&str] = &[
    "startup",
    "open_project",
    "create_project",
    "set_annotator",
    "import_corpus",
    "project_stats",
    "queue_window",
    "pair_item",
    "annotate_pair",
    "skip_pair",
    "undo_label",
    "queue_counts",
    "training_overview",
    "save_settings",
    "start_training",
    "start_bootstrap",
    "cancel_job",
    "review_overview",
    "review_action",
    "rollback_iteration",
    "relation_setting",
    "audit_summary",
    "audit_next",
    "audit_judge",
    "export_corpus",
];
