//! Splitting slices, and tuples of equally long slices, into the workers' disjoint chunks.

use std::marker::PhantomData;
use std::ops::Range;

use super::EngineError;

/// Parts that [`Engine::for_each_chunk`](super::Engine::for_each_chunk) splits by worker:
/// `&[T]`, `&mut [T]`, and tuples of one to four such parts, all of the same length.
///
/// Every worker gets the sub-slices of all parts over its own range; the partition is aligned to
/// the cache lines of the first part's element type. Sealed: the engine relies on how the
/// implementations split.
pub trait Chunks: sealed::Sealed {
    /// One worker's piece: for a `&'s [T]` or `&'s mut [T]` part its sub-slice, of the same type
    /// and lifetime (as `split_at_mut` gives); for a tuple, the tuple of pieces.
    //
    // Not a `Chunk<'a> where Self: 'a` borrowing from the phase: in a closure bound,
    // `for<'a> Fn(P::Chunk<'a>)` then requires `P: 'static` (a rustc limitation), which would rule
    // out borrowed slices, the whole point. Full-lifetime pieces are sound because every element
    // goes to one chunk only, once.
    type Chunk;

    // The engine's side of the trait, hidden: all of it would live in the sealed supertrait, but
    // a method there cannot name `Chunk` (a `Self: Chunks` bound on it stops the implementations'
    // associated types from normalizing).

    /// The parts with their borrows turned into pointers that every worker can hold at once.
    #[doc(hidden)]
    type Raw: Copy + Send + Sync;

    /// The common length of the parts.
    #[doc(hidden)]
    fn length(&self) -> Result<usize, EngineError>;

    /// Elements of the first part per cache line.
    #[doc(hidden)]
    fn line_elements(&self) -> usize;

    #[doc(hidden)]
    fn into_raw(self) -> Self::Raw;

    /// # Safety
    ///
    /// `raw` came from `into_raw`, `range` lies within the length, and no element goes into more
    /// than one chunk of the same `raw`.
    #[doc(hidden)]
    unsafe fn chunk(raw: Self::Raw, range: Range<usize>) -> Self::Chunk;
}

mod sealed {
    /// Only the implementations here: the engine relies on how they split.
    pub trait Sealed {}

    /// A shared slice's start. Only reads go through it, so it can be shared when `T: Sync`.
    pub struct SharedStart<T>(pub(super) *const T);

    /// An exclusive slice's start. Each worker writes through it to its own chunk only, which
    /// amounts to sending a `&mut [T]` to the worker: fine when `T: Send`.
    pub struct ExclusiveStart<T>(pub(super) *mut T);

    impl<T> Clone for SharedStart<T> {
        fn clone(&self) -> Self {
            *self
        }
    }
    impl<T> Copy for SharedStart<T> {}
    impl<T> Clone for ExclusiveStart<T> {
        fn clone(&self) -> Self {
            *self
        }
    }
    impl<T> Copy for ExclusiveStart<T> {}

    // SAFETY: the pointer stands for a `&[T]`, which is `Send + Sync` when `T: Sync`.
    unsafe impl<T: Sync> Send for SharedStart<T> {}
    // SAFETY: as above.
    unsafe impl<T: Sync> Sync for SharedStart<T> {}
    // SAFETY: the pointer stands for disjoint `&mut [T]` chunks, one per thread, which is what
    // `&mut [T]: Send` (that is, `T: Send`) allows.
    unsafe impl<T: Send> Send for ExclusiveStart<T> {}
    // SAFETY: as above; sharing the start pointer itself gives access to nothing but the chunks.
    unsafe impl<T: Send> Sync for ExclusiveStart<T> {}
}

use sealed::{ExclusiveStart, Sealed, SharedStart};

/// Elements of `T` per 64-byte cache line (at least one).
fn line_elements<T>() -> usize {
    (64 / size_of::<T>().max(1)).max(1)
}

impl<T: Sync> Sealed for &[T] {}
impl<'s, T: Sync> Chunks for &'s [T] {
    type Chunk = &'s [T];
    type Raw = SharedStart<T>;

    fn length(&self) -> Result<usize, EngineError> {
        Ok(self.len())
    }

