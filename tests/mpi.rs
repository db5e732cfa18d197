//! The MPI build under a real launcher (`mpirun -n 1/2/3 --oversubscribe`, Open MPI): Monte Carlo
//! sharded by block range prices bit for bit as one process does, stream's job rows add up every
//! rank's, bad input stops every rank with exit 2, and a rank that dies ends the job.
//!
//! `HEXPYLOT_PLAIN_BIN` names a build without the feature (`.ci/run` sets it, and `CI=true`
//! requires it), so the prices are held against that build too, not only against this binary
//! started without a launcher.
#![cfg(feature = "mpi")]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hexpylot::model::Document;
use serde_json::Value;

mod common;
use common::mkfifo;

/// `mpirun -n RANKS LAUNCHER_ARGS` on the binary under test, with what Open MPI needs in a
/// container: more ranks than cores (`--oversubscribe`, the CI machine has two) and, where the
/// tests run as root, its two consent variables.
fn mpirun(ranks: usize, launcher_args: &[&str]) -> Command {
    let mut cmd = Command::new("mpirun");
    cmd.args(["--oversubscribe", "-n", &ranks.to_string()])
        .args(launcher_args)
        .arg(env!("CARGO_BIN_EXE_hexpylot"))
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("XDG_RUNTIME_DIR", std::env::temp_dir());
    cmd
}

/// Runs `cmd` with `args --json FILE`, which must succeed; returns the document, which has an
/// `mpi` block exactly when `cmd` is `mpirun`.
fn json_of(mut cmd: Command, args: &[&str]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.json");
    let launched = cmd.get_program() == "mpirun";
    succeeded(cmd.args(args).args(["--json", path.to_str().unwrap()]));
    let text = std::fs::read_to_string(&path).unwrap();
    // The typed model carries the job (`mpi`, every row's `scope`): read back and written again,
    // the same bytes.
    let doc = Document::from_json(&text, &path).unwrap();
    assert_eq!(doc.mpi.is_some(), launched, "{args:?}: the mpi block");
    assert_eq!(String::from_utf8(doc.to_json().unwrap()).unwrap(), text);
    serde_json::from_str(&text).unwrap()
}

/// Runs `cmd`, which must succeed.
fn succeeded(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `cmd` to its end within `limit`, else ends it (SIGTERM, which `mpirun` passes on to its
/// ranks) and fails: a job that hangs fails the test instead of holding it up.
fn output_within(cmd: &mut Command, limit: Duration) -> std::process::Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            // SAFETY: kill sends a signal to our own child, which has not been waited for yet.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
            let out = child.wait_with_output().unwrap();
            panic!(
                "{cmd:?} still ran after {limit:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn solo(bin: &str) -> Command {
    let mut cmd = Command::new(bin);
    cmd.env("XDG_RUNTIME_DIR", std::env::temp_dir());
    cmd
}

fn job_rows<'a>(rows: &'a [Value], backend: &str) -> Vec<&'a Value> {
    rows.iter()
        .filter(|r| r["backend"] == backend && r["scope"]["kind"] == "aggregate")
        .collect()
}

/// The price, its standard error and the raw sums: these must agree bit for bit.
fn exact(row: &Value) -> Value {
    serde_json::json!([row["price"], row["std_error"], row["sums"]])
}

