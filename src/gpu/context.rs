//! The GPU context: instance, adapter, device and queue, built once and reused by every kernel,
//! with the few operations every GPU kernel needs (upload, download, a timed compute pass, error
//! capture). Nothing here knows about any kernel.

use std::sync::{Arc, Mutex, OnceLock, PoisonError, mpsc};
use std::time::{Duration, Instant};

use bytemuck::Pod;
use wgpu::util::DeviceExt;

use crate::model::{AdapterSummary, LimitsSummary};

/// A wait this long for one submission means the device is gone, not busy: even lavapipe moves
/// gigabytes per second, and no single submission here moves more than a few GiB.
const WAIT_LIMIT: Duration = Duration::from_secs(300);

/// The size of the one download staging buffer each context keeps (less where the device's
/// `max_buffer_size` is smaller). Downloads larger than this pass through it in chunks, one copy,
/// map and unmap per chunk, rather than through a buffer grown to the largest download: a grown
/// buffer would hold a whole array's size of host-visible memory (host RAM itself on lavapipe and
/// integrated GPUs) for the rest of the process, while the CPU backends run their own arrays
/// next to it. A chunk's round trip (one submit, one wait: about 0.1 ms on lavapipe) is small
/// against copying 64 MiB, which takes milliseconds even at tens of GB/s.
pub const STAGING_BYTES: u64 = 1 << 26;

/// Elements every storage buffer has room for, for `n` of them: a whole number of vec4s, so that
/// kernels loading two or four elements at a time never need a scalar tail (the padding is zero,
/// and never read back).
pub fn padded(n: usize) -> usize {
    n.next_multiple_of(4)
}

#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    /// wgpu found no adapter; `why` is what can be told of it ([`GpuError::no_adapter`]).
    #[error("no GPU adapter found: {why}")]
    NoAdapter { why: String },
    #[error("no GPU adapter matches {wanted:?} (available: {available})")]
    NoMatch { wanted: String, available: String },
    #[error("requesting a device on {adapter}: {message}")]
    Device { adapter: String, message: String },
    /// The request exceeds what this device can hold or bind; the user must ask for less.
    #[error("{0}")]
    Limit(String),
    /// The device rejected or lost work mid-run.
    #[error("GPU {what}: {message}")]
    Failed { what: String, message: String },
}

impl GpuError {
    /// No adapter, and the likeliest reason: no Vulkan driver installed, or drivers installed
    /// that found no device or could not start, which a limit on the address space (`ulimit -v`)
    /// makes them do (llvmpipe maps far more than it uses).
    pub fn no_adapter() -> Self {
        let drivers = vulkan_drivers();
        let why = if drivers.is_empty() {
            "wgpu found no Vulkan device (install a Vulkan driver, e.g. mesa-vulkan-drivers for the software one)".to_string()
        } else {
            format!(
                "the Vulkan drivers installed ({}) found no device or failed to initialise{}",
                drivers.join(", "),
                limit_hint()
            )
        };
        GpuError::NoAdapter { why }
    }

    fn failed(what: &str, message: impl ToString) -> Self {
        GpuError::Failed {
            what: what.to_string(),
            message: message.to_string(),
        }
    }
}

impl AdapterSummary {
    fn of(adapter: &wgpu::Adapter) -> Self {
        let (info, features, limits) = (adapter.get_info(), adapter.features(), adapter.limits());
        AdapterSummary {
            name: info.name,
            backend: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            driver: info.driver,
            driver_info: info.driver_info,
            timestamp_queries: features.contains(wgpu::Features::TIMESTAMP_QUERY),
            shader_f64: features.contains(wgpu::Features::SHADER_F64),
            shader_int64: features.contains(wgpu::Features::SHADER_INT64),
            subgroups: features.contains(wgpu::Features::SUBGROUP),
            subgroup_min_size: info.subgroup_min_size,
            subgroup_max_size: info.subgroup_max_size,
            limits: LimitsSummary {
                max_buffer_size: limits.max_buffer_size,
                max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
                min_storage_buffer_offset_alignment: limits.min_storage_buffer_offset_alignment,
                max_compute_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
                max_compute_invocations_per_workgroup: limits.max_compute_invocations_per_workgroup,
                max_compute_workgroup_storage_size: limits.max_compute_workgroup_storage_size,
                max_compute_workgroup_size_x: limits.max_compute_workgroup_size_x,
            },
        }
    }
}

