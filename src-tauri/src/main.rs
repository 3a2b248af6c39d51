//! The `emrel-desktop` binary: opens the EMRel window.

// No console window next to the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    emrel_desktop::run();
}
