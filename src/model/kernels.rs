//! The kernels, each described once: name, bytes moved, flops, gold check, and the one CPU dispatch
//! that every CPU backend (engine, rayon) runs over its own chunks.
//!
//! Adding a stream kernel touches three places: its function in `cpu-kernels`, a variant here
//! (with its bytes, flops and gold step), and each non-CPU backend that implements it.

use clap::ValueEnum;
use clap::builder::PossibleValue;
use cpu_kernels::Real;
use cpu_kernels::mc::{McParams, Payoff};
use cpu_kernels::stream::{self, Stores};
use serde::{Deserialize, Serialize};

use super::vocab::{Precision, by_name};

/// An element type the stream benchmark runs in: a `cpu-kernels` real that can also live in
/// zero-initialised shared memory (and later in GPU buffers).
pub trait Element: Real + bytemuck::Pod {
    /// How rows name it.
    const PRECISION: Precision;
}

impl Element for f32 {
    const PRECISION: Precision = Precision::F32;
}

impl Element for f64 {
    const PRECISION: Precision = Precision::F64;
}

/// BabelStream's initial values and scalar.
pub const INIT_A: f64 = 0.1;
pub const INIT_B: f64 = 0.2;
pub const INIT_C: f64 = 0.0;
pub const SCALAR: f64 = 0.4;

/// The stream set, in BabelStream's classic order (the order they run in within one repetition).
/// Each kernel's facts are one row of [`STREAM_KERNELS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StreamKernel {
    Copy,
    Scale,
    Add,
    Triad,
    Dot,
    Nstream,
}

/// What the harness, the CLI and the reports know of one stream kernel.
#[derive(Debug)]
pub struct KernelSpec {
    pub kernel: StreamKernel,
    /// The name on the command line, in tables and in JSON.
    pub name: &'static str,
    /// BabelStream's name (the `function` column of its CSV).
    pub babelstream: &'static str,
    /// What it computes, for `--help`.
    pub formula: &'static str,
    /// The arrays (0 = a, 1 = b, 2 = c) it reads...
    pub reads: &'static [usize],
    /// ...and the one it writes, if any.
    pub writes: Option<usize>,
    /// Floating-point operations per element.
    pub flops: u64,
    /// Runs in a pass of its own, on fresh arrays (see [`passes`]).
    pub own_pass: bool,
}

/// The stream kernels, one row each, in [`StreamKernel`]'s order.
pub const STREAM_KERNELS: [KernelSpec; 6] = [
    KernelSpec {
        kernel: StreamKernel::Copy,
        name: "copy",
        babelstream: "Copy",
        formula: "c = a",
        reads: &[0],
        writes: Some(2),
        flops: 0,
        own_pass: false,
    },
    KernelSpec {
        kernel: StreamKernel::Scale,
        name: "scale",
        babelstream: "Mul",
        formula: "b = s*c",
        reads: &[2],
        writes: Some(1),
        flops: 1,
        own_pass: false,
    },
    KernelSpec {
        kernel: StreamKernel::Add,
        name: "add",
        babelstream: "Add",
        formula: "c = a + b",
        reads: &[0, 1],
        writes: Some(2),
        flops: 1,
        own_pass: false,
    },
    KernelSpec {
        kernel: StreamKernel::Triad,
        name: "triad",
        babelstream: "Triad",
        formula: "a = b + s*c",
        reads: &[1, 2],
        writes: Some(0),
        flops: 2,
        own_pass: false,
    },
    KernelSpec {
        kernel: StreamKernel::Dot,
        name: "dot",
        babelstream: "Dot",
        formula: "sum of a*b",
        reads: &[0, 1],
        writes: None,
        flops: 2,
        own_pass: false,
    },
    KernelSpec {
        kernel: StreamKernel::Nstream,
        name: "nstream",
        babelstream: "Nstream",
        formula: "a += b + s*c",
        reads: &[0, 1, 2],
        writes: Some(0),
        flops: 3,
        own_pass: true,
    },
];

