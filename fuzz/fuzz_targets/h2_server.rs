#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| protocall_fuzz::checks::h2_server(data));
