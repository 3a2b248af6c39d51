//! Reading input files: UTF-8 validation with a useful position, and directory walks in a stable
//! order so that imports are deterministic.

use std::path::{Path, PathBuf};

use emrel_core::{Origin, PrepareError};

/// Reads a UTF-8 text file; an invalid byte is reported with its line.
pub fn read_text(path: &Path) -> Result<String, PrepareError> {
    let bytes = std::fs::read(path).map_err(|e| {
        PrepareError::new(Origin::new(path.display().to_string(), 0), format!("cannot read: {e}"))
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let pos = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..pos].iter().filter(|&&b| b == b'\n').count() + 1;
        PrepareError::new(
            Origin::new(path.display().to_string(), line),
            format!("invalid UTF-8 at byte {pos}"),
        )
    })
}

/// `text` without a leading byte order mark. Annotation files (brat `.ann`, CCKS entity lists, the
/// gold CSV, JSONL) carry no offsets into themselves, so an editor's BOM there is noise that would
/// otherwise turn the first line into an unknown record. Text files keep theirs: brat and CCKS
/// count their offsets from the file's first char, so stripping it would shift every entity.
pub fn without_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// Every file under `root` (or `root` itself) for which `keep` holds, sorted by path.
pub fn walk(root: &Path, keep: &dyn Fn(&Path) -> bool) -> Result<Vec<PathBuf>, PrepareError> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        let meta = std::fs::metadata(&p).map_err(|e| {
            PrepareError::new(Origin::new(p.display().to_string(), 0), format!("cannot read: {e}"))
        })?;
        if meta.is_dir() {
            let entries = std::fs::read_dir(&p).map_err(|e| {
                PrepareError::new(
                    Origin::new(p.display().to_string(), 0),
                    format!("cannot list: {e}"),
                )
            })?;
            for entry in entries {
                let entry = entry.map_err(|e| {
                    PrepareError::new(Origin::new(p.display().to_string(), 0), e.to_string())
                })?;
                stack.push(entry.path());
            }
        } else if keep(&p) {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

/// The path of `path` relative to `root` without its extension(s) `suffix`, with `/` separators:
/// the document name an import gives a file.
pub fn doc_name(root: &Path, path: &Path, suffix: &str) -> String {
    let rel = if root.is_dir() { path.strip_prefix(root).unwrap_or(path) } else { path };
    let rel = if root.is_dir() {
        rel.to_path_buf()
    } else {
        PathBuf::from(rel.file_name().unwrap_or_default())
    };
    let s = rel.to_string_lossy().replace('\\', "/");
    s.strip_suffix(suffix).unwrap_or(&s).to_string()
}
