fn main() -> std::process::ExitCode {
    hexpylot::cli::main()
}
