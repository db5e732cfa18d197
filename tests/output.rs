//! Output files through the real binary: nothing is ever destroyed, nothing is left behind.
//!
//! Special files are made with `mknod`/`mkfifo` in a temporary folder, never taken from /dev. The
//! tests run as root (as CI does): permission bits then stop nothing, so an unwritable place is
//! one where even root cannot create a file (/proc), and a read-only folder by mode bits alone is
//! not tested (the check creates a file there, which is what finds it for other users).

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;

mod common;
use common::{hexpylot, mkfifo, refused};

/// The smallest stream run: one kernel, 2^10 elements, well under a second.
const TINY: [&str; 11] = [
    "stream",
    "--size",
    "2^10",
    "--reps",
    "3",
    "--backends",
    "engine",
    "--threads",
    "1",
    "--kernels",
    "copy",
];

fn tiny(extra: &[&str]) -> Vec<String> {
    TINY.iter().chain(extra).map(|s| s.to_string()).collect()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// What `path` itself is (a link is not followed).
fn kind(path: &Path) -> fs::FileType {
    fs::symlink_metadata(path).unwrap().file_type()
}

/// No temporary file (`.hpXXXXXX.tmp`, or any `.tmp`) in `dir`.
fn no_temps(dir: &Path) {
    for entry in fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name();
        let name = name.to_string_lossy();
        assert!(
            !name.starts_with(".hp") && !name.ends_with(".tmp"),
            "left behind in {}: {name}",
            dir.display()
        );
    }
}

fn mknod(path: &Path, kind: &str, major: u32, minor: u32) {
    let ok = StdCommand::new("mknod")
        .arg(path)
        .args([kind, &major.to_string(), &minor.to_string()])
        .status()
        .expect("mknod runs");
    assert!(
        ok.success(),
        "mknod {} (the tests run as root)",
        path.display()
    );
}

fn json_at(path: &Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn character_devices_are_written_in_place_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let null = dir.path().join("null");
    mknod(&null, "c", 1, 3);
    hexpylot()
        .args(tiny(&["--json", s(&null)]))
        .assert()
        .success();
    assert!(kind(&null).is_char_device());

    // A device that refuses the bytes is a write error after the run (exit 1), and stays a device.
    let full = dir.path().join("full");
    mknod(&full, "c", 1, 7);
    let out = hexpylot()
        .args(tiny(&["--json", s(&full)]))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("cannot write") && stderr.contains("full"),
        "{stderr}"
    );
    assert!(kind(&full).is_char_device());
    no_temps(dir.path());
}

#[test]
fn block_devices_and_sockets_are_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let block = dir.path().join("loop");
    mknod(&block, "b", 7, 0);
    refused(&tiny(&["--json", s(&block)]), "block device");
    assert!(kind(&block).is_block_device());

    let sock = dir.path().join("sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    refused(&tiny(&["--csv", s(&sock)]), "socket");
    assert!(kind(&sock).is_socket());
    no_temps(dir.path());
}

#[test]
fn a_fifo_is_written_to_its_reader_and_refused_without_one() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);

    // Nobody reads it: refused at once (not a hang), and it stays a FIFO.
    let started = Instant::now();
    refused(&tiny(&["--json", s(&fifo)]), "nobody reads");
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(kind(&fifo).is_fifo());

    // A reader (opened without blocking, so before the writer): it gets the whole document. The
    // tiny document fits the pipe's buffer, so the writer never waits for the read below.
    let mut reader = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    hexpylot()
        .args(tiny(&["--json", s(&fifo)]))
        .assert()
        .success();
    let mut text = String::new();
    reader.read_to_string(&mut text).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["stream"][0]["kernel"], "copy");
    assert!(kind(&fifo).is_fifo());
    no_temps(dir.path());
}