    fn line_elements(&self) -> usize {
        line_elements::<T>()
    }

    fn into_raw(self) -> SharedStart<T> {
        SharedStart(self.as_ptr())
    }

    unsafe fn chunk(raw: SharedStart<T>, range: Range<usize>) -> &'s [T] {
        // SAFETY: `range` lies within the slice the pointer came from, borrowed for `'s`.
        unsafe { std::slice::from_raw_parts(raw.0.add(range.start), range.len()) }
    }
}

impl<T: Send> Sealed for &mut [T] {}
impl<'s, T: Send> Chunks for &'s mut [T] {
    type Chunk = &'s mut [T];
    type Raw = ExclusiveStart<T>;

    fn length(&self) -> Result<usize, EngineError> {
        Ok(self.len())
    }

    fn line_elements(&self) -> usize {
        line_elements::<T>()
    }

    fn into_raw(self) -> ExclusiveStart<T> {
        ExclusiveStart(self.as_mut_ptr())
    }

    unsafe fn chunk(raw: ExclusiveStart<T>, range: Range<usize>) -> &'s mut [T] {
        // SAFETY: `range` lies within the slice the pointer came from, mutably borrowed for `'s`
        // and consumed by `into_raw`, and no other chunk overlaps it.
        unsafe { std::slice::from_raw_parts_mut(raw.0.add(range.start), range.len()) }
    }
}

macro_rules! tuple_chunks {
    ($first:ident $(, $rest:ident)*) => {
        impl<$first: Chunks $(, $rest: Chunks)*> Sealed for ($first, $($rest,)*) {}

        #[allow(non_snake_case, reason = "the type parameters double as the part names")]
        impl<$first: Chunks $(, $rest: Chunks)*> Chunks for ($first, $($rest,)*) {
            type Chunk = ($first::Chunk, $($rest::Chunk,)*);
            type Raw = ($first::Raw, $($rest::Raw,)*);

            fn length(&self) -> Result<usize, EngineError> {
                let ($first, $($rest,)*) = self;
                let length = $first.length()?;
                $(
                    let other = $rest.length()?;
                    if other != length {
                        return Err(EngineError::LengthMismatch(length, other));
                    }
                )*
                Ok(length)
            }

            fn line_elements(&self) -> usize {
                self.0.line_elements()
            }

            fn into_raw(self) -> Self::Raw {
                let ($first, $($rest,)*) = self;
                ($first.into_raw(), $($rest.into_raw(),)*)
            }

            unsafe fn chunk(raw: Self::Raw, range: Range<usize>) -> Self::Chunk {
                let ($first, $($rest,)*) = raw;
                // SAFETY: the caller's promise covers every part, the parts being equally long.
                unsafe {
                    ($first::chunk($first, range.clone()), $($rest::chunk($rest, range.clone()),)*)
                }
            }
        }
    };
}

tuple_chunks!(A);
tuple_chunks!(A, B);
tuple_chunks!(A, B, C);
tuple_chunks!(A, B, C, D);

/// Parts ready to be split for one phase.
pub(super) struct Split<P: Chunks> {
    raw: P::Raw,
    len: usize,
    line_elements: usize,
    // Holds on to the parts' borrows (`fn() -> P`: without making `Split` need `P: Sync`, since
    // only the raw pointers are shared).
    _parts: PhantomData<fn() -> P>,
}

impl<P: Chunks> Split<P> {
    pub(super) fn new(parts: P) -> Result<Self, EngineError> {
        Ok(Split {
            len: parts.length()?,
            line_elements: parts.line_elements(),
            raw: parts.into_raw(),
            _parts: PhantomData,
        })
    }

    /// The parts' common length.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The partition alignment: elements of the first part per cache line.
    pub(super) fn line_elements(&self) -> usize {
        self.line_elements
    }

    /// The parts' sub-slices over `range`.
    ///
    /// # Safety
    ///
    /// `range` lies within `0..len()`, and no element goes into more than one chunk of `self`.
    pub(super) unsafe fn chunk(&self, range: Range<usize>) -> P::Chunk {
        // SAFETY: the caller's promise is `P::chunk`'s, and `raw` came from `into_raw`.
        unsafe { P::chunk(self.raw, range) }
    }
}
