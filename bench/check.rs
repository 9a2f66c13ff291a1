//! Phase timings of `check` on generated policies: parse, resolve, coverage analysis, all lints.
//!
//!     cargo bench --bench check                          # 10k and 100k rules, both shapes
//!     cargo bench --bench check -- 250000                # other sizes
//!     cargo bench --bench check -- 100000 allow-list     # one shape
//!     cargo bench --bench check -- 100000 --rules        # and each lint rule's own time
//!
//! Policies come from `bench/gen-policy` (python3). Each phase is run several times and the
//! median is printed; figures are recorded in bench/README.md.

use std::process::Command;
use std::time::{Duration, Instant};

use portcullis::config::Settings;

/// The binary's allocator, so that the figures are the command's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use portcullis::lint::{self, Levels, LintContext};

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// The median time of `f`, and its last result. Results are dropped outside the timing: the
/// command never frees them.
fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        drop(last.take());
        let start = Instant::now();
        let result = f();
        times.push(start.elapsed());
        last = Some(result);
    }
    (median(times), last.expect("at least one run"))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut sizes: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    if sizes.is_empty() {
        sizes = vec![10_000, 100_000];
    }
    let mut shapes: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| ["overlapping", "allow-list"].contains(a))
        .collect();
    if shapes.is_empty() {
        shapes = vec!["overlapping", "allow-list"];
    }
    let per_rule = args.iter().any(|a| a == "--rules");
    let generator = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/gen-policy");
    println!("| shape | rules | parse | resolve | coverage | all lints | total | findings |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (shape, size) in shapes
        .iter()
        .flat_map(|&shape| sizes.iter().map(move |&size| (shape, size)))
    {
        let out = Command::new(generator)
            .args([&size.to_string(), "--shape", shape])
            .output()
            .expect("bench/gen-policy runs (needs python3)");
        let text = String::from_utf8(out.stdout).expect("utf-8");
        let runs = if size > 50_000 { 5 } else { 11 };
        let (parse, loaded) = time(runs, || portcullis::load::load_text("bench.pcl", &text));
        let settings = Settings::default();
        let levels = Levels::from_config(&settings.config.lint);
        let (resolve, (policy, diagnostics)) = time(runs, || {
            let mut d = loaded.diagnostics.clone();
            let p = portcullis::resolve::resolve(
                &loaded,
                &[],
                portcullis::model::baseline::Parts::default(),
                &mut d,
            );
            (p, d)
        });
        let (coverage, _) = time(runs, || {
            policy.hosts[0]
                .chains
                .iter()
                .map(|c| c.coverage())
                .collect::<Vec<_>>()
        });
        let (lints, (_, findings)) = time(runs, || {
            let ctx = LintContext::new(
                &policy,
                &loaded.sources,
                &settings.config.lint,
                &settings.config.compile,
            );
            let mut d = diagnostics.clone();
            lint::engine::run(&ctx, &levels, &mut d);
            let findings =
                lint::engine::finish(d, &loaded.sources, &levels, lint::engine::Run::Check);
            (ctx, findings)
        });
        let findings = findings.len();
        let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1000.0);
        println!(
            "| {shape} | {size} | {} | {} | {} | {} | {} | {findings} |",
            ms(parse),
            ms(resolve),
            ms(coverage),
            ms(lints),
            ms(parse + resolve + lints)
        );
        if per_rule {
            // Each check alone on one thread, with the coverage analysis already done (it is
            // computed once per run and shared by the checks that ask for it).
            let ctx = LintContext::new(
                &policy,
                &loaded.sources,
                &settings.config.lint,
                &settings.config.compile,
            );
            let _ = ctx.coverages().count();
            let mut times: Vec<(Duration, &str)> = lint::rules::CHECKS
                .iter()
                .map(|(rule, check)| {
                    let (t, _) = time(runs, || {
                        let mut d = Vec::new();
                        check(&ctx, &mut d);
                        d
                    });
                    (t, rule.name)
                })
                .collect();
            times.sort_by(|a, b| b.cmp(a));
            let top: Vec<String> = times
                .iter()
                .take(8)
                .map(|(t, name)| format!("{name} {}", ms(*t)))
                .collect();
            println!("|  | slowest rules: {} |||||||", top.join(", "));
        }
    }
}
