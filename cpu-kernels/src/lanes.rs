//! Fixed-width lane vectors: `N` values operated on element-wise, one operation at a time.
//!
//! Why: the elementary functions are long dependency chains. Written per element and mapped over
//! an array, the compiler vectorizes the loop one SIMD register at a time, so each register's
//! chain runs to its end before the next starts, and on cores whose out-of-order window cannot
//! hold two such chains (Zen 1 splits every 256-bit operation in two) the code is
//! latency-bound. Written against `Lanes`, every operation covers all `N` lanes, becoming `N/8`
//! independent AVX2 instructions (`N/16` with AVX-512) issued back to back, so the chains
//! interleave. With `N = 1` the same code is the scalar function.
//!
//! Every operation is the plain IEEE operation on each lane, so results do not depend on `N`
//! or on the SIMD width.

use core::ops::{Add, BitAnd, BitOr, BitXor, Mul, Shl, Shr, Sub};

/// `N` lanes of `T`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Lanes<T, const N: usize>(pub [T; N]);

pub(crate) type F32s<const N: usize> = Lanes<f32, N>;
pub(crate) type I32s<const N: usize> = Lanes<i32, N>;

/// A per-lane condition, consumed by [`Mask::select`].
#[derive(Clone, Copy)]
pub(crate) struct Mask<const N: usize>([bool; N]);

impl<T: Copy, const N: usize> Lanes<T, N> {
    #[inline(always)]
    pub(crate) fn splat(x: T) -> Self {
        Self([x; N])
    }

    #[inline(always)]
    fn map<U>(self, f: impl Fn(T) -> U) -> Lanes<U, N> {
        Lanes(self.0.map(f))
    }

    #[inline(always)]
    fn zip<U>(self, other: Self, f: impl Fn(T, T) -> U) -> Lanes<U, N> {
        Lanes(core::array::from_fn(|i| f(self.0[i], other.0[i])))
    }

    #[inline(always)]
    fn test(self, f: impl Fn(T) -> bool) -> Mask<N> {
        Mask(self.0.map(f))
    }
}

impl<const N: usize> Mask<N> {
    /// `a` where the condition holds, `b` elsewhere.
    #[inline(always)]
    pub(crate) fn select<T: Copy>(self, a: Lanes<T, N>, b: Lanes<T, N>) -> Lanes<T, N> {
        Lanes(core::array::from_fn(|i| {
            if self.0[i] { a.0[i] } else { b.0[i] }
        }))
    }
}

/// Element-wise binary operators, lane by lane and lane by scalar.
macro_rules! lanewise {
    ($t:ty: $($tr:ident $method:ident $op:expr;)*) => {$(
        impl<const N: usize> $tr for Lanes<$t, N> {
            type Output = Self;
            #[inline(always)]
            fn $method(self, rhs: Self) -> Self {
                self.zip(rhs, $op)
            }
        }
        impl<const N: usize> $tr<$t> for Lanes<$t, N> {
            type Output = Self;
            #[inline(always)]
            fn $method(self, rhs: $t) -> Self {
                self.map(|x| $op(x, rhs))
            }
        }
    )*};
}

lanewise!(f32:
    Add add |a: f32, b: f32| a + b;
    Sub sub |a: f32, b: f32| a - b;
    Mul mul |a: f32, b: f32| a * b;
);
lanewise!(i32:
    Add add |a: i32, b: i32| a.wrapping_add(b);
    Sub sub |a: i32, b: i32| a.wrapping_sub(b);
    BitAnd bitand |a: i32, b: i32| a & b;
    BitOr bitor |a: i32, b: i32| a | b;
    BitXor bitxor |a: i32, b: i32| a ^ b;
);

impl<const N: usize> Shl<u32> for I32s<N> {
    type Output = Self;
    #[inline(always)]
    fn shl(self, k: u32) -> Self {
        self.map(|x| x << k)
    }
}

/// Arithmetic (sign-extending) shift.
impl<const N: usize> Shr<u32> for I32s<N> {
    type Output = Self;
    #[inline(always)]
    fn shr(self, k: u32) -> Self {
        self.map(|x| x >> k)
    }
}

impl<const N: usize> F32s<N> {
    #[inline(always)]
    pub(crate) fn sqrt(self) -> Self {
        self.map(f32::sqrt)
    }
    /// The IEEE bit patterns, reinterpreted as `i32`.
    #[inline(always)]
    pub(crate) fn to_bits(self) -> I32s<N> {
        self.map(|x| x.to_bits() as i32)
    }
    #[inline(always)]
    pub(crate) fn lt(self, c: f32) -> Mask<N> {
        self.test(|x| x < c)
    }
    #[inline(always)]
    pub(crate) fn gt(self, c: f32) -> Mask<N> {
        self.test(|x| x > c)
    }
    #[inline(always)]
    pub(crate) fn eq(self, c: f32) -> Mask<N> {
        self.test(|x| x == c)
    }
}

impl<const N: usize> I32s<N> {
    /// Reinterprets the bit patterns as `f32`.
    #[inline(always)]
    pub(crate) fn bitcast_f32(self) -> F32s<N> {
        self.map(|x| f32::from_bits(x as u32))
    }
    /// Converts values (exact below `2^24`).
    #[inline(always)]
    pub(crate) fn to_f32(self) -> F32s<N> {
        self.map(|x| x as f32)
    }
    #[inline(always)]
    pub(crate) fn nonzero(self) -> Mask<N> {
        self.test(|x| x != 0)
    }
}