#[test]
fn symlinks_are_written_through_to_their_target() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir(d.join("a")).unwrap();
    fs::create_dir(d.join("b")).unwrap();
    // A chain: link2 -> a/link (relative to a/) -> ../b/target.json.
    fs::write(d.join("b/target.json"), "old").unwrap();
    std::os::unix::fs::symlink("../b/target.json", d.join("a/link")).unwrap();
    std::os::unix::fs::symlink(d.join("a/link"), d.join("link2")).unwrap();
    // A dangling link: its target is created.
    std::os::unix::fs::symlink("made.csv", d.join("dangling")).unwrap();
    hexpylot()
        .args(tiny(&[
            "--json",
            s(&d.join("link2")),
            "--csv",
            s(&d.join("dangling")),
        ]))
        .assert()
        .success();
    for link in ["link2", "a/link", "dangling"] {
        assert!(
            fs::symlink_metadata(d.join(link))
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }
    assert_eq!(
        json_at(&d.join("b/target.json"))["stream"][0]["kernel"],
        "copy"
    );
    assert!(
        fs::read_to_string(d.join("made.csv"))
            .unwrap()
            .starts_with("function,")
    );
    for sub in ["", "a", "b"] {
        no_temps(&d.join(sub));
    }
}

#[test]
fn a_dash_is_standard_output_and_the_report_goes_to_stderr() {
    let out = hexpylot().args(tiny(&["--json", "-"])).output().unwrap();
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON only");
    assert_eq!(doc["stream"][0]["kernel"], "copy");
    assert!(String::from_utf8_lossy(&out.stderr).contains("| copy"));

    let out = hexpylot().args(tiny(&["--csv", "-"])).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("function,num_times,"), "{text}");
    assert_eq!(text.lines().count(), 2, "{text}");

    let out = hexpylot()
        .args([
            "mc",
            "--paths",
            "2^10",
            "--reps",
            "2",
            "--backends",
            "engine",
            "--threads",
            "1",
            "--json",
            "-",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["mc"][0]["option"], "european-call");

    refused(&tiny(&["--json", "-", "--csv", "-"]), "same output");
}

#[test]
fn two_outputs_naming_one_file_are_refused_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let x = d.join("x");
    let dotted = d.join(".").join("x");
    refused(
        &tiny(&["--json", s(&x), "--csv", s(&dotted)]),
        "same output",
    );
    assert!(!x.exists(), "nothing is written for refused input");
    fs::write(&x, "old").unwrap();
    std::os::unix::fs::symlink(&x, d.join("link")).unwrap();
    refused(
        &tiny(&["--json", s(&d.join("link")), "--csv", s(&x)]),
        "same output",
    );
    assert_eq!(fs::read_to_string(&x).unwrap(), "old");
    // Relative names, from the folder itself: `x` and `./x`.
    let out = hexpylot()
        .current_dir(d)
        .args(tiny(&["--json", "y", "--csv", "./y"]))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!d.join("y").exists());
    no_temps(d);
}

#[test]
fn bad_locations_are_refused_before_a_long_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("a-file"), "").unwrap();
    // mc over 2^40 paths runs for hours: each of these must be refused at once instead.
    let long = |json: &Path| -> Vec<String> {
        [
            "mc",
            "--paths",
            "2^40",
            "--threads",
            "1",
            "--backends",
            "engine",
            "--json",
            s(json),
        ]
        .map(String::from)
        .to_vec()
    };
    let started = Instant::now();
    refused(&long(&d.join("missing/out.json")), "does not exist");
    refused(&long(d), "directory");
    refused(&long(&d.join("a-file/out.json")), "cannot write");
    refused(&long(&d.join("new-dir/")), "directory");
    // Even root cannot create a file in /proc.
    refused(
        &long(Path::new("/proc/hexpylot-out.json")),
        "cannot create a file in /proc",
    );
    refused(&long(&d.join("x".repeat(256))), "too long");
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(fs::read_dir(d).unwrap().count(), 1, "only a-file is there");
}

#[test]
fn a_name_of_255_bytes_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("{}.json", "n".repeat(250));
    assert_eq!(name.len(), 255);
    let path = dir.path().join(&name);
    hexpylot()
        .args(tiny(&["--json", s(&path)]))
        .assert()
        .success();
    assert_eq!(json_at(&path)["stream"][0]["kernel"], "copy");
    no_temps(dir.path());
}

