//! Your own kernel on the HexPylot engine: SAXPY, a 3-point stencil and a reduction over arrays
//! that each worker first-touched itself, validated against closed forms.
//!
//! Run with `cargo run --release --example custom_kernel`.

use std::error::Error;
use std::time::{Duration, Instant};

use hexpylot::engine::Engine;

const N: usize = 1 << 22;
const A: f32 = 3.0;

fn main() -> Result<(), Box<dyn Error>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut engine = Engine::new(threads)?;

    let x = engine.alloc_filled(N, 1.0f32)?;
    let mut y = engine.alloc_filled(N, 2.0f32)?;
    let mut z = engine.alloc_filled(N, 0.0f32)?;

    // y = A·x + y: each worker gets the same range of both arrays, the one it first-touched.
    let start = Instant::now();
    engine.for_each_chunk((&x[..], &mut y[..]), |_, _, (x, y)| {
        for (y, x) in y.iter_mut().zip(x) {
            *y += A * x;
        }
    })?;
    let saxpy = start.elapsed();

    // z[i] = mean of y[i-1..=i+1] (edges clamped). A stencil reads past its own range, so it
    // chunks only its output and reads the input whole, through `range`.
    let start = Instant::now();
    let input = &y[..];
    engine.for_each_chunk(&mut z[..], |_, range, z| {
        for (i, z) in range.zip(z) {
            let (left, right) = (input[i.saturating_sub(1)], input[(i + 1).min(N - 1)]);
            *z = (left + input[i] + right) / 3.0;
        }
    })?;
    let stencil = start.elapsed();

    // Σ z, one partial sum per worker.
    let start = Instant::now();
    let mut partials = vec![0.0f64; engine.threads()];
    engine.map_chunks(&z[..], &mut partials, |_, _, z| {
        z.iter().map(|&v| f64::from(v)).sum()
    })?;
    let sum: f64 = partials.iter().sum();
    let reduction = start.elapsed();

    let expected = 2.0 + f64::from(A);
    if let Some(i) = z.iter().position(|&v| f64::from(v) != expected) {
        return Err(format!("z[{i}] = {}, expected {expected}", z[i]).into());
    }
    if sum != expected * N as f64 {
        return Err(format!("sum = {sum}, expected {}", expected * N as f64).into());
    }

    let bytes = (N * size_of::<f32>()) as f64;
    let rate = |moved: f64, time: Duration| moved / time.as_secs_f64() / 1e9;
    println!("{threads} threads, {N} f32 elements");
    println!(
        "saxpy     {saxpy:>10.2?}  {:6.1} GB/s",
        rate(3.0 * bytes, saxpy)
    );
    println!(
        "stencil   {stencil:>10.2?}  {:6.1} GB/s",
        rate(2.0 * bytes, stencil)
    );
    println!(
        "reduction {reduction:>10.2?}  {:6.1} GB/s  (sum {sum})",
        rate(bytes, reduction)
    );
    Ok(())
}
