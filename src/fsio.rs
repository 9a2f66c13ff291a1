//! Reading and writing files safely, whatever the path turns out to be.
//!
//! Reads are bounded by the bytes actually read (a device reports a size of 0 and `/dev/zero`
//! never ends) and accept only regular files (a FIFO would block forever). Writes go to a
//! temporary file next to the target and are renamed over it only when complete, through
//! symlinks to the file they point at, and never onto a device, FIFO or socket. Every failure is
//! one lowercase phrase, without the operating system's error number or a temporary file's name.

use std::fs::{File, Metadata};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// How many symlinks a write follows before it gives up (as the kernel does with ELOOP).
const MAX_SYMLINKS: usize = 40;

/// An I/O error as a phrase for "cannot read `X`: ...".
pub fn reason(e: &io::Error) -> String {
    use io::ErrorKind as K;
    if e.raw_os_error() == Some(libc::ELOOP) {
        return "too many levels of symbolic links".to_string();
    }
    let phrase = match e.kind() {
        K::NotFound => "no such file",
        K::PermissionDenied => "permission denied",
        K::StorageFull => "no space left on device",
        K::ReadOnlyFilesystem => "the file system is read-only",
        K::IsADirectory => "it is a directory",
        K::NotADirectory => "a part of the path is not a directory",
        K::QuotaExceeded => "the disk quota is exceeded",
        K::FileTooLarge => "the file is too large",
        K::InvalidFilename => "the file name is too long or invalid",
        K::BrokenPipe => "the reader closed the pipe",
        K::InvalidData => "the bytes are not valid UTF-8",
        _ => "",
    };
    if !phrase.is_empty() {
        return phrase.to_string();
    }
    // Anything else in the system's words, without "(os error N)" or a temporary file's path.
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    let text = text.split(" at path ").next().unwrap_or(text);
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => "unknown error".to_string(),
    }
}

/// What a file that is not a regular one is, for messages.
fn kind_of(meta: &Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Why a file is refused where a regular one is expected, as a phrase.
fn not_regular(meta: &Metadata) -> String {
    match kind_of(meta) {
        "not a regular file" => "it is not a regular file".to_string(),
        kind => format!("it is {kind}, not a regular file"),
    }
}

/// Creates the directory `dir` and its parents. The error is a phrase for "cannot create the
/// directory `dir`: ...", and names what is in the way when something else has that name.
pub fn create_dir_all(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| match std::fs::metadata(dir) {
        Ok(meta) if e.kind() == io::ErrorKind::AlreadyExists && !meta.is_dir() => {
            if meta.is_file() {
                "it is a regular file, not a directory".to_string()
            } else {
                format!("it is {}, not a directory", kind_of(&meta))
            }
        }
        _ => reason(&e),
    })
}

/// Reads the regular file at `path` (following symlinks), refusing one of more than `limit`
/// bytes. The error is a phrase for "cannot read `path`: ...".
pub fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let meta = std::fs::metadata(path).map_err(|e| reason(&e))?;
    if !meta.is_file() {
        return Err(not_regular(&meta));
    }
    // What the file system reports is checked first, so a huge file is refused without reading
    // it; what is read is counted as well, since a file can grow meanwhile.
    if meta.len() > limit {
        return Err(format!(
            "it is {} MiB, larger than the {} MiB such a file may be",
            meta.len() / (1024 * 1024),
            limit / (1024 * 1024)
        ));
    }
    // Non-blocking, so that a FIFO swapped in after the check cannot make the open wait forever;
    // the opened file is checked again.
    let file = File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| reason(&e))?;
    let meta = file.metadata().map_err(|e| reason(&e))?;
    if !meta.is_file() {
        return Err(not_regular(&meta));
    }
    read_bounded(file, limit)
}

/// Reads everything from `reader`, refusing more than `limit` bytes.
pub fn read_bounded(reader: impl Read, limit: u64) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    reader
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| reason(&e))?;
    if bytes.len() as u64 > limit {
        return Err(too_large(limit));
    }
    Ok(bytes)
}

/// The phrase for a file over the limit.
pub fn too_large(limit: u64) -> String {
    if limit >= 1024 * 1024 {
        format!(
            "it is larger than the {} MiB such a file may be",
            limit / (1024 * 1024)
        )
    } else {
        format!("it is larger than the {limit} bytes such a file may be")
    }
}

/// Why a file could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot write `{path}`: {reason}")]
pub struct WriteError {
    /// The path as the user gave it.
    pub path: String,
    pub reason: String,
}

/// Writes `contents` to `path` atomically: readers see the old file or the new one, never a part.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), WriteError> {
    write_all_atomically(&[(path, contents)])
}