impl StreamKernel {
    pub const ALL: [StreamKernel; 6] = {
        let mut all = [StreamKernel::Copy; 6];
        let mut i = 0;
        while i < all.len() {
            all[i] = STREAM_KERNELS[i].kernel;
            i += 1;
        }
        all
    };

    pub fn spec(self) -> &'static KernelSpec {
        &STREAM_KERNELS[self as usize]
    }

    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The arrays (0 = a, 1 = b, 2 = c) the kernel reads.
    pub fn reads(self) -> &'static [usize] {
        self.spec().reads
    }

    /// The array the kernel writes, if any.
    pub fn writes(self) -> Option<usize> {
        self.spec().writes
    }

    /// Arrays read plus arrays written per element, BabelStream's counting (a written array counts
    /// once, whatever the cache does to fetch it first).
    pub fn arrays_moved(self) -> usize {
        self.reads().len() + usize::from(self.writes().is_some())
    }

    pub fn bytes(self, n: usize, elem_size: usize) -> u64 {
        (self.arrays_moved() * elem_size) as u64 * n as u64
    }

    pub fn flops(self, n: usize) -> u64 {
        self.spec().flops * n as u64
    }

    /// Runs the kernel over one chunk of the three arrays (every CPU backend's only entry to the
    /// kernels). Returns the chunk's dot product for `Dot`, 0 otherwise.
    pub fn run_cpu<T: Real>(
        self,
        a: &mut [T],
        b: &mut [T],
        c: &mut [T],
        s: T,
        stores: Stores,
    ) -> f64 {
        match self {
            StreamKernel::Copy => stream::copy(c, a, stores),
            StreamKernel::Scale => stream::scale(b, c, s, stores),
            StreamKernel::Add => stream::add(c, a, b, stores),
            StreamKernel::Triad => stream::triad(a, b, c, s, stores),
            StreamKernel::Dot => return stream::dot(a, b),
            StreamKernel::Nstream => stream::nstream(a, b, c, s, stores),
        }
        0.0
    }

    /// The gold replay: applies the kernel to one scalar triple with the same IEEE operations in the
    /// same order as `cpu-kernels` applies to every element. Returns the gold dot product over `n`
    /// elements for `Dot`.
    pub fn gold_step<T: Real>(self, g: &mut Gold<T>, s: T, n: usize) -> Option<f64> {
        match self {
            StreamKernel::Copy => g.c = g.a,
            StreamKernel::Scale => g.b = s * g.c,
            StreamKernel::Add => g.c = g.a + g.b,
            StreamKernel::Triad => g.a = g.b + s * g.c,
            // Each product is rounded to T by the kernel too; only the summation differs.
            StreamKernel::Dot => return Some(n as f64 * (g.a * g.b).to_f64()),
            StreamKernel::Nstream => g.a += g.b + s * g.c,
        }
        None
    }
}

/// The value every element of a, b and c must hold (all elements start equal and undergo the same
/// operations).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Gold<T> {
    pub a: T,
    pub b: T,
    pub c: T,
}

impl<T: Real> Gold<T> {
    pub fn initial() -> Self {
        Gold {
            a: T::from_f64(INIT_A),
            b: T::from_f64(INIT_B),
            c: T::from_f64(INIT_C),
        }
    }

    /// Whether a, b, c and the dot product's a·b are zero or normal in `T`. Past that, values have
    /// overflowed, or have gone subnormal, which some CPUs process many times slower: either way
    /// the timings would no longer measure the memory system.
    fn in_normal_range(&self) -> bool {
        [self.a, self.b, self.c, self.a * self.b].iter().all(|&x| {
            let v = x.to_f64().abs();
            v == 0.0 || (T::MIN_POSITIVE..=T::MAX).contains(&v)
        })
    }
}

/// The kernels split into the passes that run on freshly initialised arrays, each `reps` times.
/// The classic kernels share their arrays, as in BabelStream, and scale a by 0.96 per repetition;
/// nstream runs alone, as BabelStream's `--nstream-only` does, where it adds a constant 0.2 to a
/// per repetition. Run after the classic kernels on the same arrays it would instead multiply a by
/// 1.92 per repetition, overflowing f32's dot product within 60 repetitions.
pub fn passes(kernels: &[StreamKernel]) -> impl Iterator<Item = Vec<StreamKernel>> {
    let (own, classic): (Vec<_>, Vec<_>) = kernels.iter().partition(|k| k.spec().own_pass);
    [classic, own].into_iter().filter(|pass| !pass.is_empty())
}

