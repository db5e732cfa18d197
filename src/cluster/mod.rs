//! The ranks one run spans: the processes of an MPI job (a build with `--features mpi`, started
//! by `mpirun` or `srun`), or this one process. The harness times, gathers and agrees through
//! [`Cluster`]'s collectives, each of which is a no-op (or the identity) for one process, so that
//! one code path serves both and a single process runs exactly as it would without MPI.
//!
//! The protocol every rank follows (it is what keeps a job from hanging in a collective):
//!
//! 1. configure: parse and check the request; anything wrong is a local error;
//! 2. one checkpoint ([`Cluster::checkpoint`]), reached by every rank exactly once, before
//!    anything heavy runs (from the command once its backends are open, or from `main` on the
//!    way out when configuring failed): if any rank failed, every rank stops there with the same
//!    exit code, rank 0 saying why in one line; every rank's word also carries its plan (the
//!    command and its flags, `crate::cli`), and a rank whose plan is not rank 0's is bad input
//!    on every rank, since ranks running different plans would meet in collectives that do not
//!    match;
//! 3. run: every rank runs the same plan on the same backends (agreed at the checkpoint), so the
//!    collectives match one for one; an error on any rank past the checkpoint aborts the whole
//!    job ([`Cluster::abort`]), and a rank that dies is the launcher's to reap (OpenMPI's
//!    `mpirun` and Slurm kill a job whose process died);
//! 4. render: rank 0 prints and writes; the other ranks stay silent unless they fail.

#[cfg(feature = "mpi")]
mod mpi;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use serde::{Deserialize, Serialize};

use crate::model::{JobInfo, Scope};
use crate::tell;

/// What a run knows of its job.
#[derive(Debug)]
pub struct Cluster {
    rank: usize,
    size: usize,
    /// This rank's place among the ranks of its host (a shared-memory split of the job).
    local_rank: usize,
    /// Every rank's host, in rank order.
    hosts: Vec<String>,
    /// The MPI library's version, under MPI.
    library: Option<String>,
    /// The job's collectives; `None` for one process.
    comm: Option<Box<dyn Comm>>,
    /// Whether this rank has been through the checkpoint.
    checked: AtomicBool,
}

/// A job's collectives, over every rank of it, called from the main thread only.
trait Comm: Send + Sync + std::fmt::Debug {
    fn barrier(&self);
    /// Each value replaced by its maximum (or its sum) over the ranks.
    fn reduce(&self, values: &mut [f64], op: Reduce);
    /// Whether `ok` holds on every rank.
    fn all(&self, ok: bool) -> bool;
    /// Every rank's bytes, in rank order, at rank 0 (empty elsewhere).
    fn gather(&self, bytes: &[u8]) -> Vec<Vec<u8>>;
    /// Every rank's bytes, in rank order, on every rank.
    fn all_gather(&self, bytes: &[u8]) -> Vec<Vec<u8>>;
    /// The ranks that pass `keep` (the first ones, in rank order) as a communicator of their own;
    /// `None` on the others. Every rank calls it.
    fn split(&self, keep: bool) -> Option<Box<dyn Comm>>;
    /// Ends every process of the job with `code`.
    fn abort(&self, code: i32) -> !;
}

/// What [`Comm::reduce`] makes of the ranks' values.
#[derive(Clone, Copy, Debug)]
enum Reduce {
    Max,
    Sum,
}

static WORLD: OnceLock<Cluster> = OnceLock::new();

/// The job [`world`] answers while [`on_first`] runs a part of it; `None`: the whole job.
static ACTIVE: Mutex<Option<&'static Cluster>> = Mutex::new(None);

/// The job this process runs in now: the one [`start`] joined (else this process alone), or,
/// inside [`on_first`], the ranks it runs.
pub fn world() -> &'static Cluster {
    let active = *ACTIVE.lock().unwrap_or_else(PoisonError::into_inner);
    active.unwrap_or_else(whole)
}

/// The whole job, whatever part of it runs now.
fn whole() -> &'static Cluster {
    WORLD.get_or_init(|| Cluster::solo(crate::machine::hostname()))
}

