#![no_main]

// The body is shared with the stable runner (tests/fuzz.rs); see fuzz/README.md.
#[path = "../targets.rs"]
#[allow(dead_code)]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::compile(data));