/// Writes every file, or none: each is written to a temporary file next to its target first, and
/// only when all are complete are they renamed over their targets.
pub fn write_all_atomically(files: &[(&Path, &[u8])]) -> Result<(), WriteError> {
    let mut staged = Vec::with_capacity(files.len());
    for &(path, contents) in files {
        let fail = |reason: String| WriteError {
            path: path.display().to_string(),
            reason,
        };
        let target = final_target(path).map_err(fail)?;
        let temp = stage(&target, contents).map_err(fail)?;
        staged.push((path, target, temp));
    }
    for (path, target, temp) in staged {
        temp.persist(&target).map_err(|e| WriteError {
            path: path.display().to_string(),
            reason: reason(&e.error),
        })?;
    }
    Ok(())
}

/// The file a write to `path` replaces: `path` itself, or the file its chain of symlinks ends at.
/// An existing target that is not a regular file is refused.
fn final_target(path: &Path) -> Result<PathBuf, String> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_SYMLINKS {
        match std::fs::symlink_metadata(&current) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(current),
            Err(e) => return Err(reason(&e)),
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = std::fs::read_link(&current).map_err(|e| reason(&e))?;
                current = match current.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            Ok(meta) if meta.is_file() => return Ok(current),
            Ok(meta) => {
                return Err(format!(
                    "{}; portcullis writes only regular files",
                    not_regular(&meta)
                ))
            }
        }
    }
    Err(reason(&io::Error::from_raw_os_error(libc::ELOOP)))
}

/// `contents` in a complete, synced temporary file in `target`'s directory, with the mode of the
/// file it will replace (or 0644). The file is closed: a fleet of thousands of hosts is staged
/// whole before the first rename, and open files would run out at the process's limit (often
/// 1,024); the path still removes the file if it is never persisted.
fn stage(target: &Path, contents: &[u8]) -> Result<tempfile::TempPath, String> {
    use std::os::unix::fs::PermissionsExt;
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut file = tempfile::Builder::new()
        .prefix(".portcullis-")
        .tempfile_in(dir)
        .map_err(|e| reason(&e))?;
    let mode = std::fs::metadata(target)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o644);
    file.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(|e| reason(&e))?;
    file.write_all(contents).map_err(|e| reason(&e))?;
    file.as_file().sync_all().map_err(|e| reason(&e))?;
    Ok(file.into_temp_path())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::FileTypeExt;

    use super::*;

    #[test]
    fn reads_are_bounded_by_the_bytes_read() {
        let err = read_regular(Path::new("/dev/zero"), 1024).unwrap_err();
        assert_eq!(err, "it is a character device, not a regular file");
        let err = read_bounded(io::repeat(b'x'), 1024).unwrap_err();
        assert!(err.contains("larger than the 1024 bytes"), "{err}");
        assert_eq!(read_bounded(&b"abc"[..], 3).unwrap(), b"abc");
    }

    #[test]
    fn directories_and_fifos_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            read_regular(dir.path(), 10).unwrap_err(),
            "it is a directory, not a regular file"
        );
        let fifo = dir.path().join("fifo");
        nix_mkfifo(&fifo);
        assert_eq!(
            read_regular(&fifo, 10).unwrap_err(),
            "it is a FIFO, not a regular file"
        );
        let err = write_atomically(&fifo, b"x").unwrap_err();
        assert!(err.reason.starts_with("it is a FIFO"), "{err}");
        assert!(std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo());
    }

    #[test]
    fn writes_go_through_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.nft");
        std::fs::write(&target, "old").unwrap();
        let link = dir.path().join("link.nft");
        std::os::unix::fs::symlink("real.nft", &link).unwrap();
        write_atomically(&link, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        let looped = dir.path().join("loop");
        std::os::unix::fs::symlink("loop", &looped).unwrap();
        let err = write_atomically(&looped, b"x").unwrap_err();
        assert_eq!(err.reason, "too many levels of symbolic links");
    }

    #[test]
    fn devices_are_never_replaced() {
        let err = write_atomically(Path::new("/dev/null"), b"x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot write `/dev/null`: it is a character device, not a regular file; \
             portcullis writes only regular files"
        );
        assert!(!std::fs::metadata("/dev/null").unwrap().is_file());
    }

    #[test]
    fn all_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.nft");
        std::fs::write(&a, "old").unwrap();
        let missing = dir.path().join("no-such-dir/b.nft");
        let err = write_all_atomically(&[(&a, b"new"), (&missing, b"new")]).unwrap_err();
        assert_eq!(err.reason, "no such file");
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    fn nix_mkfifo(path: &Path) {
        nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    }
}
