//! The `recall` binary: a thin shell over the library.

fn main() -> std::process::ExitCode {
    recall::cli::run()
}
