//! Two pieces of work at once: the one place the program starts threads.
//!
//! Two phases use it, the only ones where a second core earned at least a fifth of the whole
//! command's time on 100k-rule policies (`bench/README.md`): parsing a large file in two halves
//! (`syntax::split`), and sweeping the two halves of an address family's cells in the coverage
//! analysis (`model::coverage`). Each gives the result one thread would.

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
