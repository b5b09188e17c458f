//! `protocall-conformance`: the testee protobuf's `conformance_test_runner`
//! starts (see the library's docs and `scripts/conformance.sh`).
//!
//! ```text
//! conformance_test_runner [runner options] target/release/protocall-conformance [--dynamic | --views]
//! ```
//!
//! By default requests are answered with protocall's generated types;
//! `--dynamic` (or `PROTOCALL_CONFORMANCE_MODE=dynamic`) answers them with
//! `protocall::reflect::DynamicMessage`, from the types' descriptors alone;
//! `--views` (or `PROTOCALL_CONFORMANCE_MODE=views`) answers binary requests
//! through the generated types' borrowed views (`protocall::view`).

use std::process::ExitCode;

/// How the testee answers requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// With the generated types ([`protocall_conformance::handle`]).
    Generated,
    /// With dynamic messages ([`protocall_conformance::handle_dynamic`]).
    Dynamic,
    /// Binary requests through views ([`protocall_conformance::handle_views`]).
    Views,
}

fn parse_args() -> Result<Mode, String> {
    let mut args = std::env::args();
    let program = args.next().unwrap_or_default();
    // The runner starts the testee itself; the environment picks the mode.
    let mut mode = match std::env::var("PROTOCALL_CONFORMANCE_MODE").as_deref() {
        Ok("dynamic") => Mode::Dynamic,
        Ok("views") => Mode::Views,
        Ok("generated") | Err(_) => Mode::Generated,
        Ok(other) => {
            return Err(format!(
                "PROTOCALL_CONFORMANCE_MODE={other} (generated, dynamic or views)"
            ));
        }
    };
    for arg in args {
        match arg.as_str() {
            "--dynamic" => mode = Mode::Dynamic,
            "--views" => mode = Mode::Views,
            // The 3.21 runner passes the program's own path as its first
            // argument too.
            _ if arg == program => {}
            _ => {
                return Err(format!(
                    "unknown argument `{arg}` (usage: {program} [--dynamic | --views])"
                ));
            }
        }
    }
    Ok(mode)
}

fn main() -> ExitCode {
    let mode = match parse_args() {
        Ok(mode) => mode,
        Err(e) => {
            eprintln!("protocall-conformance: {e}");
            return ExitCode::from(2);
        }
    };
    let handler = match mode {
        Mode::Generated => protocall_conformance::handle,
        Mode::Dynamic => protocall_conformance::handle_dynamic,
        Mode::Views => protocall_conformance::handle_views,
    };
    let stdin = std::io::stdin().lock();
    let stdout = std::io::BufWriter::new(std::io::stdout().lock());
    match protocall_conformance::serve(stdin, stdout, handler) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("protocall-conformance: {e}");
            ExitCode::FAILURE
        }
    }
}