/// Runs the binary under `umask`.
fn with_umask(mask: u32, args: &[String]) -> std::process::Output {
    let mut cmd = StdCommand::cargo_bin("hexpylot").unwrap();
    cmd.args(args);
    // SAFETY: umask is async-signal-safe and touches only the child's own state.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
            libc::umask(mask as libc::mode_t);
            Ok(())
        })
    };
    cmd.output().unwrap()
}

#[test]
fn new_files_get_the_umask_mode_and_existing_files_keep_theirs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (new_json, new_csv) = (d.join("new.json"), d.join("new.csv"));
    let out = with_umask(
        0o027,
        &tiny(&["--json", s(&new_json), "--csv", s(&new_csv)]),
    );
    assert!(out.status.success(), "{out:?}");
    for p in [&new_json, &new_csv] {
        assert_eq!(
            fs::metadata(p).unwrap().mode() & 0o7777,
            0o640,
            "{}",
            p.display()
        );
    }

    let old = d.join("old.json");
    fs::write(&old, "old").unwrap();
    fs::set_permissions(&old, fs::Permissions::from_mode(0o604)).unwrap();
    // Root may give the file away; a replacement must keep that owner.
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    if root {
        std::os::unix::fs::chown(&old, Some(4321), Some(4322)).unwrap();
    }
    let out = with_umask(0o077, &tiny(&["--json", s(&old)]));
    assert!(out.status.success(), "{out:?}");
    let m = fs::metadata(&old).unwrap();
    assert_eq!(m.mode() & 0o7777, 0o604);
    if root {
        assert_eq!((m.uid(), m.gid()), (4321, 4322));
    }
    assert_eq!(json_at(&old)["stream"][0]["kernel"], "copy");
    no_temps(d);
}

#[test]
fn a_path_that_is_not_utf8_is_written_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let name = std::ffi::OsStr::from_bytes(b"r\xffsults.json");
    let path = dir.path().join(name);
    let out = hexpylot()
        .args(tiny(&["--json"]))
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let command = json_at(&path)["command"].as_str().unwrap().to_string();
    assert!(command.contains("r\u{fffd}sults.json"), "{command}");
}

#[test]
fn a_broken_pipe_on_stdout_keeps_the_status_and_the_results() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    // The reader is gone before the first line is printed: every write is EPIPE.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = StdCommand::cargo_bin("hexpylot")
        .unwrap()
        .args(tiny(&["--json", s(&json)]))
        .stdout(writer)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr, "", "a broken pipe ends the printing silently");
    assert_eq!(json_at(&json)["stream"][0]["kernel"], "copy");

    // A reader that stops after the first line (`| head -1`).
    let mut child = StdCommand::cargo_bin("hexpylot")
        .unwrap()
        .args(tiny(&[
            "--json",
            s(&json),
            "--csv",
            s(&dir.path().join("r.csv")),
        ]))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("stream:"), "{first}");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    assert!(dir.path().join("r.csv").exists());
}

#[test]
fn a_full_stdout_is_one_line_on_stderr_exit_1_and_the_results_written() {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full");
    mknod(&full, "c", 1, 7);
    let json = dir.path().join("r.json");
    let out = StdCommand::cargo_bin("hexpylot")
        .unwrap()
        .args(tiny(&["--json", s(&json)]))
        .stdout(fs::OpenOptions::new().write(true).open(&full).unwrap())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("standard output"), "{stderr}");
    assert_eq!(json_at(&json)["stream"][0]["kernel"], "copy");
}