/// 100003 paths are 25 blocks of 4096: 25 on one rank, 13 + 12 on two, 8 + 8 + 9 on three, the
/// last block short. Each rank runs one or two threads; the job's price must be one process's.
#[test]
fn monte_carlo_is_bit_identical_for_any_rank_count() {
    let plain = std::env::var("HEXPYLOT_PLAIN_BIN").ok();
    if std::env::var_os("CI").is_some() {
        assert!(
            plain.is_some(),
            "CI: HEXPYLOT_PLAIN_BIN must name a build without the mpi feature"
        );
    }
    for option in ["european-call", "asian-call"] {
        let args = |threads: &'static str| {
            vec![
                "mc",
                "--option",
                option,
                "--steps",
                if option == "asian-call" { "12" } else { "1" },
                "--paths",
                "100003",
                "--reps",
                "2",
                "--backends",
                "engine,rayon",
                "--threads",
                threads,
            ]
        };
        let reference = json_of(solo(env!("CARGO_BIN_EXE_hexpylot")), &args("1"));
        let reference = &reference["mc"][0];
        assert!(reference.get("scope").is_none_or(Value::is_null));
        let mut runs = 0;
        if let Some(bin) = &plain {
            for threads in ["1", "2"] {
                let doc = json_of(solo(bin), &args(threads));
                for row in doc["mc"].as_array().unwrap() {
                    assert_eq!(exact(row), exact(reference), "plain build: {row}");
                    runs += 1;
                }
            }
        }
        for ranks in 1..=3 {
            for threads in ["1", "2"] {
                // Open MPI binds each of one or two ranks to a core, and the binary keeps to
                // its binding: two threads per rank need it lifted.
                let bind = if threads == "1" {
                    &[][..]
                } else {
                    &["--bind-to", "none"]
                };
                let doc = json_of(mpirun(ranks, bind), &args(threads));
                assert_eq!(doc["mpi"]["ranks"], ranks, "{}", doc["mpi"]);
                let rows = doc["mc"].as_array().unwrap();
                for backend in ["engine", "rayon"] {
                    let job = job_rows(rows, backend);
                    assert_eq!(job.len(), 1, "{backend} on {ranks} ranks: {rows:?}");
                    let job = job[0];
                    assert_eq!(job["valid"], true, "{job}");
                    assert_eq!(job["paths"], 100003);
                    assert_eq!(
                        exact(job),
                        exact(reference),
                        "{option} on {ranks} ranks x {threads} threads, {backend}"
                    );
                    let mine: Vec<&Value> = rows
                        .iter()
                        .filter(|r| r["backend"] == backend && r["scope"]["kind"] == "rank")
                        .collect();
                    assert_eq!(mine.len(), ranks, "{backend}: one row per rank");
                    let paths: u64 = mine.iter().map(|r| r["paths"].as_u64().unwrap()).sum();
                    assert_eq!(paths, 100003, "the ranks' shares cover every path once");
                    runs += 1;
                }
            }
        }
        assert!(runs >= 12, "{option}: {runs} runs compared");
    }
}

/// Weak scaling: every rank its own arrays, the job's bytes all ranks'. Strong: `--size` split.
#[test]
fn stream_job_rows_add_up_every_ranks() {
    for (ranks, scaling, size, total) in [(2, "weak", 65536, 131072), (3, "strong", 100000, 100000)]
    {
        let doc = json_of(
            mpirun(ranks, &[]),
            &[
                "stream",
                "--size",
                &size.to_string(),
                "--reps",
                "3",
                "--backends",
                "engine,rayon",
                "--threads",
                "1",
                "--scaling",
                scaling,
            ],
        );
        let mpi = &doc["mpi"];
        assert_eq!(mpi["ranks"], ranks, "{mpi}");
        let per_host: u64 = mpi["ranks_per_host"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_u64().unwrap())
            .sum();
        assert_eq!(per_host, ranks as u64, "{mpi}");
        assert_eq!(
            mpi["hosts"].as_array().unwrap().len(),
            mpi["ranks_per_host"].as_array().unwrap().len()
        );
        assert!(mpi["library"].as_str().unwrap().contains("MPI"), "{mpi}");
        let rows = doc["stream"].as_array().unwrap();
        for backend in ["engine", "rayon"] {
            let job = job_rows(rows, backend);
            assert_eq!(job.len(), 6, "{backend}: a job row per kernel");
            for j in job {
                assert_eq!(j["valid"], true, "{j}");
                assert_eq!(j["n"], total, "{scaling}: {j}");
                let mine: Vec<&Value> = rows
                    .iter()
                    .filter(|r| {
                        r["backend"] == backend
                            && r["kernel"] == j["kernel"]
                            && r["scope"]["kind"] == "rank"
                    })
                    .collect();
                assert_eq!(mine.len(), ranks);
                let n: u64 = mine.iter().map(|r| r["n"].as_u64().unwrap()).sum();
                assert_eq!(n, total);
                for r in &mine {
                    assert_eq!(r["valid"], true, "{r}");
                    assert!(r["scope"]["host"].as_str().is_some_and(|h| !h.is_empty()));
                    // Each repetition's job time is its slowest rank's, so the job's median
                    // is no shorter than any rank's.
                    assert!(
                        j["median_s"].as_f64().unwrap() >= r["median_s"].as_f64().unwrap(),
                        "{j} {r}"
                    );
                }
            }
        }
    }
}

