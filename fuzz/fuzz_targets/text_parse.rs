#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| protocall_fuzz::checks::text_parse(data));
