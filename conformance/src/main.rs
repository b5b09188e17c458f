//! `protocall-conformance`: the testee protobuf's `conformance_test_runner`
//! starts (see the library's docs and `scripts/conformance.sh`).
//!
//! ```text
//! conformance_test_runner [runner options] target/release/protocall-conformance [--dynamic]
//! ```
//!
//! By default requests are answered with protocall's generated types.
//! `--dynamic` is to answer them through runtime reflection instead; it is
//! not built yet and exits with an error.

use std::process::ExitCode;

/// How the testee answers requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// With the generated types ([`protocall_conformance::handle`]).
    Generated,
    /// With runtime reflection over descriptors: not built yet.
    Dynamic,
}

fn parse_args() -> Result<Mode, String> {
    let mut args = std::env::args();
    let program = args.next().unwrap_or_default();
    let mut mode = Mode::Generated;
    for arg in args {
        match arg.as_str() {
            "--dynamic" => mode = Mode::Dynamic,
            // The 3.21 runner passes the program's own path as its first
            // argument too.
            _ if arg == program => {}
            _ => {
                return Err(format!(
                    "unknown argument `{arg}` (usage: {program} [--dynamic])"
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
        Mode::Dynamic => {
            eprintln!(
                "protocall-conformance: --dynamic (reflection-based testee) is not built yet"
            );
            return ExitCode::from(2);
        }
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