#[test]
fn signals_end_a_long_run_and_leave_nothing_behind() {
    for (signal, code, existing) in [
        (libc::SIGINT, 130, false),
        (libc::SIGTERM, 143, true),
        (libc::SIGHUP, 129, false),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("out.json");
        if existing {
            fs::write(&json, "old").unwrap();
        }
        let mut child = StdCommand::cargo_bin("hexpylot")
            .unwrap()
            .args([
                "mc",
                "--paths",
                "2^40",
                "--threads",
                "1",
                "--backends",
                "engine",
            ])
            .arg("--json")
            .arg(&json)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // The header is printed once the outputs are checked: the run is under way.
        let mut header = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut header).unwrap();
        assert!(header.starts_with("mc:"), "{header}");
        std::thread::sleep(Duration::from_millis(500));
        // SAFETY: kill sends a signal to our own child, which has not been waited for yet.
        assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, signal) }, 0);
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("signal {signal} did not end the run");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(status.code(), Some(code), "signal {signal}");
        no_temps(dir.path());
        if existing {
            assert_eq!(fs::read_to_string(&json).unwrap(), "old");
        } else {
            assert!(!json.exists());
        }
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            usize::from(existing)
        );
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Two charts (sizes.png, roofline.png) from the fixtures.
fn chart_args(out: &Path) -> Vec<String> {
    vec![
        "chart".into(),
        s(&fixture("chart-sizes.json")).into(),
        s(&fixture("chart-roofline.json")).into(),
        "--out".into(),
        s(out).into(),
    ]
}

#[test]
fn charts_are_written_all_or_none() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("charts");
    hexpylot().args(chart_args(&out)).assert().success();
    let mut names: Vec<String> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["roofline.png", "sizes.png"]);

    // One chart's place is a folder: refused before anything is written.
    let out = dir.path().join("blocked");
    fs::create_dir_all(out.join("sizes.png")).unwrap();
    let err = hexpylot().args(chart_args(&out)).output().unwrap();
    assert_eq!(err.status.code(), Some(2));
    assert!(!out.join("roofline.png").exists());
    no_temps(&out);

    // One chart's place refuses the bytes (a full device) after the others' are written to
    // temporary files: those are removed and no chart is written.
    let out = dir.path().join("full");
    fs::create_dir(&out).unwrap();
    mknod(&out.join("roofline.png"), "c", 1, 7);
    let err = hexpylot().args(chart_args(&out)).output().unwrap();
    let stderr = String::from_utf8_lossy(&err.stderr);
    assert_ne!(err.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("roofline.png"), "{stderr}");
    assert!(!out.join("sizes.png").exists());
    assert!(
        fs::symlink_metadata(out.join("roofline.png"))
            .unwrap()
            .file_type()
            .is_char_device()
    );
    no_temps(&out);

    // A missing input leaves no folder behind.
    let out = dir.path().join("never");
    let mut args = chart_args(&out);
    args[1] = s(&fixture("no-such-file.json")).into();
    assert_eq!(
        hexpylot().args(&args).output().unwrap().status.code(),
        Some(2)
    );
    assert!(!out.exists());
}

#[test]
fn a_required_gpu_that_does_not_run_says_why_on_stderr() {
    for args in [
        [
            "stream",
            "--size",
            "2^10",
            "--reps",
            "3",
            "--threads",
            "1",
            "--backends",
            "engine,gpu",
        ]
        .as_slice(),
        &[
            "compare",
            "--size",
            "2^10",
            "--paths",
            "2^10",
            "--steps",
            "2",
            "--reps",
            "3",
            "--mc-reps",
            "2",
            "--threads",
            "1",
        ],
    ] {
        // No Vulkan driver at all, whatever this machine has.
        let out = hexpylot()
            .args(args)
            .env("HEXPYLOT_REQUIRE_GPU", "1")
            .env("VK_ICD_FILENAMES", "/nonexistent/icd.json")
            .env("VK_DRIVER_FILES", "/nonexistent/icd.json")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("HEXPYLOT_REQUIRE_GPU is set but the GPU did not run")
                || stderr.contains("FAILED: starting the GPU"),
            "{args:?}: stderr {stderr:?}"
        );
    }
}

/// The read end of a FIFO, opened without blocking (before its writer), its buffer shrunk to one
/// page so that a document larger than that holds the writer until it is read.
fn small_reader(fifo: &Path) -> fs::File {
    let reader = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(fifo)
        .unwrap();
    use std::os::fd::AsRawFd;
    // SAFETY: F_SETPIPE_SZ on a descriptor we own; the kernel rounds up to a page.
    assert!(unsafe { libc::fcntl(reader.as_raw_fd(), libc::F_SETPIPE_SZ, 4096) } > 0);
    reader
}

