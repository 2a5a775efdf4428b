//! The `recall` binary: a thin shell over the library.

fn main() -> std::process::ExitCode {
    recall::embed::no_runtime_telemetry();
    recall::cli::run()
}
