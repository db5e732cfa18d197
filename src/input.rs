//! The files a command reads (`diff`, `chart`, `compare --roofline`): regular files only. A FIFO
//! would hold a plain `open` until some writer came, forever if none does; a device may never
//! end (`/dev/zero`) or wait on a terminal; a socket cannot be read as a file. Each of them is
//! refused with one line naming what it is, before a byte is read: the path is looked at first
//! (which never blocks), then opened without blocking and looked at again through the
//! descriptor, so that nothing swapped in between is read either.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// The whole of the regular file at `path` (through any links), as text.
pub fn read_text(path: &Path) -> io::Result<String> {
    regular(&fs::metadata(path)?)?;
    // O_NONBLOCK: a FIFO put there since the look above opens at once instead of waiting for a
    // writer, and is refused below. It changes nothing for a regular file.
    let mut file: File = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    regular(&file.metadata()?)?;
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    Ok(text)
}

fn regular(m: &fs::Metadata) -> io::Result<()> {
    if m.is_file() {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "it is {}; results are read from regular files only",
            kind_of(m)
        ),
    ))
}

/// What a file is, for messages: "a FIFO", "a directory", ...
pub(crate) fn kind_of(m: &fs::Metadata) -> &'static str {
    let t = m.file_type();
    if t.is_file() {
        "a regular file"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_symlink() {
        "a symbolic link"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "no regular file"
    }
}