/// Bytes waiting in a FIFO's buffer.
fn buffered(reader: &fs::File) -> usize {
    use std::os::fd::AsRawFd;
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int into `n`.
    assert_eq!(
        unsafe { libc::ioctl(reader.as_raw_fd(), libc::FIONREAD, &mut n) },
        0
    );
    n as usize
}

/// Every kernel on one backend: a document of about 9 KB, more than one page.
fn every_kernel(extra: &[&str]) -> Vec<String> {
    [
        "stream",
        "--size",
        "2^10",
        "--reps",
        "3",
        "--backends",
        "engine",
        "--threads",
        "1",
    ]
    .iter()
    .chain(extra)
    .map(|s| s.to_string())
    .collect()
}

fn wait_exit(child: &mut std::process::Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the run did not end");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until `reader`'s FIFO is full: its writer is then blocked in the commit.
fn wait_full(reader: &fs::File, child: &mut std::process::Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while buffered(reader) < 4096 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it wrote"
        );
        assert!(Instant::now() < deadline, "the run never wrote the FIFO");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn descriptor_names_are_written_through_and_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    for (name, to_stderr) in [
        ("/dev/stdout", false),
        ("/proc/self/fd/1", false),
        ("/dev/fd/1", false),
        ("/dev/stderr", true),
    ] {
        // `--json NAME >> log` (or `2>> log`): the log keeps its lines and gains the document.
        let log = dir.path().join("run.log");
        fs::write(&log, "earlier line\n").unwrap();
        let ino = fs::metadata(&log).unwrap().ino();
        let append = || fs::OpenOptions::new().append(true).open(&log).unwrap();
        let mut cmd = StdCommand::cargo_bin("hexpylot").unwrap();
        cmd.args(tiny(&["--json", name]));
        if to_stderr {
            cmd.stderr(append()).stdout(Stdio::null());
        } else {
            cmd.stdout(append()).stderr(Stdio::null());
        }
        assert!(cmd.status().unwrap().success(), "{name}");
        let text = fs::read_to_string(&log).unwrap();
        assert!(text.starts_with("earlier line\n"), "{name}: {text}");
        assert!(text.contains("\"schema_version\""), "{name}: {text}");
        assert_eq!(fs::metadata(&log).unwrap().ino(), ino, "{name}: replaced");
        no_temps(dir.path());
    }
    // /dev/stdout is standard output, as `-` is: both at once name one output.
    refused(
        &tiny(&["--json", "/dev/stdout", "--csv", "-"]),
        "name the same output",
    );
}

/// `(ulimit -f 0; hexpylot ...)`: the write that passes the limit fails (EFBIG) with one line and
/// exit 1; the old file stays, no temporary file is left.
#[test]
fn a_file_size_limit_is_a_write_error() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.json");
    let doc = dir.path().join("doc.json");
    hexpylot()
        .args(every_kernel(&["--json", s(&doc)]))
        .assert()
        .success();
    let charts = dir.path().join("charts");
    let cases: Vec<Vec<String>> = vec![
        every_kernel(&["--json", s(&old)]),
        every_kernel(&["--csv", s(&old)]),
        vec![
            "diff".into(),
            s(&doc).into(),
            s(&doc).into(),
            "--json".into(),
            s(&old).into(),
        ],
        chart_args(&charts),
    ];
    for args in cases {
        fs::write(&old, "old").unwrap();
        let out = StdCommand::new("bash")
            .arg("-c")
            .arg("ulimit -f 0; exec \"$0\" \"$@\"")
            .arg(assert_cmd::cargo::cargo_bin("hexpylot"))
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains("File too large"), "{args:?}: {stderr}");
        assert_eq!(fs::read_to_string(&old).unwrap(), "old", "{args:?}");
        no_temps(dir.path());
        if charts.exists() {
            no_temps(&charts);
            assert_eq!(fs::read_dir(&charts).unwrap().count(), 0, "{args:?}");
        }
    }
}

