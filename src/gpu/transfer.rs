//! Host↔device bandwidth and launch latency (`hexpylot sweep transfer`), measured the way
//! nvbandwidth and clpeak measure them: a warm-up, then timed repetitions; every transfer is
//! checked word for word, and a transfer whose bytes do not arrive as sent gives an invalid row,
//! never a bandwidth.
//!
//! Every time here is the host clock ([`Instant`]) around the whole operation, up to its
//! completion on the device: an upload is the buffer's creation or the `write_buffer` call, then
//! a submission and the wait for it; a download is the context's whole staging path (copy, map,
//! copy out of the mapping, per staging chunk); a launch is submit to completion. GPU timestamps
//! would leave out exactly what is measured here: the driver's and the host's share.

use std::time::Instant;

use super::{GpuContext, GpuError};
use crate::model::{Timing, TransferKind, TransferRow};

/// A kernel that does nothing: what a launch costs with no work in it.
const EMPTY: &str = "@compute @workgroup_size(1) fn main() {}";

/// The empty kernel's pipeline, built once.
pub struct TransferGpu {
    pipeline: wgpu::ComputePipeline,
}

/// The word at index `i` of a transfer's data: distinct per word and per kind (`salt`), so that a
/// missed, shifted or partial copy shows, and so does another kind's data left in place.
fn word(i: usize, salt: u32) -> u32 {
    (i as u32).wrapping_mul(0x9E37_79B1) ^ salt
}

fn pattern(words: usize, salt: u32) -> Vec<u32> {
    (0..words).map(|i| word(i, salt)).collect()
}

/// Whether `got` is `sent`, and what the check says either way.
fn compare(got: &[u32], sent: &[u32]) -> (bool, String) {
    if got.len() != sent.len() {
        return (
            false,
            format!("{} words came back of {} sent", got.len(), sent.len()),
        );
    }
    match got.iter().zip(sent).position(|(g, s)| g != s) {
        None => (true, format!("all {} words arrived as sent", sent.len())),
        Some(first) => {
            let wrong = got.iter().zip(sent).filter(|(g, s)| g != s).count();
            (
                false,
                format!(
                    "{wrong} of {} words differ from what was sent, the first at word {first}: {:#010x} instead of {:#010x}",
                    sent.len(),
                    got[first],
                    sent[first]
                ),
            )
        }
    }
}

/// A transfer's row from its repetitions' times, the warm-up first (dropped).
fn transfer_row(
    kind: TransferKind,
    bytes: u64,
    times: &mut [f64],
    (valid, check): (bool, String),
) -> TransferRow {
    let timed = &mut times[1..];
    let timing = Timing::from_times(timed);
    TransferRow {
        kind,
        bytes,
        dispatches: None,
        reps: timed.len(),
        timing,
        gbs: valid.then(|| bytes as f64 / timing.median_s / 1e9),
        us_per_dispatch: None,
        valid,
        check,
    }
}

fn seconds(start: Instant) -> f64 {
    start.elapsed().as_secs_f64()
}