/// The Vulkan drivers' manifests the loader would read: those named by `VK_DRIVER_FILES` (or
/// the older `VK_ICD_FILENAMES`), else the `.json` files of the standard folders.
fn vulkan_drivers() -> Vec<String> {
    let named = std::env::var("VK_DRIVER_FILES").or_else(|_| std::env::var("VK_ICD_FILENAMES"));
    let files: Vec<std::path::PathBuf> = match named {
        Ok(list) => list
            .split(':')
            .map(std::path::PathBuf::from)
            .filter(|f| f.is_file())
            .collect(),
        Err(_) => [
            "/etc/vulkan/icd.d",
            "/usr/local/share/vulkan/icd.d",
            "/usr/share/vulkan/icd.d",
        ]
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect(),
    };
    let mut names: Vec<String> = files
        .iter()
        .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// What to add to a driver's failure when the address space is limited (`ulimit -v`): drivers
/// map far more than they use (llvmpipe fails to start under a few hundred MiB).
fn limit_hint() -> String {
    address_space_limit().map_or(String::new(), |bytes| {
        format!(
            "; this process's address space is limited to {} (ulimit -v), which may be too little for a driver to initialise",
            crate::text::human_bytes(u128::from(bytes))
        )
    })
}

/// The address-space limit (`ulimit -v`), when there is one.
fn address_space_limit() -> Option<u64> {
    let mut limit = std::mem::MaybeUninit::<libc::rlimit>::uninit();
    // SAFETY: getrlimit writes one rlimit into the place given, and nothing else.
    if unsafe { libc::getrlimit(libc::RLIMIT_AS, limit.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: initialised by the successful call above.
    let limit = unsafe { limit.assume_init() };
    (limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur)
}

fn instance() -> wgpu::Instance {
    wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env())
}

fn enumerate(instance: &wgpu::Instance) -> Vec<wgpu::Adapter> {
    pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()))
}

/// Real GPUs first, then virtual ones, then software rasterisers.
fn preference(adapter: &wgpu::Adapter) -> u8 {
    match adapter.get_info().device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    }
}

/// Every adapter wgpu finds, in the order of preference, and the index of the one
/// [`GpuContext::new`] would pick for `wanted` (None if none matches).
pub fn adapters(wanted: Option<&str>, local_rank: usize) -> (Vec<AdapterSummary>, Option<usize>) {
    let mut found = enumerate(&instance());
    found.sort_by_key(preference);
    let chosen = pick(&found, wanted, local_rank);
    (found.iter().map(AdapterSummary::of).collect(), chosen)
}

/// The adapter this process takes from `found` (sorted by preference): among those matching
/// `wanted` and of the most preferred kind, the `local_rank mod count`-th, so that the ranks of
/// an MPI job on one host spread over its GPUs, one each while there are enough (a single
/// process, like rank 0, takes the first).
fn pick(found: &[wgpu::Adapter], wanted: Option<&str>, local_rank: usize) -> Option<usize> {
    let matching: Vec<usize> = (0..found.len())
        .filter(|&i| matches(&found[i], wanted))
        .collect();
    let best = preference(&found[*matching.first()?]);
    let same: Vec<usize> = matching
        .into_iter()
        .filter(|&i| preference(&found[i]) == best)
        .collect();
    Some(same[local_rank % same.len()])
}

fn matches(adapter: &wgpu::Adapter, wanted: Option<&str>) -> bool {
    wanted.is_none_or(|w| {
        adapter
            .get_info()
            .name
            .to_lowercase()
            .contains(&w.to_lowercase())
    })
}

/// What one compute pass took.
#[derive(Clone, Copy, Debug)]
pub struct PassTime {
    /// Submit to completion, measured on the host.
    pub wall_s: f64,
    /// From the pass's timestamp queries, when the adapter has them.
    pub kernel_s: Option<f64>,
}

impl PassTime {
    /// The kernel's own time: the timestamps where there are some, else submit to completion.
    pub fn best_estimate(self) -> f64 {
        self.kernel_s.unwrap_or(self.wall_s)
    }
}

