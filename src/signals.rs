//! SIGINT, SIGTERM and SIGHUP end the process promptly, with exit status 128 + the signal, and
//! leave no temporary file behind. SIGXFSZ is ignored, so that a file-size limit is a write error.
//!
//! The three signals are blocked in every thread (the mask is set before any other thread exists,
//! and threads inherit it) and one thread takes them with `sigwait`. No code runs in a signal
//! handler, so that thread may lock, remove files and exit like any other: it waits for results
//! files whose renames have begun to be renamed into place (nothing already written is lost),
//! removes every temporary file left (see [`crate::output`]), and ends the process with `_exit`. The engine's
//! workers may be spinning or asleep on a futex; ending the process is the one prompt way out.

use std::mem::MaybeUninit;

const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// Installs the signal thread. Must be called before any other thread is started; if it cannot
/// be installed, the signals keep their default action.
pub fn install() {
    // A file-size limit (`ulimit -f`) must fail the write that passes it with EFBIG, reported and
    // cleaned up as any write error is, rather than kill the process (SIGXFSZ's default action)
    // with a temporary file left behind and not a word said.
    // SAFETY: SIG_IGN runs no code of ours; the disposition is the process's, for every thread.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset initialises the set; sigaddset adds valid signal numbers to it.
    let set = unsafe {
        libc::sigemptyset(set.as_mut_ptr());
        for s in SIGNALS {
            libc::sigaddset(set.as_mut_ptr(), s);
        }
        set.assume_init()
    };
    // SAFETY: `set` is initialised; this changes the calling thread's mask only (threads started
    // later inherit it).
    if unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) } != 0 {
        return;
    }
    let started = std::thread::Builder::new()
        .name("hexpylot-signals".to_string())
        .spawn(move || {
            loop {
                let mut signal: libc::c_int = 0;
                // SAFETY: `set` is an initialised signal set, `signal` a valid place for the
                // result; sigwait blocks this thread only.
                if unsafe { libc::sigwait(&set, &mut signal) } == 0 {
                    crate::output::abandon();
                    // SAFETY: _exit ends the process without destructors or atexit handlers:
                    // temporary files are gone already, and the other threads (workers spinning
                    // or asleep) cannot be stopped cleanly from here.
                    unsafe { libc::_exit(128 + signal) };
                }
            }
        });
    if started.is_err() {
        // SAFETY: as above; the signals get their default action back.
        unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()) };
    }
}
