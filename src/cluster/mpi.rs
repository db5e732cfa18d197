//! The collectives over MPI (rsmpi). MPI is initialised `FUNNELED`: the engine's workers and
//! rayon's never call it, and every call here checks it runs on the thread that initialised it.

use std::thread::{self, ThreadId};

use mpi::Count;
use mpi::collective::SystemOperation;
use mpi::datatype::PartitionMut;
use mpi::environment::Universe;
use mpi::topology::{Color, SimpleCommunicator};
use mpi::traits::*;
use mpi::{Rank, Threading};

use super::{Cluster, Comm, Reduce};

/// Longest host name carried (MPI's own `MPI_MAX_PROCESSOR_NAME` is 256 in OpenMPI and MPICH).
const HOST_BYTES: usize = 256;

/// A communicator: the world, or the first ranks of it ([`Comm::split`]).
struct Ranks {
    main: ThreadId,
    comm: SimpleCommunicator,
}

// SAFETY: the communicator is a handle the MPI library owns; MPI is initialised FUNNELED, and
// every use goes through `Ranks::comm`, which asserts it runs on the thread that initialised MPI,
// so no two threads ever use it, and the handle itself is never written after creation.
unsafe impl Send for Ranks {}
// SAFETY: as for `Send`: shared references only ever reach the handle on the main thread.
unsafe impl Sync for Ranks {}

impl std::fmt::Debug for Ranks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ranks({} of {})", self.comm.rank(), self.comm.size())
    }
}

impl Ranks {
    /// The communicator, from the thread MPI was initialised on.
    fn comm(&self) -> &SimpleCommunicator {
        assert_eq!(
            thread::current().id(),
            self.main,
            "MPI called off the main thread"
        );
        &self.comm
    }
}

/// Joins the job: MPI initialised, this rank's host and local rank found, every rank's host
/// known to every rank.
pub(super) fn join() -> Result<(Universe, Cluster), String> {
    let (universe, threading) =
        mpi::initialize_with_threading(Threading::Funneled).ok_or("MPI was initialised already")?;
    if threading == Threading::Single {
        return Err("the MPI library gives only MPI_THREAD_SINGLE; HexPylot's ranks run worker threads and need MPI_THREAD_FUNNELED".into());
    }
    let world = universe.world();
    let rank = world.rank();
    let local = world.split_shared(rank);
    let host = mpi::environment::processor_name()
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(crate::machine::hostname);
    let mut mine = [0u8; HOST_BYTES];
    let cut = host.len().min(HOST_BYTES);
    mine[..cut].copy_from_slice(&host.as_bytes()[..cut]);
    let mut all = vec![0u8; HOST_BYTES * world.size() as usize];
    world.all_gather_into(&mine[..], &mut all[..]);
    let hosts = all
        .chunks(HOST_BYTES)
        .map(|c| {
            let end = c.iter().position(|&b| b == 0).unwrap_or(c.len());
            String::from_utf8_lossy(&c[..end]).into_owned()
        })
        .collect();
    let library = mpi::environment::library_version()
        .ok()
        // "Open MPI v4.1.4, package: …": its first part, without the C string's NUL.
        .and_then(|v| {
            let v = v.trim_matches(char::from(0)).trim();
            v.split([',', '\n']).next().map(|l| l.trim().to_string())
        })
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| {
            let (major, minor) = mpi::environment::version();
            format!("MPI {major}.{minor}")
        });
    let cluster = Cluster {
        rank: rank as usize,
        size: world.size() as usize,
        local_rank: local.rank() as usize,
        hosts,
        library: Some(library),
        comm: Some(Box::new(Ranks {
            main: thread::current().id(),
            comm: world,
        })),
        checked: Default::default(),
    };
    Ok((universe, cluster))
}

/// Displacements of consecutive pieces of `counts`.
fn displacements(counts: &[Count]) -> Vec<Count> {
    counts
        .iter()
        .scan(0, |at, &c| {
            let here = *at;
            *at += c;
            Some(here)
        })
        .collect()
}

fn pieces(buf: &[u8], counts: &[Count]) -> Vec<Vec<u8>> {
    displacements(counts)
        .iter()
        .zip(counts)
        .map(|(&d, &c)| buf[d as usize..(d + c) as usize].to_vec())
        .collect()
}

fn count(bytes: &[u8]) -> Count {
    Count::try_from(bytes.len()).expect("a message under 2 GiB")
}

impl Comm for Ranks {
    fn barrier(&self) {
        self.comm().barrier();
    }

    fn reduce(&self, values: &mut [f64], op: Reduce) {
        let mine = values.to_vec();
        let op = match op {
            Reduce::Max => SystemOperation::max(),
            Reduce::Sum => SystemOperation::sum(),
        };
        self.comm().all_reduce_into(&mine[..], values, op);
    }

    fn all(&self, ok: bool) -> bool {
        let (mine, mut all) = (i32::from(ok), 0i32);
        self.comm()
            .all_reduce_into(&mine, &mut all, SystemOperation::min());
        all == 1
    }

    fn gather(&self, bytes: &[u8]) -> Vec<Vec<u8>> {
        let comm = self.comm();
        let root = comm.process_at_rank(0 as Rank);
        let n = count(bytes);
        if comm.rank() != 0 {
            root.gather_into(&n);
            root.gather_varcount_into(bytes);
            return Vec::new();
        }
        let mut counts = vec![0 as Count; comm.size() as usize];
        root.gather_into_root(&n, &mut counts[..]);
        let displs = displacements(&counts);
        let mut buf = vec![0u8; counts.iter().map(|&c| c as usize).sum()];
        {
            let mut partition = PartitionMut::new(&mut buf[..], &counts[..], &displs[..]);
            root.gather_varcount_into_root(bytes, &mut partition);
        }
        pieces(&buf, &counts)
    }

    fn all_gather(&self, bytes: &[u8]) -> Vec<Vec<u8>> {
        let comm = self.comm();
        let mut counts = vec![0 as Count; comm.size() as usize];
        comm.all_gather_into(&count(bytes), &mut counts[..]);
        let displs = displacements(&counts);
        let mut buf = vec![0u8; counts.iter().map(|&c| c as usize).sum()];
        {
            let mut partition = PartitionMut::new(&mut buf[..], &counts[..], &displs[..]);
            comm.all_gather_varcount_into(bytes, &mut partition);
        }
        pieces(&buf, &counts)
    }

    fn split(&self, keep: bool) -> Option<Box<dyn Comm>> {
        let color = if keep {
            Color::with_value(0)
        } else {
            Color::undefined()
        };
        let comm = self.comm().split_by_color(color)?;
        Some(Box::new(Ranks {
            main: self.main,
            comm,
        }))
    }

    fn abort(&self, code: i32) -> ! {
        self.comm().abort(code)
    }
}