/// Runs `f` on the job's first `ranks` ranks as a job of their own (for them [`world`] is that
/// job while `f` runs: its collectives, its rank 0, its size); the other ranks wait at a barrier
/// of the whole job until `f` is done everywhere. Every rank calls it, with the same `ranks`, at
/// the same point of the run (after the checkpoint), as for any collective. For one process:
/// `f` runs.
pub fn on_first(ranks: usize, f: impl FnOnce()) {
    let job = whole();
    let Some(comm) = &job.comm else {
        return f();
    };
    let keep = job.rank < ranks;
    if let Some(sub) = comm.split(keep) {
        // One per step of a sweep (a few hundred bytes each), kept for the process's life so that
        // `world` can hand out `&'static` as it does for the whole job.
        let part: &'static Cluster = Box::leak(Box::new(Cluster {
            rank: job.rank,
            size: ranks.min(job.size),
            local_rank: job.local_rank,
            hosts: job.hosts[..ranks.min(job.size)].to_vec(),
            library: job.library.clone(),
            comm: Some(sub),
            checked: AtomicBool::new(true),
        }));
        *ACTIVE.lock().unwrap_or_else(PoisonError::into_inner) = Some(part);
        f();
        *ACTIVE.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
    job.barrier();
}

/// The environment variable by which a launcher announces an MPI job: OpenMPI's `mpirun`,
/// PMI (MPICH's Hydra, Slurm's PMI-2), PMIx (OpenMPI 5, `srun --mpi=pmix`), and Slurm itself.
pub fn launcher() -> Option<&'static str> {
    [
        "OMPI_COMM_WORLD_SIZE",
        "PMIX_RANK",
        "PMI_SIZE",
        "PMI_RANK",
        "SLURM_STEP_ID",
    ]
    .into_iter()
    .find(|v| std::env::var_os(v).is_some())
}

/// What [`start`] leaves to `main`: the MPI environment, finalised when dropped (after the
/// last collective, once `main` has its exit code).
pub struct Session {
    #[cfg(feature = "mpi")]
    _universe: Option<::mpi::environment::Universe>,
}

/// Joins the MPI job this process was launched into (a build with `--features mpi` under a
/// launcher, see [`launcher`]); one process otherwise, which runs as it would without MPI. The
/// error is a one-line reason.
pub fn start() -> Result<Session, String> {
    #[cfg(feature = "mpi")]
    if launcher().is_some() {
        let (universe, cluster) = mpi::join()?;
        WORLD
            .set(cluster)
            .map_err(|_| "the job was joined twice".to_string())?;
        return Ok(Session {
            _universe: Some(universe),
        });
    }
    Ok(Session {
        #[cfg(feature = "mpi")]
        _universe: None,
    })
}

/// One rank's word at the checkpoint.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Ready<T> {
    /// Configured; `T` is what the ranks must agree on (the backends that opened).
    Ok(T),
    /// Bad input: exit 2.
    Usage(String),
    /// Any other failure: exit 1.
    Failed(String),
}

/// What the checkpoint found across the job.
#[derive(Debug)]
pub enum Agreed<T> {
    /// Every rank is ready; each rank's word, in rank order.
    Ok(Vec<T>),
    /// Some rank is not: the exit code (2 if any rank's input was bad, else 1) and, at rank 0,
    /// the line to print.
    Stop { code: u8, line: Option<String> },
}

impl Cluster {
    fn solo(host: String) -> Cluster {
        Cluster {
            rank: 0,
            size: 1,
            local_rank: 0,
            hosts: vec![host],
            library: None,
            comm: None,
            checked: AtomicBool::new(false),
        }
    }

    pub fn rank(&self) -> usize {
        self.rank
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// Whether this is the rank that prints and writes (the only one of a single process).
    pub fn is_root(&self) -> bool {
        self.rank == 0
    }

    /// Whether this process is a rank of an MPI job (of any size, one included).
    pub fn is_mpi(&self) -> bool {
        self.comm.is_some()
    }

    /// Several ranks: work is split or replicated, and rows carry their rank.
    pub fn is_parallel(&self) -> bool {
        self.size > 1
    }

    pub fn local_rank(&self) -> usize {
        self.local_rank
    }

    pub fn host(&self) -> &str {
        &self.hosts[self.rank]
    }

    /// Every rank's host, in rank order.
    pub fn hosts(&self) -> &[String] {
        &self.hosts
    }

    /// How many of the job's ranks share this rank's host (and its memory).
    pub fn ranks_here(&self) -> usize {
        self.hosts.iter().filter(|h| *h == self.host()).count()
    }

    /// Where a header's per-process figure (an array size) is rank 0's own under MPI: " on rank
    /// 0" for several ranks, else nothing.
    pub fn own(&self) -> &'static str {
        if self.is_parallel() { " on rank 0" } else { "" }
    }