/// The two timestamps of a pass, and where they are resolved and read back.
struct Timestamps {
    set: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    readback: wgpu::Buffer,
    /// Nanoseconds per tick.
    period: f64,
}

pub struct GpuContext {
    device: wgpu::Device,
    queue: wgpu::Queue,
    summary: AdapterSummary,
    timestamps: Option<Timestamps>,
    /// The MAP_READ buffer every download goes through, created once (see [`STAGING_BYTES`]).
    /// The lock makes downloads take turns: each maps the buffer, which one at a time can do.
    staging: Mutex<wgpu::Buffer>,
    lost: Arc<OnceLock<String>>,
}

impl GpuContext {
    /// Picks the preferred adapter (or the first whose name contains `wanted`, ignoring case; a
    /// rank of an MPI job its share of them, see [`pick`]) and
    /// requests a device with the adapter's own limits and, where offered, timestamp queries,
    /// f64 and 64-bit integer shaders and subgroups. `local_rank`: this process's rank among
    /// the job's ranks on its host (0 for one process).
    pub fn new(wanted: Option<&str>, local_rank: usize) -> Result<Self, GpuError> {
        let instance = instance();
        let mut found = enumerate(&instance);
        found.sort_by_key(preference);
        let Some(adapter) = pick(&found, wanted, local_rank).map(|i| &found[i]) else {
            return Err(match wanted {
                None => GpuError::no_adapter(),
                Some(w) => GpuError::NoMatch {
                    wanted: w.to_string(),
                    available: if found.is_empty() {
                        "none".to_string()
                    } else {
                        found
                            .iter()
                            .map(|a| a.get_info().name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                },
            });
        };
        let summary = AdapterSummary::of(adapter);
        let wanted_features = wgpu::Features::TIMESTAMP_QUERY
            | wgpu::Features::SHADER_F64
            | wgpu::Features::SHADER_INT64
            | wgpu::Features::SUBGROUP;
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("hexpylot"),
            required_features: adapter.features() & wanted_features,
            required_limits: adapter.limits(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| GpuError::Device {
            adapter: summary.name.clone(),
            message: format!("{e}{}", limit_hint()),
        })?;

        let lost = Arc::new(OnceLock::new());
        let lost_for_callback = Arc::clone(&lost);
        device.set_device_lost_callback(move |reason, message| {
            let _ = lost_for_callback.set(format!("device lost ({reason:?}): {message}"));
        });
        // Errors outside a scope would otherwise panic inside wgpu; every operation here runs in
        // a scope, so anything reaching this handler is reported with the next result instead.
        let uncaptured = Arc::clone(&lost);
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            let _ = uncaptured.set(e.to_string());
        }));

