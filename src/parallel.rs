//! Two pieces of work at once, for the phases that split large inputs in two.

/// Runs `here` on the current thread and `there` on another, and returns both results. A panic
/// in either is passed on to the caller, as if both had run on this thread.
pub(crate) fn join<A, B: Send>(
    here: impl FnOnce() -> A,
    there: impl FnOnce() -> B + Send,
) -> (A, B) {
    std::thread::scope(|scope| {
        let there = scope.spawn(there);
        let here = here();
        match there.join() {
            Ok(there) => (here, there),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}
