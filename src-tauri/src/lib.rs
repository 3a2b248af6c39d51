//! EMRel's desktop app: a thin Tauri shell over `emrel-engine`. Commands (`commands.rs`) are a
//! few lines each into the engine; long work runs as engine jobs whose progress reaches the
//! window as typed events (`jobs.rs`); one error type `{code, message}` crosses to the UI
//! (`error.rs`); the TypeScript bindings are generated from the transport types (`views.rs`,
//! `bindings.rs`). The window's content security policy allows nothing remote, and the app's
//! capability grants only the commands the UI calls (and the native open/save dialogs).

pub mod bindings;
#[cfg(test)]
mod command_names;
pub mod commands;
pub mod error;
mod jobs;
mod state;
pub mod views;

use std::path::PathBuf;

use tauri::Manager;

pub use state::App;

/// Starts the app. `EMREL_DATA_DIR` overrides where projects and the recent list live (the
/// platform's data directory by default, e.g. `~/.local/share/org.emrel.desktop`).
pub fn run() {
    tauri::Builder::default()
        // Native open/save dialogs for the file fields; the capability grants open and save only.
        .plugin(tauri_plugin_dialog::init())
        .setup(|app| {
            let data_dir = match std::env::var_os("EMREL_DATA_DIR") {
                Some(dir) => PathBuf::from(dir),
                None => app.path().app_data_dir()?,
            };
            app.manage(App::new(app.handle().clone(), data_dir));
            Ok(())
        })
        .invoke_handler(commands::handler())
        .run(tauri::generate_context!())
        .expect("the EMRel window could not start");
}