        let timestamps = summary.timestamp_queries.then(|| Timestamps {
            set: device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("pass timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count: 2,
            }),
            resolve: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("timestamp resolve"),
                size: 16,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            }),
            readback: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("timestamp readback"),
                size: 16,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
            period: f64::from(queue.get_timestamp_period()),
        });
        let staging = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("download staging"),
            size: STAGING_BYTES.min(summary.limits.max_buffer_size) / wgpu::COPY_BUFFER_ALIGNMENT
                * wgpu::COPY_BUFFER_ALIGNMENT,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Ok(GpuContext {
            device,
            queue,
            summary,
            timestamps,
            staging: Mutex::new(staging),
            lost,
        })
    }

    pub fn device(&self) -> &wgpu::Device {
        &self.device
    }

    pub fn summary(&self) -> &AdapterSummary {
        &self.summary
    }

    pub fn limits(&self) -> &LimitsSummary {
        &self.summary.limits
    }

    pub fn has_f64(&self) -> bool {
        self.summary.shader_f64
    }

    /// Runs `f` (which creates resources or records and submits work) inside validation,
    /// out-of-memory and internal error scopes, and turns whatever they caught, or a lost device,
    /// into an error naming `what`.
    pub fn scoped<R>(&self, what: &str, f: impl FnOnce() -> R) -> Result<R, GpuError> {
        let scopes = [
            wgpu::ErrorFilter::Internal,
            wgpu::ErrorFilter::OutOfMemory,
            wgpu::ErrorFilter::Validation,
        ]
        .map(|filter| self.device.push_error_scope(filter));
        let result = f();
        // Pop every scope (innermost first) before looking at what they caught.
        let caught: Vec<wgpu::Error> = scopes
            .into_iter()
            .rev()
            .filter_map(|scope| pollster::block_on(scope.pop()))
            .collect();
        if caught
            .iter()
            .any(|e| matches!(e, wgpu::Error::OutOfMemory { .. }))
        {
            return Err(GpuError::Limit(format!(
                "{what}: out of GPU memory on {}",
                self.summary.name
            )));
        }
        let mut errors: Vec<String> = caught.iter().map(ToString::to_string).collect();
        if let Some(lost) = self.lost.get() {
            errors.push(lost.clone());
        }
        if errors.is_empty() {
            Ok(result)
        } else {
            Err(GpuError::failed(what, errors.join("; ")))
        }
    }

    /// Checks that one buffer of `bytes` fits this device.
    pub fn check_buffer_size(&self, what: &str, bytes: u64) -> Result<(), GpuError> {
        let max = self.summary.limits.max_buffer_size;
        if bytes > max {
            return Err(GpuError::Limit(format!(
                "{what} needs a GPU buffer of {bytes} bytes, past {}'s max_buffer_size of {max} bytes",
                self.summary.name
            )));
        }
        Ok(())
    }

    /// A storage buffer holding `data` (and zeros up to [`padded`] elements), written through a
    /// mapping made at creation (no staging copy).
    pub fn upload<T: Pod>(&self, label: &str, data: &[T]) -> Result<wgpu::Buffer, GpuError> {
        let buffer = self.storage::<T>(label, data.len(), true)?;
        let bytes: &[u8] = bytemuck::cast_slice(data);
        buffer
            .get_mapped_range_mut(..bytes.len() as u64)
            .map_err(|e| GpuError::failed(label, e))?
            .copy_from_slice(bytes);
        buffer.unmap();
        Ok(buffer)
    }

    /// A zeroed storage buffer with room for `n` elements of `T`, [`padded`], mapped for writing
    /// if `mapped`.
    pub fn storage<T: Pod>(
        &self,
        label: &str,
        n: usize,
        mapped: bool,
    ) -> Result<wgpu::Buffer, GpuError> {
        let size = (padded(n) * size_of::<T>()) as u64;
        self.check_buffer_size(label, size)?;
        self.scoped(label, || {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: size.max(wgpu::COPY_BUFFER_ALIGNMENT),
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: mapped,
            })
        })
    }

    /// A storage buffer of `n` copies of `value` (zeros past them, up to [`padded`]).
    pub fn upload_filled<T: Pod>(
        &self,
        label: &str,
        n: usize,
        value: T,
    ) -> Result<wgpu::Buffer, GpuError> {
        let buffer = self.storage::<T>(label, n, false)?;
        self.fill(label, &buffer, n, value)?;
        Ok(buffer)
    }

    /// Sets the first `n` elements of `buffer` to `value` in place, a few MiB at a time through
    /// the queue (no host array of the buffer's size), and waits for it: the launch tuner
    /// restores the arrays it probed on this way, so the timed runs start from the initial values
    /// on the very buffers they use.
    pub fn fill<T: Pod>(
        &self,
        label: &str,
        buffer: &wgpu::Buffer,
        n: usize,
        value: T,
    ) -> Result<(), GpuError> {
        const CHUNK: usize = 1 << 22;
        let pattern = vec![value; (CHUNK / size_of::<T>()).max(1)];
        let pattern: &[u8] = bytemuck::cast_slice(&pattern);
        let size = (n * size_of::<T>()) as u64;
        self.scoped(label, || {
            let mut offset = 0u64;
            while offset < size {
                let len = (size - offset).min(pattern.len() as u64);
                self.queue
                    .write_buffer(buffer, offset, &pattern[..len as usize]);
                offset += len;
            }
        })?;
        self.submit_and_wait(label, None)
    }

    /// Copies `count` elements from `offset_elems` of `source` back to the host, through the
    /// context's staging buffer, a chunk of at most its size at a time.
    pub fn download<T: Pod>(
        &self,
        label: &str,
        source: &wgpu::Buffer,
        offset_elems: usize,
        count: usize,
    ) -> Result<Vec<T>, GpuError> {
        let mut out = vec![T::zeroed(); count];
        let start = (offset_elems * size_of::<T>()) as u64;
        // A panic mid-download leaves nothing the next one trips over but a mapped buffer, which
        // its map_async then reports as an error.
        let staging = self.staging.lock().unwrap_or_else(PoisonError::into_inner);
        let chunk = staging.size() as usize;
        let mut done = 0u64;
        for bytes in bytemuck::cast_slice_mut::<T, u8>(&mut out).chunks_mut(chunk) {
            self.scoped(label, || {
                let mut encoder = self.device.create_command_encoder(&Default::default());
                encoder.copy_buffer_to_buffer(
                    source,
                    start + done,
                    &staging,
                    0,
                    (bytes.len() as u64).next_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT),
                );
                self.queue.submit([encoder.finish()]);
            })?;
            self.read_mapped(label, &staging, bytes)?;
            done += bytes.len() as u64;
        }
        Ok(out)
    }

    /// Maps the start of a MAP_READ buffer, copies it into `dst` (as many bytes as `dst` holds),
    /// and unmaps the buffer again.
    fn read_mapped(
        &self,
        label: &str,
        buffer: &wgpu::Buffer,
        dst: &mut [u8],
    ) -> Result<(), GpuError> {
        // Map ranges are whole words; mapping only what is read leaves the rest of a large
        // buffer alone.
        let mapped = (dst.len() as u64).next_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT);
        let (tx, rx) = mpsc::channel();
        buffer.map_async(wgpu::MapMode::Read, ..mapped, move |r| {
            let _ = tx.send(r);
        });
        self.wait(label)?;
        rx.recv_timeout(WAIT_LIMIT)
            .map_err(|_| GpuError::failed(label, "the buffer was never mapped"))?
            .map_err(|e| GpuError::failed(label, e))?;
        // The view must be gone before the unmap, which must happen whatever the copy gave.
        let copied = buffer
            .get_mapped_range(..mapped)
            .map(|view| dst.copy_from_slice(&view[..dst.len()]))
            .map_err(|e| GpuError::failed(label, e));
        buffer.unmap();
        copied
    }

    /// Blocks until every submission so far has completed.
    fn wait(&self, what: &str) -> Result<(), GpuError> {
        self.device
            .poll(wgpu::PollType::Wait {
                submission_index: None,
                timeout: Some(WAIT_LIMIT),
            })
            .map_err(|e| GpuError::failed(what, e))?;
        match self.lost.get() {
            Some(lost) => Err(GpuError::failed(what, lost)),
            None => Ok(()),
        }
    }

    /// The device's queue, for work the helpers here do not cover (`queue.write_buffer` uploads).
    pub(crate) fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }

    /// Submits `commands` (none: only what the queue holds already, such as `write_buffer` data
    /// or the contents of a buffer mapped at creation) and blocks until every submission so far
    /// has completed. No error scope here, so that timing it costs no scope round trips: an
    /// error reaches the uncaptured-error handler, which [`Self::wait`] reports.
    pub(crate) fn submit_and_wait(
        &self,
        what: &str,
        commands: Option<wgpu::CommandBuffer>,
    ) -> Result<(), GpuError> {
        self.queue.submit(commands);
        self.wait(what)
    }

    /// Records one compute pass with `record`, submits it and waits for it: the pass is timed by
    /// timestamp queries where the adapter has them, and submit-to-completion always.
    pub fn run_pass(
        &self,
        what: &str,
        record: impl FnOnce(&mut wgpu::ComputePass<'_>),
    ) -> Result<PassTime, GpuError> {
        let start = self.scoped(what, || {
            let mut encoder = self.device.create_command_encoder(&Default::default());
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some(what),
                    timestamp_writes: self.timestamps.as_ref().map(|t| {
                        wgpu::ComputePassTimestampWrites {
                            query_set: &t.set,
                            beginning_of_pass_write_index: Some(0),
                            end_of_pass_write_index: Some(1),
                        }
                    }),
                });
                record(&mut pass);
            }
            if let Some(t) = &self.timestamps {
                encoder.resolve_query_set(&t.set, 0..2, &t.resolve, 0);
                encoder.copy_buffer_to_buffer(&t.resolve, 0, &t.readback, 0, 16);
            }
            let commands = encoder.finish();
            let start = Instant::now();
            self.queue.submit([commands]);
            start
        })?;
        self.wait(what)?;
        let wall_s = start.elapsed().as_secs_f64();
        let kernel_s = match &self.timestamps {
            Some(t) => {
                let mut ticks = [0u64; 2];
                self.read_mapped(what, &t.readback, bytemuck::bytes_of_mut(&mut ticks))?;
                Some(ticks[1].saturating_sub(ticks[0]) as f64 * t.period * 1e-9)
            }
            None => None,
        };
        Ok(PassTime { wall_s, kernel_s })
    }

    /// A shader module of HexPylot's own WGSL, without the runtime bounds checks wgpu would add
    /// to every buffer and workgroup-array access.
    pub fn module(&self, label: &str, source: String) -> Result<wgpu::ShaderModule, GpuError> {
        self.scoped(label, || {
            let desc = wgpu::ShaderModuleDescriptor {
                label: Some(label),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            };
            // SAFETY: wgpu requires that no access of a trusted module leave its binding. Every
            // index in shaders/ is in range by construction: the stream, roofline, Philox and
            // normals loops run `i < n` with n set by the host to the elements (or vectors) its
            // binding holds (windows are bound whole, buffers padded to whole vec4s); Monte
            // Carlo partials are written at `workgroup_id < groups`, which the host sizes the
            // partial buffer for; workgroup arrays have WG entries, indexed by the local
            // invocation index or subgroup id (< WG), and the tree halves stay below WG. The
            // loops all terminate (`i += stride`, stride ≥ 1; `round < 10`; `k < fmas`). Every
            // output is validated against the CPU (gold values, sums' counts) in every run.
            unsafe {
                self.device
                    .create_shader_module_trusted(desc, wgpu::ShaderRuntimeChecks::unchecked())
            }
        })
    }

    /// A compute pipeline over `module`'s `entry`, with an explicit bind-group layout, and
    /// `workgroup` invocations per workgroup (the shaders' `WG` override).
    pub fn pipeline(
        &self,
        label: &str,
        module: &wgpu::ShaderModule,
        entry: &str,
        layout: &wgpu::BindGroupLayout,
        workgroup: u32,
    ) -> Result<wgpu::ComputePipeline, GpuError> {
        self.scoped(label, || {
            let pipeline_layout =
                self.device
                    .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                        label: Some(label),
                        bind_group_layouts: &[Some(layout)],
                        immediate_size: 0,
                    });
            self.device
                .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(label),
                    layout: Some(&pipeline_layout),
                    module,
                    entry_point: Some(entry),
                    compilation_options: wgpu::PipelineCompilationOptions {
                        constants: &[("WG", f64::from(workgroup))],
                        ..Default::default()
                    },
                    cache: None,
                })
        })
    }

    /// A bind-group layout of storage buffers (`read_only` per binding, in binding order) plus,
    /// when `uniform` is set, one uniform buffer after them.
    pub fn layout(
        &self,
        label: &str,
        read_only: &[bool],
        uniform: bool,
    ) -> Result<wgpu::BindGroupLayout, GpuError> {
        let storage = read_only
            .iter()
            .map(|&read_only| wgpu::BufferBindingType::Storage { read_only });
        let entries: Vec<_> = storage
            .chain(uniform.then_some(wgpu::BufferBindingType::Uniform))
            .enumerate()
            .map(|(binding, ty)| wgpu::BindGroupLayoutEntry {
                binding: binding as u32,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty,
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            })
            .collect();
        self.scoped(label, || {
            self.device
                .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                    label: Some(label),
                    entries: &entries,
                })
        })
    }

    /// A uniform buffer holding `value`.
    pub fn uniform<T: Pod>(&self, label: &str, value: &T) -> Result<wgpu::Buffer, GpuError> {
        self.scoped(label, || {
            self.device
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some(label),
                    contents: bytemuck::bytes_of(value),
                    usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                })
        })
    }

    /// Overwrites the start of `buffer` with `bytes` (small parameter updates only: this goes
    /// through the queue's staging memory).
    pub fn write(&self, buffer: &wgpu::Buffer, bytes: &[u8]) {
        self.queue.write_buffer(buffer, 0, bytes);
    }
}
