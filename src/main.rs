use std::process::ExitCode;

/// See the note on `mimalloc` in Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (its place in `mi_option_e` of the mimalloc 3 that
/// libmimalloc-sys 0.1.49 builds; the crate names the options around it, not this one).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long freed memory stays with the process before it goes back to the system: not at all.
/// mimalloc's default of a second let the phases of a large `check` add up: the syntax trees
/// freed by the parsing threads were still resident while the analysis allocated its own (a
/// million rules: 1.3-1.5 GiB at the peak). With 10 ms the peak still moved by 80 MB from run to
/// run with the timing of the purges (0.93-1.01 GiB); at once, it is 0.89 GiB every run, and no
/// slower.
const PURGE_DELAY_MS: std::ffi::c_long = 0;

fn main() -> ExitCode {
    // SAFETY: sets an option mimalloc reads whenever it purges; no allocation is in flight
    // on another thread yet.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
    portcullis::cli::main()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_purge_delay_is_the_option_set() {
        // SAFETY: reads and writes a mimalloc option.
        let before = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
        let after = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        assert_eq!(after, PURGE_DELAY_MS);
        // mimalloc 3 purges after 1000 ms unless told otherwise: option 15 is that delay.
        assert!(
            before == 1000 || before == PURGE_DELAY_MS,
            "option 15 was {before}"
        );
    }
}