impl TransferGpu {
    pub fn new(ctx: &GpuContext) -> Result<Self, GpuError> {
        let module = ctx.scoped("empty kernel", || {
            ctx.device()
                .create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some("empty kernel"),
                    source: wgpu::ShaderSource::Wgsl(EMPTY.into()),
                })
        })?;
        // No bindings at all, so the layout derived from the shader is the empty one.
        let pipeline = ctx.scoped("empty kernel", || {
            ctx.device()
                .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some("empty kernel"),
                    layout: None,
                    module: &module,
                    entry_point: Some("main"),
                    compilation_options: Default::default(),
                    cache: None,
                })
        })?;
        Ok(TransferGpu { pipeline })
    }

    /// The three transfers of `bytes` (a multiple of 4), each `reps` times (at least 2: the
    /// first is a warm-up).
    pub fn transfers(
        &self,
        ctx: &GpuContext,
        bytes: u64,
        reps: usize,
    ) -> Result<Vec<TransferRow>, GpuError> {
        let words = (bytes / 4) as usize;
        let mut times = Vec::with_capacity(reps);

        // Mapped at creation: a new buffer each time, as the GPU backend uploads its arrays. The
        // previous one is freed first, so that only one is held at a time.
        let what = TransferKind::UploadMapped.name();
        let sent = pattern(words, 1);
        let mut buffer = None;
        for _ in 0..reps {
            drop(buffer.take());
            let start = Instant::now();
            let uploaded = ctx.upload(what, &sent)?;
            ctx.submit_and_wait(what, None)?;
            times.push(seconds(start));
            buffer = Some(uploaded);
        }
        let last = buffer.expect("at least one repetition");
        let got = ctx.download(what, &last, 0, words)?;
        drop(last);
        let mapped = transfer_row(
            TransferKind::UploadMapped,
            bytes,
            &mut times,
            compare(&got, &sent),
        );
        drop((got, sent));

        // write_buffer into one buffer made beforehand (zeroed, so a write that never landed
        // shows).
        let what = TransferKind::UploadWriteBuffer.name();
        let sent = pattern(words, 2);
        let target = ctx.storage::<u32>(what, words, false)?;
        times.clear();
        for _ in 0..reps {
            let start = Instant::now();
            ctx.queue()
                .write_buffer(&target, 0, bytemuck::cast_slice(&sent));
            ctx.submit_and_wait(what, None)?;
            times.push(seconds(start));
        }
        let got = ctx.download(what, &target, 0, words)?;
        drop(target);
        let written = transfer_row(
            TransferKind::UploadWriteBuffer,
            bytes,
            &mut times,
            compare(&got, &sent),
        );
        drop((got, sent));

        // Download: every repetition's bytes are checked, outside its time; the first wrong one
        // makes the row.
        let what = TransferKind::Download.name();
        let sent = pattern(words, 3);
        let source = ctx.upload(what, &sent)?;
        times.clear();
        let mut verdict = None;
        for rep in 0..reps {
            let start = Instant::now();
            let got: Vec<u32> = ctx.download(what, &source, 0, words)?;
            times.push(seconds(start));
            let (valid, check) = compare(&got, &sent);
            if !valid && verdict.is_none() {
                verdict = Some((false, format!("repetition {}: {check}", rep + 1)));
            }
        }
        let verdict = verdict.unwrap_or_else(|| {
            (
                true,
                format!("all {words} words arrived as sent, in each of {reps} repetitions"),
            )
        });
        let downloaded = transfer_row(TransferKind::Download, bytes, &mut times, verdict);
        Ok(vec![mapped, written, downloaded])
    }

    /// The launch latencies: one empty dispatch per submission, and `dispatches` of them in one
    /// submission, each `reps` times (at least 2: the first is a warm-up).
    pub fn launches(
        &self,
        ctx: &GpuContext,
        reps: usize,
        dispatches: u32,
    ) -> Result<Vec<TransferRow>, GpuError> {
        let mut rows = Vec::new();
        for (kind, n) in [
            (TransferKind::LaunchSingle, 1),
            (TransferKind::LaunchBatch, dispatches),
        ] {
            let mut times = Vec::with_capacity(reps);
            for _ in 0..reps {
                // Recorded before the clock starts: the time is the submission's alone.
                let commands = ctx.scoped(kind.name(), || {
                    let mut encoder = ctx.device().create_command_encoder(&Default::default());
                    {
                        let mut pass = encoder.begin_compute_pass(&Default::default());
                        pass.set_pipeline(&self.pipeline);
                        for _ in 0..n {
                            pass.dispatch_workgroups(1, 1, 1);
                        }
                    }
                    encoder.finish()
                })?;
                let start = Instant::now();
                ctx.submit_and_wait(kind.name(), Some(commands))?;
                times.push(seconds(start));
            }
            let timed = &mut times[1..];
            let timing = Timing::from_times(timed);
            rows.push(TransferRow {
                kind,
                bytes: 0,
                dispatches: Some(n),
                reps: timed.len(),
                timing,
                gbs: None,
                us_per_dispatch: Some(timing.median_s * 1e6 / f64::from(n)),
                // An empty kernel has no result to check: completing without an error is all.
                valid: true,
                check: format!(
                    "{} per submission completed without an error, {reps} times",
                    if n == 1 {
                        "1 empty dispatch".to_string()
                    } else {
                        format!("{n} empty dispatches")
                    }
                ),
            });
        }
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_word_is_named() {
        let sent = pattern(8, 1);
        assert!(compare(&sent, &sent).0);
        let mut got = sent.clone();
        got[5] ^= 1;
        let (valid, check) = compare(&got, &sent);
        assert!(!valid);
        assert!(check.starts_with("1 of 8 words differ"), "{check}");
        assert!(check.contains("word 5"), "{check}");
        assert!(!compare(&sent[..4], &sent).0);
        // Kinds' data differ everywhere: another kind's data left in place never passes.
        assert!(pattern(8, 2).iter().zip(&sent).all(|(a, b)| a != b));
    }

    #[test]
    fn an_invalid_transfer_has_no_bandwidth() {
        let row = transfer_row(
            TransferKind::Download,
            4096,
            &mut [9.0, 1e-6, 2e-6, 3e-6],
            (false, "wrong".to_string()),
        );
        assert_eq!((row.reps, row.gbs, row.valid), (3, None, false));
        let row = transfer_row(
            TransferKind::Download,
            4096,
            &mut [9.0, 1e-6, 2e-6, 3e-6],
            (true, "ok".to_string()),
        );
        assert!((row.gbs.unwrap() - 4096.0 / 2e-6 / 1e9).abs() < 1e-9);
    }
}