/// A signal while the outputs are being written, before any rename (here: a FIFO output whose
/// reader is slow, and a file waiting to be renamed): the run ends at once, every existing file
/// as it was, no temporary file left.
#[test]
fn a_signal_before_the_renames_leaves_every_file_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let (fifo, csv) = (dir.path().join("fifo"), dir.path().join("out.csv"));
    mkfifo(&fifo);
    fs::write(&csv, "old").unwrap();
    let mut reader = small_reader(&fifo);
    let mut child = StdCommand::cargo_bin("hexpylot")
        .unwrap()
        .args(every_kernel(&["--json", s(&fifo), "--csv", s(&csv)]))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_full(&reader, &mut child);
    // SAFETY: kill sends a signal to our own child, which has not been waited for yet.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) },
        0
    );
    // Reading on lets a run that waits for its writes instead of ending finish them.
    let drain = std::thread::spawn(move || {
        let mut sink = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let _ = reader.read_to_end(&mut sink);
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    let status = wait_exit(&mut child, Duration::from_secs(20));
    drain.join().unwrap();
    assert_eq!(status.code(), Some(143));
    assert_eq!(fs::read_to_string(&csv).unwrap(), "old");
    no_temps(dir.path());
}

/// A FIFO made at a target after the check, while the run was writing: it is not renamed over.
#[test]
fn a_fifo_made_at_the_target_after_the_check_is_left_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let (fifo, csv) = (dir.path().join("fifo"), dir.path().join("out.csv"));
    mkfifo(&fifo);
    let mut reader = small_reader(&fifo);
    let mut child = StdCommand::cargo_bin("hexpylot")
        .unwrap()
        .args(every_kernel(&["--json", s(&fifo), "--csv", s(&csv)]))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_full(&reader, &mut child);
    mkfifo(&csv);
    let mut sink = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        let _ = reader.read_to_end(&mut sink);
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("became a FIFO"), "{stderr}");
    assert!(kind(&csv).is_fifo());
    no_temps(dir.path());
}

/// No output may be one of the run's inputs, under any name: the run would destroy what it
/// was made from.
#[test]
fn an_output_that_is_an_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("a.json");
    hexpylot()
        .args(tiny(&["--json", s(&doc)]))
        .assert()
        .success();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&doc, &link).unwrap();
    let before = fs::read(&doc).unwrap();
    refused(
        &["diff", s(&doc), s(&doc), "--json", s(&link)],
        "an input of this run",
    );

    // compare --roofline X --json X, with ceilings of this machine (else it is refused for that).
    let roof = dir.path().join("roof.json");
    hexpylot()
        .args([
            "sweep",
            "roofline",
            "--backends",
            "engine",
            "--threads",
            "1",
            "--size",
            "2^12",
            "--max-fmas",
            "2",
            "--reps",
            "2",
            "--json",
            s(&roof),
        ])
        .assert()
        .success();
    let roof_before = fs::read(&roof).unwrap();
    for flag in ["--json", "--csv"] {
        refused(
            &[
                "compare",
                "--backends",
                "engine",
                "--threads",
                "1",
                "--size",
                "2^10",
                "--reps",
                "2",
                "--paths",
                "2^10",
                "--mc-reps",
                "2",
                "--steps",
                "2",
                "--roofline",
                s(&roof),
                flag,
                s(&roof),
            ],
            "an input of this run",
        );
    }
    assert_eq!(fs::read(&roof).unwrap(), roof_before);

    // chart D/memory-wall.png --out D, where that input is a thread sweep saved under the name of
    // the chart it would draw.
    let charts = dir.path().join("charts");
    fs::create_dir(&charts).unwrap();
    let input = charts.join("memory-wall.png");
    fs::copy(fixture("chart-threads-xeon.json"), &input).unwrap();
    let input_before = fs::read(&input).unwrap();
    refused(
        &["chart", s(&input), "--out", s(&charts)],
        "an input of this run",
    );
    assert_eq!(fs::read(&input).unwrap(), input_before);
    assert_eq!(fs::read(&doc).unwrap(), before);
    no_temps(dir.path());
    no_temps(&charts);
}
