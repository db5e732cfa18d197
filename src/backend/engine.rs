//! The stream set and Monte Carlo on the HexPylot engine.

use std::borrow::Cow;
use std::ops::Range;

use anyhow::{Context, Result};
use core_affinity::CoreId;
use cpu_kernels::mc::{McParams, McSums};
use cpu_kernels::roofline::roofline;
use cpu_kernels::stream::Stores;

use super::{
    ArrayStore, Arrays, Backend, McTask, MonteCarlo, Ran, Roofline, Slot, Stream, no_arrays,
    simulate_batched,
};
use crate::engine::{Engine, SharedArray};
use crate::model::{BackendKind, StreamKernel};

pub struct EngineBackend {
    engine: Engine,
    arrays: ArrayStore,
    /// One dot partial per worker, summed in worker order.
    partials: Vec<f64>,
    /// One batch of Monte Carlo work, reused across batches and repetitions.
    tasks: Vec<McTask>,
    roofline: Option<SharedArray<f32>>,
}

impl EngineBackend {
    pub fn new(cores: &[CoreId]) -> Result<Self> {
        let engine = Engine::with_cores(cores).context("starting the HexPylot engine")?;
        let partials = vec![0.0; engine.threads()];
        Ok(EngineBackend {
            engine,
            arrays: ArrayStore::default(),
            partials,
            tasks: Vec::new(),
            roofline: None,
        })
    }
}

impl<T: Slot> Stream<T> for EngineBackend {
    fn init_arrays(&mut self, n: usize, init: [T; 3]) -> Result<()> {
        // Free the old arrays first so that the peak footprint is one set, not two.
        *T::slot(&mut self.arrays) = None;
        let [a, b, c] = init.map(|v| self.engine.alloc_filled(n, v));
        let abc = [a?, b?, c?];
        *T::slot(&mut self.arrays) = Some(Arrays { abc });
        Ok(())
    }

    fn run(&mut self, kernel: StreamKernel, scalar: T, stores: Stores) -> Result<Ran<f64>> {
        let Arrays { abc: [a, b, c] } = T::slot(&mut self.arrays).as_mut().ok_or_else(no_arrays)?;
        self.engine.map_chunks(
            (&mut a[..], &mut b[..], &mut c[..]),
            &mut self.partials,
            |_, _, (a, b, c)| kernel.run_cpu(a, b, c, scalar, stores),
        )?;
        Ok(Ran::host(self.partials.iter().sum()))
    }

    fn refill(&mut self, _n: usize, init: [T; 3]) -> Result<()> {
        let Arrays { abc: [a, b, c] } = T::slot(&mut self.arrays).as_mut().ok_or_else(no_arrays)?;
        let [va, vb, vc] = init;
        self.engine
            .for_each_chunk((&mut a[..], &mut b[..], &mut c[..]), |_, _, (a, b, c)| {
                a.fill(va);
                b.fill(vb);
                c.fill(vc);
            })?;
        Ok(())
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

impl MonteCarlo for EngineBackend {
    fn simulate(
        &mut self,
        params: &McParams,
        paths: u64,
        blocks: Range<usize>,
        sums: &mut Vec<McSums>,
        progress: &mut dyn FnMut(f64),
    ) -> Result<Ran<()>> {
        let engine = &mut self.engine;
        let threads = engine.threads();
        simulate_batched(
            params,
            paths,
            blocks,
            threads,
            &mut self.tasks,
            sums,
            progress,
            |tasks| {
                engine.for_each_chunk(tasks, |_, _, mine: &mut [McTask]| {
                    for task in mine {
                        task.run(params, paths);
                    }
                })?;
                Ok(())
            },
        )?;
        Ok(Ran::host(()))
    }
}

impl Roofline for EngineBackend {
    fn roofline_init(&mut self, n: usize, x0: f32) -> Result<()> {
        self.roofline = None;
        self.roofline = Some(self.engine.alloc_filled(n, x0)?);
        Ok(())
    }

    fn roofline_run(&mut self, fmas: u32, alpha: f32, beta: f32) -> Result<Ran<()>> {
        let x = self.roofline.as_mut().ok_or_else(no_arrays)?;
        self.engine
            .for_each_chunk(&mut x[..], |_, _, chunk: &mut [f32]| {
                roofline(chunk, fmas, alpha, beta)
            })?;
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

impl Backend for EngineBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Engine
    }

    fn threads(&self) -> usize {
        self.engine.threads()
    }

    fn chooses_stores(&self) -> bool {
        true
    }
}
