//! Huge-page-backed arrays that no one touches until the workers do.

use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::ptr::{self, NonNull};

use super::EngineError;

/// The transparent huge page size on x86-64.
const HUGE_PAGE: usize = 2 << 20;

/// A fixed-length array of `T` in its own anonymous mapping, 2 MiB-aligned and sized to whole
/// 2 MiB pages, with transparent huge pages requested.
///
/// Allocation touches nothing: each page is faulted in, and so placed on a NUMA node, by the first
/// thread that writes it. [`Engine::alloc_filled`](super::Engine::alloc_filled) uses that to have
/// every worker first-touch the part it will later process. Untouched memory reads as zeros, which
/// `T: Zeroable` makes a valid value.
pub struct SharedArray<T> {
    ptr: NonNull<T>,
    len: usize,
    mapped_bytes: usize,
    huge_pages_advised: bool,
    _owns: PhantomData<T>,
}

// SAFETY: the array owns its elements exclusively, as a `Box<[T]>` does, so it can move to
// another thread when they can, and be shared when they can.
unsafe impl<T: Send> Send for SharedArray<T> {}
// SAFETY: as above; `&SharedArray<T>` only gives out `&[T]`.
unsafe impl<T: Sync> Sync for SharedArray<T> {}

impl<T: bytemuck::Zeroable + Send + Sync> SharedArray<T> {
    /// Maps `n` zeroed elements.
    ///
    /// # Errors
    ///
    /// [`EngineError::Alloc`] if `n` is zero, `T` is zero-sized, the size overflows, or the
    /// kernel refuses the mapping.
    pub fn zeroed(n: usize) -> Result<Self, EngineError> {
        const { assert!(align_of::<T>() <= HUGE_PAGE) };
        let bytes = n.saturating_mul(size_of::<T>());
        let invalid = |why: &str| EngineError::Alloc {
            bytes,
            source: io::Error::new(io::ErrorKind::InvalidInput, why),
        };
        if bytes == 0 {
            return Err(invalid("an array needs at least one byte"));
        }
        let mapped_bytes = bytes
            .checked_next_multiple_of(HUGE_PAGE)
            .filter(|&mapped| mapped <= isize::MAX as usize - HUGE_PAGE)
            .ok_or_else(|| invalid("size overflows the address space"))?;
        let ptr =
            map_aligned(mapped_bytes).map_err(|source| EngineError::Alloc { bytes, source })?;
        // SAFETY: `ptr..ptr + mapped_bytes` is the mapping just made, owned by no one else.
        let huge_pages_advised =
            unsafe { libc::madvise(ptr.as_ptr(), mapped_bytes, libc::MADV_HUGEPAGE) } == 0;
        Ok(SharedArray {
            ptr: ptr.cast(),
            len: n,
            mapped_bytes,
            huge_pages_advised,
            _owns: PhantomData,
        })
    }
}

impl<T> SharedArray<T> {
    /// Whether the kernel accepted `MADV_HUGEPAGE` for the mapping (it refuses when THP is
    /// disabled or unsupported). Advice only: faulting in may still yield 4 KiB pages.
    pub fn huge_pages_advised(&self) -> bool {
        self.huge_pages_advised
    }
}

/// Maps `bytes` (a multiple of [`HUGE_PAGE`]) of private anonymous memory at a 2 MiB-aligned
/// address: the kernel only promises page alignment, so map a huge page more and unmap the slack.
fn map_aligned(bytes: usize) -> io::Result<NonNull<libc::c_void>> {
    let padded = bytes + HUGE_PAGE;
    // SAFETY: a fresh anonymous mapping at an address of the kernel's choosing aliases nothing.
    // NORESERVE: the pages beyond what is touched are never backed, so do not count them
    // against overcommit either.
    let raw = unsafe {
        libc::mmap(
            ptr::null_mut(),
            padded,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if raw == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    let head = raw.cast::<u8>().align_offset(HUGE_PAGE);
    let tail = HUGE_PAGE - head;
    // SAFETY: `head < HUGE_PAGE`, so the aligned start and the `bytes` after it lie within the
    // `padded` bytes just mapped.
    let start = unsafe { raw.cast::<u8>().add(head) };
    // SAFETY: the slack before `start` and after `start + bytes` is part of our mapping and not
    // in use; both are whole pages since `raw`, `start` and `bytes` are page multiples.
    unsafe {
        if head > 0 {
            libc::munmap(raw, head);
        }
        if tail > 0 {
            libc::munmap(start.add(bytes).cast(), tail);
        }
    }
    // `mmap` never maps at null on success.
    Ok(NonNull::new(start.cast()).expect("mmap returned null"))
}

impl<T> Deref for SharedArray<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        // SAFETY: the mapping holds `len` elements, is aligned for `T` (2 MiB ≥ align_of::<T>()),
        // starts zero-filled (a valid `T`, being `Zeroable`) and lives as long as `self`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl<T> DerefMut for SharedArray<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as in `deref`, and `&mut self` makes this the only access.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl<T> Drop for SharedArray<T> {
    fn drop(&mut self) {
        // Dropping the elements touches every page, so only types that need it do.
        if std::mem::needs_drop::<T>() {
            // SAFETY: the elements are valid (see `deref`) and are not used again.
            unsafe { ptr::drop_in_place(&mut **self as *mut [T]) };
        }
        // SAFETY: this is exactly the mapping made in `zeroed`, and no reference into it outlives
        // `self`. Failure (EINVAL only, for a bad range) cannot happen for it.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.mapped_bytes) };
    }
}

impl<T> fmt::Debug for SharedArray<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedArray")
            .field("len", &self.len)
            .field("huge_pages_advised", &self.huge_pages_advised)
            .finish_non_exhaustive()
    }
}
