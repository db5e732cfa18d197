/// A failed allocation ends the run with one line and exit 1, not SIGABRT (see the module).
#[global_allocator]
static ALLOC: hexpylot::alloc::Allocator = hexpylot::alloc::Allocator;

fn main() -> std::process::ExitCode {
    // Mesa's Vulkan drivers print "XDG_RUNTIME_DIR is invalid" on stderr when it is unset (as
    // under cron, CI and ssh without a session); a temporary folder serves them as well.
    if std::env::var_os("XDG_RUNTIME_DIR").is_none_or(|d| !std::path::Path::new(&d).is_dir()) {
        // SAFETY: first thing in main, before any other thread exists to read the environment.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir()) };
    }
    hexpylot::cli::main()
}
