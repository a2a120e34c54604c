//! The `qsign` binary: parses the command line and hands over to [`qsign::cli::run`].

use std::process::ExitCode;

fn main() -> ExitCode {
    qsign::cli::run()
}
