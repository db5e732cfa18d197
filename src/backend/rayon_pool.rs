//! The stream set and Monte Carlo on rayon: what a Rust user would reach for instead of the engine.
//! Same kernels, same thread count, threads pinned the same way, arrays first touched through the
//! pool with the same chunking the kernels use.

use std::borrow::Cow;
use std::ops::Range;

use anyhow::{Context, Result};
use core_affinity::CoreId;
use cpu_kernels::mc::{McParams, McSums};
use cpu_kernels::roofline::roofline;
use cpu_kernels::stream::Stores;
use rayon::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};

use super::{
    ArrayStore, Arrays, Backend, McTask, MonteCarlo, Ran, Roofline, Slot, Stream, no_arrays,
    simulate_batched,
};
use crate::engine::SharedArray;
use crate::model::{BackendKind, StreamKernel};

pub struct RayonBackend {
    pool: ThreadPool,
    threads: usize,
    arrays: ArrayStore,
    tasks: Vec<McTask>,
    roofline: Option<SharedArray<f32>>,
}

impl RayonBackend {
    pub fn new(cores: &[CoreId]) -> Result<Self> {
        let pinned: Vec<CoreId> = cores.to_vec();
        let pool = ThreadPoolBuilder::new()
            .num_threads(cores.len())
            .thread_name(|i| format!("hexpylot-rayon-{i}"))
            // Pin in the start handler: the threads inherit the spawner's mask otherwise.
            .start_handler(move |i| {
                core_affinity::set_for_current(pinned[i]);
            })
            .build()
            .context("starting the rayon thread pool")?;
        Ok(RayonBackend {
            pool,
            threads: cores.len(),
            arrays: ArrayStore::default(),
            tasks: Vec::new(),
            roofline: None,
        })
    }
}

/// One chunk per thread, rounded up to whole cache lines, like the engine's static partition.
fn chunk_len<T>(n: usize, threads: usize) -> usize {
    let line = (64 / size_of::<T>()).max(1);
    n.div_ceil(threads).div_ceil(line) * line
}

/// Fills each array with its value through the pool, chunk by chunk as the kernels split them, so
/// that each page is touched by the thread that will process it.
fn fill<T: Slot>(pool: &ThreadPool, abc: &mut [SharedArray<T>; 3], init: [T; 3], chunk: usize) {
    pool.install(|| {
        for (array, value) in abc.iter_mut().zip(init) {
            array
                .par_chunks_mut(chunk)
                .for_each(|part| cpu_kernels::stream::fill(part, value));
        }
    });
}

impl<T: Slot> Stream<T> for RayonBackend {
    fn init_arrays(&mut self, n: usize, init: [T; 3]) -> Result<()> {
        *T::slot(&mut self.arrays) = None;
        let chunk = chunk_len::<T>(n, self.threads);
        let mut abc = [
            SharedArray::zeroed(n)?,
            SharedArray::zeroed(n)?,
            SharedArray::zeroed(n)?,
        ];
        fill(&self.pool, &mut abc, init, chunk);
        *T::slot(&mut self.arrays) = Some(Arrays { abc });
        Ok(())
    }

    fn refill(&mut self, n: usize, init: [T; 3]) -> Result<()> {
        let chunk = chunk_len::<T>(n, self.threads);
        let Arrays { abc } = T::slot(&mut self.arrays).as_mut().ok_or_else(no_arrays)?;
        fill(&self.pool, abc, init, chunk);
        Ok(())
    }

    fn run(&mut self, kernel: StreamKernel, scalar: T, stores: Stores) -> Result<Ran<f64>> {
        let Arrays { abc: [a, b, c] } = T::slot(&mut self.arrays).as_mut().ok_or_else(no_arrays)?;
        let chunk = chunk_len::<T>(a.len(), self.threads);
        Ok(Ran::host(self.pool.install(|| {
            a.par_chunks_mut(chunk)
                .zip(b.par_chunks_mut(chunk))
                .zip(c.par_chunks_mut(chunk))
                .map(|((a, b), c)| kernel.run_cpu(a, b, c, scalar, stores))
                .sum()
        })))
    }

    fn read_arrays(&mut self) -> Result<[Cow<'_, [T]>; 3]> {
        Ok(T::slot(&mut self.arrays)
            .as_ref()
            .ok_or_else(no_arrays)?
            .borrowed())
    }

    fn release_arrays(&mut self) {
        *T::slot(&mut self.arrays) = None;
    }
}

impl MonteCarlo for RayonBackend {
    fn simulate(
        &mut self,
        params: &McParams,
        paths: u64,
        blocks: Range<usize>,
        sums: &mut Vec<McSums>,
        progress: &mut dyn FnMut(f64),
    ) -> Result<Ran<()>> {
        let pool = &self.pool;
        simulate_batched(
            params,
            paths,
            blocks,
            self.threads,
            &mut self.tasks,
            sums,
            progress,
            |tasks| {
                pool.install(|| {
                    tasks
                        .par_iter_mut()
                        .for_each(|task| task.run(params, paths))
                });
                Ok(())
            },
        )?;
        Ok(Ran::host(()))
    }
}

impl Roofline for RayonBackend {
    fn roofline_init(&mut self, n: usize, x0: f32) -> Result<()> {
        self.roofline = None;
        let chunk = chunk_len::<f32>(n, self.threads);
        let mut x = SharedArray::zeroed(n)?;
        self.pool.install(|| {
            x.par_chunks_mut(chunk)
                .for_each(|part| cpu_kernels::stream::fill(part, x0))
        });
        self.roofline = Some(x);
        Ok(())
    }

    fn roofline_run(&mut self, fmas: u32, alpha: f32, beta: f32) -> Result<Ran<()>> {
        let x = self.roofline.as_mut().ok_or_else(no_arrays)?;
        let chunk = chunk_len::<f32>(x.len(), self.threads);
        self.pool.install(|| {
            x.par_chunks_mut(chunk)
                .for_each(|part| roofline(part, fmas, alpha, beta))
        });
        Ok(Ran::host(()))
    }

    fn roofline_read(&mut self) -> Result<Cow<'_, [f32]>> {
        Ok(Cow::Borrowed(
            &self.roofline.as_ref().ok_or_else(no_arrays)?[..],
        ))
    }

    fn roofline_release(&mut self) {
        self.roofline = None;
    }
}

impl Backend for RayonBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Rayon
    }

    fn threads(&self) -> usize {
        self.threads
    }

    fn chooses_stores(&self) -> bool {
        true
    }
}