/// Bad input is found alike on every rank: one line from rank 0, exit 2, in seconds.
#[test]
fn bad_input_stops_every_rank_with_exit_2() {
    for args in [
        &["mc", "--paths", "0"][..],
        &["stream", "--size", "1", "--scaling", "strong"],
        &["sweep", "sizes"],
        &["mc", "--paths", "1"],
    ] {
        let out = output_within(mpirun(2, &[]).args(args), Duration::from_secs(30));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        let ours: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(ours.len(), 1, "{args:?}: one line from rank 0: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(out.stdout.is_empty(), "{args:?} started");
    }
}

/// `mpirun -n 1 hexpylot A : -n 1 hexpylot B`: one rank each, each with its own arguments.
fn mpmd(a: &[&str], b: &[&str]) -> Command {
    let mut cmd = mpirun(1, &[]);
    cmd.args(a)
        .args([":", "-n", "1", env!("CARGO_BIN_EXE_hexpylot")])
        .args(b);
    cmd
}

/// Ranks started with different commands or flags (MPMD) would meet in collectives that do not
/// match and hang: every rank's plan is compared at the checkpoint, and a difference is bad
/// input on every rank, named once by rank 0 (the first flag that differs). Ranks left with no
/// backend in common are one such difference.
#[test]
fn ranks_with_different_plans_stop_with_exit_2() {
    let mc = ["mc", "--paths", "2^14", "--threads", "1"];
    let with =
        |extra: &[&'static str]| -> Vec<&'static str> { mc.iter().chain(extra).copied().collect() };
    for (a, b, named) in [
        (
            with(&["--reps", "3"]),
            with(&["--reps", "5"]),
            "--reps 5, rank 0 with --reps 3",
        ),
        (with(&["--seed", "1"]), with(&["--seed", "2"]), "--seed"),
        (
            with(&["--backends", "engine"]),
            with(&["--backends", "rayon"]),
            "--backends rayon, rank 0 with --backends engine",
        ),
        (
            with(&[]),
            vec!["stream", "--size", "2^12", "--reps", "3"],
            "runs `stream`, rank 0 `mc`",
        ),
        (
            with(&[]),
            vec!["chart", "x.json", "--out", "charts"],
            "runs `chart`, rank 0 `mc`",
        ),
    ] {
        let out = output_within(&mut mpmd(&a, &b), Duration::from_secs(30));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{a:?} : {b:?}: {stderr}");
        let ours: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(ours.len(), 1, "one line from rank 0: {stderr}");
        assert!(ours[0].contains(named), "{ours:?} lacks {named:?}");
        // Rank 0's header at most (printed before the checkpoint): nothing ran.
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.lines().count() <= 1, "{a:?} : {b:?} ran: {stdout}");
    }
    // The same plan written differently is the same plan.
    succeeded(&mut mpmd(
        &["mc", "--paths", "16384", "--reps", "2", "--threads", "1"],
        &["mc", "--paths", "2^14", "--reps", "2", "--threads", "1"],
    ));
}

/// An input that is not a regular file (a FIFO nobody writes) is refused under a launcher too,
/// at once: rank 0 reads for the job, and the others learn at the checkpoint.
#[test]
fn a_fifo_input_is_refused_under_mpirun() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let fifo = fifo.to_str().unwrap();
    for args in [
        vec!["diff", fifo, fifo],
        vec!["chart", fifo, "--out", "charts"],
    ] {
        let out = output_within(mpirun(2, &[]).args(&args), Duration::from_secs(30));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        let ours: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(ours.len(), 1, "{args:?}: {stderr}");
        assert!(ours[0].contains("a FIFO"), "{ours:?}");
    }
}

