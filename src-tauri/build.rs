//! Build script of the desktop app: generates the Tauri context from the root `tauri.conf.json`
//! and the app permissions of the commands the UI may call (one `allow-<command>` each, granted in
//! `src-tauri/capabilities/main.json`).

include!("src/command_names.rs");

fn main() {
    // `generate_context!` embeds `ui/dist`; a checkout where the UI was never built still
    // compiles (clippy, `cargo test`) and the window then says how to build the UI.
    let dist = std::path::Path::new("ui/dist");
    if !dist.join("index.html").exists() {
        std::fs::create_dir_all(dist).expect("cannot create ui/dist");
        std::fs::write(dist.join("index.html"), UNBUILT_UI).expect("cannot write ui/dist");
    }
    println!("cargo:rerun-if-changed=ui/dist");
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    println!("cargo:rerun-if-changed=src-tauri/src/command_names.rs");
    let manifest = tauri_build::AppManifest::new().commands(COMMANDS);
    let attributes = tauri_build::Attributes::new()
        .app_manifest(manifest)
        .capabilities_path_pattern("src-tauri/capabilities/**/*");
    tauri_build::try_build(attributes).expect("tauri build step failed");
}

const UNBUILT_UI: &str = "<!doctype html><meta charset=utf-8><title>EMRel</title>\
<p>The user interface was not built. Run <code>npm --prefix ui ci && npm --prefix ui run build</code> \
and build the app again (<code>./run-demo</code> does both).</p>\n";
