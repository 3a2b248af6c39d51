//! The `emrel-desktop` binary: opens the EMRel window.

// No console window next to the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

/// mimalloc keeps freed model intermediates for reuse; glibc's malloc unmaps and refaults them
/// (bench/README.md, "malloc").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    emrel_desktop::run();
}
