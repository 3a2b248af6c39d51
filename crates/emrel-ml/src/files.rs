//! The files of a model folder are written so that a kill or a crash leaves either the old file
//! or the whole new one: each is written under a temporary name in the same folder, fsynced,
//! renamed over the old one, and the folder fsynced so that the rename itself is durable.

use std::fs::File;
use std::path::{Path, PathBuf};

use emrel_core::model::ModelError;

use crate::train::io_err;

/// The temporary name `path` is written under: hidden, in the same folder (a rename within
/// one file system is atomic), with the same extension (Burn's recorders set their own).
pub(crate) fn partial(path: &Path) -> PathBuf {
    let stem = path.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
    let name = match path.extension() {
        Some(ext) => format!(".{stem}-partial.{}", ext.to_string_lossy()),
        None => format!(".{stem}-partial"),
    };
    path.with_file_name(name)
}

/// Replaces `path` with what `write` writes to the temporary path it is given.
pub(crate) fn replace(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<(), ModelError>,
) -> Result<(), ModelError> {
    let tmp = partial(path);
    write(&tmp)?;
    File::open(&tmp).and_then(|f| f.sync_all()).map_err(|e| io_err(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io_err(path, e))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// Replaces `path` with `bytes`.
pub(crate) fn write(path: &Path, bytes: impl AsRef<[u8]>) -> Result<(), ModelError> {
    replace(path, |tmp| std::fs::write(tmp, bytes.as_ref()).map_err(|e| io_err(tmp, e)))
}

/// Makes the folder's entries (a rename, a new file) durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), ModelError> {
    #[cfg(unix)]
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io_err(dir, e))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replaced_file_holds_the_new_content_and_no_partial_file_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meta.json");
        write(&path, "old").unwrap();
        write(&path, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        assert_eq!(names, ["meta.json"]);
        assert_eq!(partial(&path), dir.path().join(".meta-partial.json"));
    }

    #[test]
    fn a_failed_write_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.bin");
        write(&path, "old").unwrap();
        let err = replace(&path, |_| Err(ModelError::Io("disk full".into()))).unwrap_err();
        assert!(err.to_string().contains("disk full"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
    }
}
