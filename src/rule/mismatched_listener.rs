//! `mismatched-listener`: the port of a `bind` is held by another process or user.

crate::declare_lint! {
    /// A socket a bind declares is held by another process or user than the bind names.
    ///
    /// ## What it does
    /// For every socket listening where a `bind` of the audited host declares it (the bind's
    /// port and protocol, at an address of the bind), `portcullis audit` compares the bind's
    /// process with the processes that hold the socket, and the bind's `as USER` with the user
    /// that opened the socket and the users those processes run as. A process matches by its
    /// name as `ss -tulpn` and `ps` show it (the kernel's `comm`, at most 15 characters) or by
    /// the file name of its executable; a user matches when any of those users is it. A
    /// socket whose processes cannot be seen (`audit` run as another user than root) is
    /// judged by its user only, and one held only by systemd (socket activation: the service
    /// starts at the first connection) is not judged.
    ///
    /// ## Why it matters
    /// Another program on a declared port is at best a stale policy and at worst something
    /// that took the port while the real service was down, and a service running as `root`
    /// where the policy says it drops to an unprivileged user has more to lose if it is
    /// broken into. The level is `warning` because bind names were written by hand before
    /// `audit` read them, and may name a program differently (`redis` for `redis-server`):
    /// make it an error with `--error mismatched-listener` once the binds name processes as
    /// the kernel does.
    ///
    /// ## Example
    /// ```text
    /// host web-1 {
    ///   bind nginx on 0.0.0.0 http as www-data
    /// }
    /// ```
    /// with `python3` listening on `tcp/80` as `root`.
    ///
    /// ## Fix
    /// Find out what holds the port (`ss -tulpn`); stop it and start the declared service, or
    /// correct the bind to name the process and user that really serve there.
    pub static MISMATCHED_LISTENER = {
        name: "mismatched-listener",
        code: "PC503",
        category: Audit,
        default_level: Warning,
    }
}