    /// The tail of a command's header line under MPI (empty for one process), so the reader
    /// knows the figures that follow are the job's and its ranks'.
    pub fn phrase(&self) -> String {
        match self.info() {
            Some(job) => format!(
                "; {} MPI ranks ({} on {}, {})",
                job.ranks,
                job.ranks_per_host
                    .iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join("+"),
                if job.hosts.len() == 1 {
                    "1 host".to_string()
                } else {
                    format!("{} hosts", job.hosts.len())
                },
                job.library
            ),
            None => String::new(),
        }
    }

    /// This rank's rows' scope, under MPI.
    pub fn rank_scope(&self) -> Option<Scope> {
        self.is_mpi().then(|| Scope::Rank {
            rank: self.rank,
            host: self.host().to_string(),
        })
    }

    /// The job, for the document (under MPI).
    pub fn info(&self) -> Option<JobInfo> {
        let library = self.library.clone()?;
        let mut hosts: Vec<String> = Vec::new();
        let mut counts: Vec<usize> = Vec::new();
        for h in &self.hosts {
            match hosts.iter().position(|x| x == h) {
                Some(i) => counts[i] += 1,
                None => {
                    hosts.push(h.clone());
                    counts.push(1);
                }
            }
        }
        Some(JobInfo {
            ranks: self.size,
            hosts,
            ranks_per_host: counts,
            library,
        })
    }

    /// Waits for every rank (where each repetition starts).
    pub fn barrier(&self) {
        if let Some(c) = &self.comm {
            c.barrier();
        }
    }

    /// Each of `values` replaced by its maximum over the ranks (a repetition's time is its
    /// slowest rank's).
    pub fn max(&self, values: &mut [f64]) {
        if let Some(c) = &self.comm {
            c.reduce(values, Reduce::Max);
        }
    }

    /// Each of `values` replaced by its sum over the ranks.
    pub fn sum(&self, values: &mut [f64]) {
        if let Some(c) = &self.comm {
            c.reduce(values, Reduce::Sum);
        }
    }

    /// Whether `ok` holds on every rank.
    pub fn all(&self, ok: bool) -> bool {
        match &self.comm {
            Some(c) => c.all(ok),
            None => ok,
        }
    }

    /// Every rank's `value`, in rank order, at rank 0 (elsewhere empty): what rank 0 combines
    /// and reports.
    pub fn gather<T: Serialize + serde::de::DeserializeOwned>(&self, value: &T) -> Vec<T> {
        let Some(c) = &self.comm else {
            return vec![self.round_trip(value)];
        };
        let bytes = serde_json::to_vec(value).expect("rows serialise");
        c.gather(&bytes)
            .iter()
            .map(|b| self.decode(b, "gather"))
            .collect()
    }

    /// Rank 0's `value`, on every rank: where every rank must act alike on a choice each could
    /// make differently (a GPU launch shape tuned on each rank's own share).
    pub fn from_root<T: Serialize + serde::de::DeserializeOwned + Clone>(&self, value: &T) -> T {
        let Some(c) = &self.comm else {
            return value.clone();
        };
        let bytes = serde_json::to_vec(value).expect("a choice serialises");
        let every = c.all_gather(&bytes);
        self.decode(&every[0], "choice from rank 0")
    }

    /// `value` of one process as another rank would receive it (a single process skips the
    /// wire, not the type).
    fn round_trip<T: Serialize + serde::de::DeserializeOwned>(&self, value: &T) -> T {
        self.decode(
            &serde_json::to_vec(value).expect("rows serialise"),
            "gather",
        )
    }

    fn decode<T: serde::de::DeserializeOwned>(&self, bytes: &[u8], what: &str) -> T {
        serde_json::from_slice(bytes).unwrap_or_else(|e| {
            self.abort(&format!(
                "a {what} brought bytes this rank cannot read (ranks of different builds?): {e}"
            ))
        })
    }