/// A GPU job's ranks split the grid of workgroups, its CPU ranks the blocks of paths: a rank's
/// GPU share and its CPU share are other paths, so prices are held against each other on the
/// job's rows (the whole run on each), which must agree; tuned shapes included.
#[test]
fn a_gpu_job_is_checked_against_the_cpu_on_the_whole_run() {
    let args = [
        "mc",
        "--backends",
        "engine,gpu",
        "--paths",
        "2^18",
        "--reps",
        "3",
    ];
    let doc = json_of(mpirun(2, &["--bind-to", "none"]), &args);
    let rows = doc["mc"].as_array().unwrap();
    if job_rows(rows, "gpu").is_empty() {
        assert!(
            !hexpylot::gpu::required().unwrap(),
            "HEXPYLOT_REQUIRE_GPU is set but the GPU did not run: {doc}"
        );
        eprintln!("skipped: no GPU adapter");
        return;
    }
    assert!(rows.iter().all(|r| r["valid"] == true), "{rows:?}");
}

/// A rank killed mid-run ends the job: `mpirun` exits non-zero within 60 s.
#[test]
fn a_killed_rank_ends_the_job() {
    let mut job = mpirun(2, &[])
        .args(["mc", "--paths", "2^34", "--reps", "50", "--threads", "1"])
        .args(["--backends", "engine"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("mpirun starts");
    // Rank 0 prints the header once every rank is past the checkpoint: the run is on.
    let mut header = String::new();
    BufReader::new(job.stdout.take().unwrap())
        .read_line(&mut header)
        .unwrap();
    assert!(header.starts_with("mc:"), "{header:?}");
    let ranks = children(job.id());
    assert_eq!(ranks.len(), 2, "mpirun's ranks: {ranks:?}");
    let killed = Instant::now();
    assert!(
        Command::new("kill")
            .args(["-9", &ranks[1].to_string()])
            .status()
            .unwrap()
            .success()
    );
    loop {
        if let Some(status) = job.try_wait().unwrap() {
            assert!(!status.success(), "{status}");
            break;
        }
        if killed.elapsed() > Duration::from_secs(60) {
            let _ = job.kill();
            panic!("mpirun still running 60 s after a rank was killed");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(killed.elapsed() < Duration::from_secs(60));
}

/// The processes whose parent is `pid` (from /proc: no procps needed).
fn children(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // The parent is the second field after the command, which ends at the last ')'.
        let after = &stat[stat.rfind(')').unwrap() + 1..];
        if after.split_whitespace().nth(1) == Some(&pid.to_string()) {
            found.push(child);
        }
    }
    found.sort_unstable();
    found
}

/// `sweep ranks` on 3 ranks: the job's rows at 1, 2 and 3 ranks, the same Monte Carlo sums at
/// every count, findings, and a chart of the speedups.
#[test]
fn sweep_ranks_records_the_job_at_each_count() {
    let doc = json_of(
        mpirun(3, &[]),
        &[
            "sweep",
            "ranks",
            "--size",
            "2^16",
            "--paths",
            "100003",
            "--reps",
            "3",
            "--mc-reps",
            "2",
            "--threads",
            "1",
            "--backends",
            "engine,rayon",
        ],
    );
    assert_eq!(doc["sweep"]["kind"], "ranks", "{}", doc["sweep"]);
    assert_eq!(doc["mpi"]["ranks"], 3);
    let stream = doc["stream"].as_array().unwrap();
    let mc = doc["mc"].as_array().unwrap();
    for backend in ["engine", "rayon"] {
        let ranks: Vec<u64> = job_rows(stream, backend)
            .iter()
            .filter(|r| r["kernel"] == "triad")
            .map(|r| r["scope"]["ranks"].as_u64().unwrap())
            .collect();
        assert_eq!(ranks, [1, 2, 3], "{backend}");
        for r in job_rows(stream, backend) {
            assert_eq!(r["valid"], true, "{r}");
            assert_eq!(r["n"], r["scope"]["ranks"].as_u64().unwrap() * 65536, "{r}");
        }
        let prices = job_rows(mc, backend);
        assert_eq!(prices.len(), 3, "{backend}");
        for p in &prices {
            assert_eq!(p["valid"], true, "{p}");
            assert_eq!(exact(p), exact(prices[0]), "{backend}: {p}");
        }
    }
    assert!(
        stream
            .iter()
            .chain(mc)
            .all(|r| r["scope"]["kind"] == "aggregate"),
        "a rank sweep records the job's rows only"
    );
    let findings = doc["sweep"]["findings"].as_array().unwrap();
    assert!(
        findings.iter().any(|f| f
            .as_str()
            .unwrap()
            .starts_with("engine triad, the job's: 1 rank (1 host)")),
        "{findings:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ranks.json");
    std::fs::write(&file, doc.to_string()).unwrap();
    let mut chart = solo(env!("CARGO_BIN_EXE_hexpylot"));
    chart
        .args(["chart", file.to_str().unwrap(), "--out"])
        .arg(dir.path().join("charts"));
    let out = succeeded(&mut chart);
    let drawn = String::from_utf8_lossy(&out.stdout);
    assert!(
        drawn
            .lines()
            .any(|l| l.contains("ranks.png") && l.ends_with("\t3")),
        "{drawn}"
    );
    assert!(
        dir.path()
            .join("charts/ranks.png")
            .metadata()
            .unwrap()
            .len()
            > 10_000
    );
}

/// GPU ranks: each launches its share of the run's grid of workgroups at one shape (rank 0's;
/// `--gpu-tune off` pins the default), so the job's sums are one GPU's at that shape, bit for bit,
/// on both paths (mirror, native). Without an adapter this prints a note and passes, unless
/// `HEXPYLOT_REQUIRE_GPU=1` (CI, with lavapipe), where the runs themselves fail.
#[test]
fn gpu_ranks_sum_one_gpus_grid() {
    let args = [
        "mc",
        "--backends",
        "gpu",
        "--paths",
        "1000003",
        "--reps",
        "2",
        "--gpu-tune",
        "off",
    ];
    let reference = json_of(solo(env!("CARGO_BIN_EXE_hexpylot")), &args);
    let reference = reference["mc"].as_array().unwrap().clone();
    if reference.is_empty() {
        eprintln!("skipped: no GPU adapter (set HEXPYLOT_REQUIRE_GPU=1 to fail instead)");
        return;
    }
    assert_eq!(reference.len(), 2, "mirror and native: {reference:?}");
    for ranks in 1..=3 {
        let doc = json_of(mpirun(ranks, &["--bind-to", "none"]), &args);
        let rows = doc["mc"].as_array().unwrap();
        let job = job_rows(rows, "gpu");
        assert_eq!(job.len(), 2, "{ranks} ranks: {rows:?}");
        for (j, r) in job.iter().zip(&reference) {
            assert_eq!(j["gpu_path"], r["gpu_path"]);
            assert_eq!(j["valid"], true, "{j}");
            assert_eq!(exact(j), exact(r), "{} on {ranks} ranks", r["gpu_path"]);
        }
        let counted: u64 = rows
            .iter()
            .filter(|r| r["scope"]["kind"] == "rank" && r["gpu_path"] == "mirror")
            .map(|r| r["sums"]["count"].as_u64().unwrap())
            .sum();
        assert_eq!(
            counted, 1000003,
            "the ranks' workgroups sum every path once"
        );
    }
}

/// Under MPI the CSV says which rows are the job's and which a rank's (the last four columns);
/// one process's CSV is as it always was (no such columns: `tests/stores.rs`).
#[test]
fn the_csv_names_each_rows_place_in_the_job() {
    let dir = tempfile::tempdir().unwrap();
    for (command, extra) in [
        ("stream", &["--size", "4096", "--reps", "3"][..]),
        ("mc", &["--paths", "100003", "--reps", "2"]),
    ] {
        let path = dir.path().join(format!("{command}.csv"));
        succeeded(
            mpirun(2, &[])
                .args([command, "--backends", "engine", "--threads", "1"])
                .args(extra)
                .args(["--csv", path.to_str().unwrap()]),
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        assert_eq!(
            header[header.len() - 4..],
            ["scope", "rank", "host", "ranks"],
            "{text}"
        );
        let places: Vec<String> = lines
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                f[f.len() - 4..].join(" ")
            })
            .collect();
        assert!(places.iter().any(|p| p == "aggregate   2"), "{places:?}");
        assert!(
            places.iter().any(|p| p.starts_with("rank 0 ")),
            "{places:?}"
        );
        assert!(
            places.iter().any(|p| p.starts_with("rank 1 ")),
            "{places:?}"
        );
    }
}
