#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| protocall_fuzz::checks::grpc_frames(data));