/// Replays `reps` repetitions of one pass (see [`passes`]) on the gold triple. Returns the final
/// triple and the gold dot product of the last repetition (when dot ran), or an error naming the
/// repetition at which a value left `T`'s normal range.
pub fn gold_replay<T: Real>(
    pass: &[StreamKernel],
    reps: usize,
    n: usize,
) -> Result<(Gold<T>, Option<f64>), String> {
    let s = T::from_f64(SCALAR);
    let mut g = Gold::initial();
    let mut dot = None;
    for rep in 1..=reps {
        for &k in pass {
            if let Some(d) = k.gold_step(&mut g, s, n) {
                dot = Some(d);
            }
        }
        if !g.in_normal_range() {
            return Err(format!(
                "--reps {reps} takes {} values out of the normal range at repetition {rep} \
                 (the classic kernels scale a by 0.96 per repetition): use fewer repetitions or f64",
                T::NAME
            ));
        }
    }
    Ok((g, dot))
}

/// How the CPU backends choose the store kind of the element-wise kernels (`--stores`).
///
/// Which kind wins cannot be assumed: non-temporal stores save the destination's
/// read-for-ownership (a quarter of triad's traffic) on some CPUs and halve the bandwidth on
/// others (an AMD Zen 4 VM: 25.0 vs 11.8 GB/s single-threaded triad at 2^25 f32), and in cache
/// they always lose. `Auto` measures both on the arrays about to be timed
/// (see `crate::bench::run_stream`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StorePolicy {
    /// Probe both kinds per kernel on the actual arrays, untimed, and keep the faster.
    #[default]
    Auto,
    /// Ordinary (write-allocate) stores.
    Cached,
    /// Non-temporal stores that bypass the caches.
    Streaming,
}

impl StorePolicy {
    /// The store kind every kernel uses, or `None` when it is measured.
    pub fn fixed(self) -> Option<Stores> {
        match self {
            StorePolicy::Auto => None,
            StorePolicy::Cached => Some(Stores::Cached),
            StorePolicy::Streaming => Some(Stores::Streaming),
        }
    }
}

impl std::fmt::Display for StreamKernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl ValueEnum for StreamKernel {
    fn value_variants<'a>() -> &'a [Self] {
        &Self::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.name()).help(self.spec().formula))
    }
}

/// Stream kernels are written and read by name.
impl Serialize for StreamKernel {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for StreamKernel {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        by_name(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// The Philox key when the user gives none.
pub const DEFAULT_SEED: u64 = 20261124;

/// The reference table's option (S0 = K = 100, r = 0.05, σ = 0.2, T = 1), as `compare` and the
/// sweeps price it.
pub fn reference_option(payoff: Payoff, steps: u32, seed: u64) -> McParams {
    McParams {
        payoff,
        s0: 100.0,
        strike: 100.0,
        rate: 0.05,
        sigma: 0.2,
        maturity: 1.0,
        steps,
        seed,
    }
}

/// The option the Monte Carlo kernel prices, under the one name the CLI and the reports use: a
/// row of [`OptionKind::ALL`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OptionKind {
    pub payoff: Payoff,
    name: &'static str,
    /// Monitoring dates when the user gives none.
    default_steps: u32,
    /// The line `--help` shows for the name.
    help: &'static str,
}

/// Default dates of the payoffs of `S_T`: the maturity only.
const MATURITY: u32 = 1;
/// Default dates of the Asians: weekly over the year, as in the reference table.
const WEEKLY: u32 = 52;

impl OptionKind {
    /// Every option, one row each, in the order `--help` lists them.
    pub const ALL: [OptionKind; 8] = [
        Self::row(
            Payoff::EuropeanCall,
            "european-call",
            MATURITY,
            "(S_T - K)^+",
        ),
        Self::row(Payoff::EuropeanPut, "european-put", MATURITY, "(K - S_T)^+"),
        Self::row(
            Payoff::DigitalCall,
            "digital-call",
            MATURITY,
            "1 if S_T > K, else 0",
        ),
        Self::row(
            Payoff::DigitalPut,
            "digital-put",
            MATURITY,
            "1 if S_T < K, else 0",
        ),
        Self::row(
            Payoff::AsianArithmeticCall,
            "asian-call",
            WEEKLY,
            "(A - K)^+, A the arithmetic mean of S at the dates",
        ),
        Self::row(Payoff::AsianArithmeticPut, "asian-put", WEEKLY, "(K - A)^+"),
        Self::row(
            Payoff::AsianGeometricCall,
            "asian-geometric-call",
            WEEKLY,
            "(G - K)^+, G the geometric mean of S at the dates",
        ),
        Self::row(
            Payoff::AsianGeometricPut,
            "asian-geometric-put",
            WEEKLY,
            "(K - G)^+",
        ),
    ];

