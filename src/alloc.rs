//! The binary's allocator: the system's, except when an allocation fails. Rust's default then
//! prints "memory allocation of N bytes failed" and raises SIGABRT (exit 134, a core dump, and a
//! temporary output file left behind); HexPylot instead prints one line, removes its temporary
//! files and exits 1, as any run that could not be completed does. Nothing on that path
//! allocates: the line is formatted on the stack and written with write(2).

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};

/// `#[global_allocator] static ALLOC: hexpylot::alloc::Allocator = hexpylot::alloc::Allocator;`
pub struct Allocator;

// SAFETY: every call is System's own with the caller's arguments; only a null result (which
// System returns for a failure) is turned into the end of the process, never into a pointer.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds GlobalAlloc::alloc's contract, which is System's.
        checked(unsafe { System.alloc(layout) }, layout.size())
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for alloc.
        checked(unsafe { System.alloc_zeroed(layout) }, layout.size())
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, that is from System, with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for dealloc; the caller upholds realloc's contract on `new_size`.
        checked(unsafe { System.realloc(ptr, layout, new_size) }, new_size)
    }
}

fn checked(ptr: *mut u8, size: usize) -> *mut u8 {
    if ptr.is_null() {
        out_of_memory(size);
    }
    ptr
}

/// Set by the first failure: a second one, while cleaning up after it, exits at once.
// Memory ordering: a lone flag that guards no data; whoever finds it set only exits.
static FAILING: AtomicBool = AtomicBool::new(false);

#[cold]
fn out_of_memory(size: usize) -> ! {
    if !FAILING.swap(true, Ordering::Relaxed) {
        let mut line = StackLine::default();
        let _ = writeln!(
            line,
            "error: out of memory: allocating {size} bytes failed (the host's memory, or a limit such as ulimit -v, is too small for this run)"
        );
        // SAFETY: write(2) of bytes this frame owns to the standard error descriptor.
        unsafe { libc::write(libc::STDERR_FILENO, line.bytes.as_ptr().cast(), line.len) };
        crate::output::remove_temps_now();
    }
    // SAFETY: _exit ends the process without running destructors, which might allocate.
    unsafe { libc::_exit(1) }
}

/// A line formatted without allocating (cut short if it does not fit).
struct StackLine {
    bytes: [u8; 256],
    len: usize,
}

impl Default for StackLine {
    fn default() -> Self {
        StackLine {
            bytes: [0; 256],
            len: 0,
        }
    }
}

impl std::fmt::Write for StackLine {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let room = self.bytes.len() - self.len;
        let n = s.len().min(room);
        self.bytes[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}
