//! Phase timings of `check` on generated policies: parse, resolve, coverage analysis, all lints.
//!
//!     cargo bench --bench check              # 10k and 100k rules
//!     cargo bench --bench check -- 250000    # other sizes
//!
//! Policies come from `bench/gen-policy` (python3). Each phase is run several times and the
//! median is printed; figures are recorded in bench/README.md.

use std::process::Command;
use std::time::{Duration, Instant};

use portcullis::config::Settings;
use portcullis::lint::{self, Levels, LintContext};

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        last = Some(f());
        times.push(start.elapsed());
    }
    (median(times), last.expect("at least one run"))
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![10_000, 100_000]
    } else {
        sizes
    };
    let generator = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/gen-policy");
    println!("| rules | parse | resolve | coverage | all lints | total | findings |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for size in sizes {
        let out = Command::new(generator)
            .arg(size.to_string())
            .output()
            .expect("bench/gen-policy runs (needs python3)");
        let text = String::from_utf8(out.stdout).expect("utf-8");
        let runs = if size > 50_000 { 5 } else { 11 };
        let (parse, loaded) = time(runs, || portcullis::load::load_text("bench.pcl", &text));
        let settings = Settings::default();
        let levels = Levels::from_config(&settings.config.lint);
        let (resolve, (policy, diagnostics)) = time(runs, || {
            let mut d = loaded.diagnostics.clone();
            let p = portcullis::resolve::resolve(&loaded, &[], &mut d);
            (p, d)
        });
        let (coverage, _) = time(runs, || {
            policy.hosts[0]
                .chains
                .iter()
                .map(|c| c.coverage())
                .collect::<Vec<_>>()
        });
        let (lints, findings) = time(runs, || {
            let ctx = LintContext::new(
                &policy,
                &loaded.sources,
                &settings.config.lint,
                &settings.config.compile,
            );
            let mut d = diagnostics.clone();
            lint::engine::run(&ctx, &levels, &mut d);
            lint::engine::finish(d, &loaded.sources, &levels).len()
        });
        let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1000.0);
        println!(
            "| {size} | {} | {} | {} | {} | {} | {findings} |",
            ms(parse),
            ms(resolve),
            ms(coverage),
            ms(lints),
            ms(parse + resolve + lints)
        );
    }
}