    /// The checkpoint (module docs): every rank's word, and whether the job goes on. Called once
    /// per rank: from the command before it runs anything heavy, or from `main` when the command
    /// ended before reaching it.
    pub fn checkpoint<T: Serialize + serde::de::DeserializeOwned>(
        &self,
        mine: Ready<T>,
    ) -> Agreed<T> {
        self.checked.store(true, Ordering::Relaxed);
        let words: Vec<Ready<T>> = match &self.comm {
            Some(c) => {
                let bytes = serde_json::to_vec(&mine).expect("checkpoint serialises");
                c.all_gather(&bytes)
                    .iter()
                    .map(|b| self.decode(b, "checkpoint"))
                    .collect()
            }
            None => vec![mine],
        };
        let code = words
            .iter()
            .map(|w| match w {
                Ready::Ok(_) => 0,
                Ready::Failed(_) => 1,
                Ready::Usage(_) => 2,
            })
            .max()
            .unwrap_or(0);
        if code == 0 {
            return Agreed::Ok(
                words
                    .into_iter()
                    .filter_map(|w| match w {
                        Ready::Ok(t) => Some(t),
                        _ => None,
                    })
                    .collect(),
            );
        }
        // Rank 0's reason where it has one of that kind (the same input fails alike on every
        // rank), else the first rank's that has.
        let line = self.is_root().then(|| {
            let (rank, why) = words
                .iter()
                .enumerate()
                .find_map(|(r, w)| match w {
                    Ready::Usage(m) if code == 2 => Some((r, m)),
                    Ready::Failed(m) if code == 1 => Some((r, m)),
                    _ => None,
                })
                .expect("a rank that stopped");
            if rank == 0 {
                why.clone()
            } else {
                format!("rank {rank} ({}): {why}", self.hosts[rank])
            }
        });
        Agreed::Stop { code, line }
    }

    /// Whether this rank has been through the checkpoint: past it, an error must end the job
    /// ([`Cluster::abort`]), since the other ranks are in collectives this one will not join.
    pub fn past_checkpoint(&self) -> bool {
        self.checked.load(Ordering::Relaxed)
    }

    /// Says why on stderr, as this rank, and ends every process of the job with exit code 1.
    /// For a single process: exits 1.
    pub fn abort(&self, why: &str) -> ! {
        match &self.comm {
            Some(c) => {
                tell!("FAILED: rank {} ({}): {why}", self.rank, self.host());
                c.abort(1)
            }
            None => {
                tell!("FAILED: {why}");
                std::process::exit(1)
            }
        }
    }
}

/// Blocks `0..blocks` split into `ranks` contiguous ranges as evenly as they go, in rank order.
pub fn share(blocks: usize, rank: usize, ranks: usize) -> std::ops::Range<usize> {
    let at = |r: usize| (blocks as u128 * r as u128 / ranks.max(1) as u128) as usize;
    at(rank)..at(rank + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_cover_every_block_once_in_order() {
        for (blocks, ranks) in [(1, 1), (1, 3), (4096, 3), (65536, 7), (5, 8)] {
            let mut next = 0;
            for r in 0..ranks {
                let s = share(blocks, r, ranks);
                assert_eq!(s.start, next, "{blocks} over {ranks}");
                assert!(s.len() <= blocks.div_ceil(ranks));
                next = s.end;
            }
            assert_eq!(next, blocks);
        }
    }

    #[test]
    fn one_process_agrees_with_itself() {
        let solo = Cluster::solo("h".into());
        assert!(matches!(solo.checkpoint(Ready::Ok(3u8)), Agreed::Ok(v) if v == [3]));
        let solo = Cluster::solo("h".into());
        match solo.checkpoint(Ready::<u8>::Usage("bad".into())) {
            Agreed::Stop { code, line } => assert_eq!((code, line.as_deref()), (2, Some("bad"))),
            Agreed::Ok(_) => panic!("bad input went on"),
        }
        assert_eq!(solo.gather(&vec![1.5f64]), vec![vec![1.5]]);
        assert!(solo.all(true) && !solo.all(false));
        let mut v = [1.0, 2.0];
        solo.max(&mut v);
        assert_eq!(v, [1.0, 2.0]);
        assert!(solo.info().is_none() && solo.rank_scope().is_none());
    }
}