    const fn row(
        payoff: Payoff,
        name: &'static str,
        default_steps: u32,
        help: &'static str,
    ) -> Self {
        OptionKind {
            payoff,
            name,
            default_steps,
            help,
        }
    }

    /// The row of `payoff`.
    pub fn of(payoff: Payoff) -> Self {
        *Self::ALL
            .iter()
            .find(|o| o.payoff == payoff)
            .expect("every payoff has a row in OptionKind::ALL")
    }

    pub fn name(self) -> &'static str {
        self.name
    }

    /// Monitoring dates when the user gives none.
    pub fn default_steps(self) -> u32 {
        self.default_steps
    }
}

/// Options are written and read by their CLI name.
impl Serialize for OptionKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for OptionKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        by_name(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl ValueEnum for OptionKind {
    fn value_variants<'a>() -> &'a [Self] {
        &Self::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.name).help(self.help))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nstream_runs_in_its_own_pass() {
        let all: Vec<_> = passes(&StreamKernel::ALL).collect();
        assert_eq!(all, [&StreamKernel::ALL[..5], &[StreamKernel::Nstream][..]]);
        let only: Vec<_> = passes(&[StreamKernel::Nstream]).collect();
        assert_eq!(only, [vec![StreamKernel::Nstream]]);
        assert_eq!(passes(&[StreamKernel::Triad]).count(), 1);
    }

    /// The default run (100 repetitions of everything) stays in range in both precisions; f32's
    /// classic pass leaves it once a·b goes subnormal, after 1002 repetitions (f64 after 8609).
    #[test]
    fn gold_replay_guards_the_normal_range() {
        for pass in passes(&StreamKernel::ALL) {
            assert!(gold_replay::<f32>(&pass, 100, 1 << 25).is_ok());
            assert!(gold_replay::<f64>(&pass, 5000, 1 << 25).is_ok());
        }
        let classic = &StreamKernel::ALL[..5];
        assert!(gold_replay::<f32>(classic, 1002, 1 << 25).is_ok());
        assert!(gold_replay::<f32>(classic, 1003, 1 << 25).is_err());
        let err = gold_replay::<f32>(classic, 2000, 1 << 25).unwrap_err();
        assert!(err.contains("normal range"), "{err}");
        assert!(gold_replay::<f32>(&[StreamKernel::Nstream], 100_000, 1 << 25).is_ok());
    }

    /// One row per payoff, and one payoff per name.
    #[test]
    fn every_payoff_has_one_option_row() {
        for payoff in Payoff::ALL {
            let rows = OptionKind::ALL
                .iter()
                .filter(|o| o.payoff == payoff)
                .count();
            assert_eq!(rows, 1, "{payoff:?}");
            assert_eq!(OptionKind::of(payoff).payoff, payoff);
        }
        assert_eq!(OptionKind::ALL.len(), Payoff::ALL.len());
        let mut names: Vec<_> = OptionKind::ALL.iter().map(|o| o.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), OptionKind::ALL.len());
    }
}
