//! Every file and folder sslpron writes (models, checkpoints, reports, plots, embeddings) is written
//! under a hidden temporary name beside its destination and renamed into place: a reader — or a
//! process resuming after a kill — sees the old version or the new one, never half of one. A failed
//! write removes its temporary and leaves the destination as it was.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// A write that failed, with the destination it was for.
#[derive(Debug, thiserror::Error)]
#[error("{}: cannot write: {source}", path.display())]
pub struct WriteError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// The shells report errors as text: `?` turns a [`WriteError`] into its message.
impl From<WriteError> for String {
    fn from(e: WriteError) -> String {
        e.to_string()
    }
}

/// Writes `bytes` to `path` through `.NAME.partial` beside it. The folder must exist: a mistyped
/// output path fails instead of creating folders nobody asked for.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let fail = |source| WriteError { path: path.to_path_buf(), source };
    let temp = temporary_beside(path).map_err(fail)?;
    let result = std::fs::write(&temp, bytes).and_then(|()| std::fs::rename(&temp, path));
    result.map_err(|source| {
        let _ = std::fs::remove_file(&temp);
        fail(source)
    })
}

/// Builds the folder `path`: `fill` writes its contents into a fresh `.NAME.partial` folder beside it,
/// which then replaces `path` (an existing folder there is removed first). When `fill` fails, its
/// error is returned and the partial folder removed; `path` is then untouched.
pub fn write_dir<E: From<WriteError>>(path: &Path, fill: impl FnOnce(&Path) -> Result<(), E>) -> Result<(), E> {
    let fail = |source| WriteError { path: path.to_path_buf(), source };
    let temp = temporary_beside(path).map_err(fail)?;
    let _ = std::fs::remove_dir_all(&temp);
    std::fs::create_dir_all(&temp).map_err(fail)?;
    if let Err(e) = fill(&temp) {
        let _ = std::fs::remove_dir_all(&temp);
        return Err(e);
    }
    if path.is_dir() {
        std::fs::remove_dir_all(path).map_err(fail)?;
    }
    std::fs::rename(&temp, path).map_err(|source| {
        let _ = std::fs::remove_dir_all(&temp);
        E::from(fail(source))
    })
}

/// `DIR/.NAME.partial` for `DIR/NAME` (`./.NAME.partial` for a bare name).
fn temporary_beside(path: &Path) -> std::io::Result<PathBuf> {
    let name = path.file_name().ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"))?;
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut temp = OsString::from(".");
    temp.push(name);
    temp.push(".partial");
    Ok(parent.join(temp))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sslpron-fs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    #[test]
    fn a_file_is_replaced_whole_and_leaves_nothing_beside_it() {
        let dir = scratch("file");
        let path = dir.join("deep/report.json");
        let err = write_file(&path, b"one").unwrap_err();
        assert!(err.to_string().contains("deep/report.json: cannot write"), "{err}");
        assert_eq!(entries(&dir), Vec::<String>::new(), "no folder created for a missing one");
        std::fs::create_dir(dir.join("deep")).unwrap();
        write_file(&path, b"one").unwrap();
        write_file(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(entries(&dir.join("deep")), ["report.json"]);
        // A destination that cannot be written (a folder is in the way): named in the error, no debris.
        std::fs::create_dir_all(dir.join("taken")).unwrap();
        std::fs::write(dir.join("taken/x"), b"").unwrap();
        let err = write_file(&dir.join("taken"), b"three").unwrap_err();
        assert!(err.to_string().contains("taken: cannot write"), "{err}");
        assert_eq!(entries(&dir), ["deep", "taken"]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_folder_appears_complete_or_not_at_all() {
        let dir = scratch("dir");
        let path = dir.join("model");
        write_dir(&path, |staging| write_file(&staging.join("a"), b"1")).unwrap();
        write_dir(&path, |staging| write_file(&staging.join("b"), b"2")).unwrap();
        assert_eq!(entries(&path), ["b"], "the old folder's contents are gone");
        // A failing fill: the destination keeps its last complete version, no partial folder remains.
        let result: Result<(), WriteError> = write_dir(&path, |staging| {
            write_file(&staging.join("c"), b"3")?;
            Err(WriteError { path: staging.join("d"), source: std::io::Error::other("disk full") })
        });
        assert!(result.unwrap_err().to_string().contains("disk full"));
        assert_eq!(entries(&path), ["b"]);
        assert_eq!(entries(&dir), ["model"]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
