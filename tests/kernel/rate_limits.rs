//! Rate limits: a limited rule decides only while its traffic is under the rate; beyond the
//! burst, new connections fall through to the rules after it (the model's `evaluate`, against
//! `evaluate_under_limits` while under the rate). Rates are per minute so no token comes back
//! while a test runs, and probes go one at a time: the order of arrival is the point.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::Duration;

use portcullis::model::{ChainKind, Verdict};
use portcullis::model::{Packet, Protocol, Transport};

use super::oracle::verdict_admits;
use super::probe::{self, Probe};
use super::ruleset::Format;
use super::scenario::{Bench, PolicyCase};
use super::topology::{Spec, CLIENT_V4, CLIENT_V6, SERVER_IF, SERVER_V4, SERVER_V6};
use super::trials::say;

/// How long each probe of a sequence waits: long enough that a slow machine never turns an
/// admitted connection into a timeout (limited probes are not asked twice).
const ORDERED_DEADLINE: Duration = Duration::from_millis(800);

/// Whether a probe is meant to arrive while its bucket still has tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Under,
    Over,
}

const V4: IpAddr = IpAddr::V4(CLIENT_V4);
const V6: IpAddr = IpAddr::V6(CLIENT_V6);
/// A second client, for per-source limits.
const OTHER_V4: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 99, 0, 3));

fn probe(protocol: Protocol, src: IpAddr, port: u16) -> Probe {
    let dst = match src {
        IpAddr::V4(_) => IpAddr::V4(SERVER_V4),
        IpAddr::V6(_) => IpAddr::V6(SERVER_V6),
    };
    Probe {
        protocol,
        src,
        dst,
        port,
    }
}

/// Sends the probes in order and holds each against the model's verdict for its phase.
fn assert_sequence(bench: &Bench, steps: &[(Probe, Phase)]) {
    let chain = bench
        .host
        .chain(ChainKind::Input)
        .expect("rate-limit policies have an input chain");
    let probes: Vec<Probe> = steps.iter().map(|(p, _)| p.clone()).collect();
    let format = bench.format.describe();
    let outcomes = probe::run_in_order(&bench.topology.client, &probes, ORDERED_DEADLINE)
        .expect("cannot probe");
    let mut table = String::new();
    let mut wrong = 0;
    for (i, ((probe, phase), outcome)) in steps.iter().zip(&outcomes).enumerate() {
        let packet = Packet {
            transport: Transport::Port(probe.protocol, probe.port),
            src: probe.src,
            dst: probe.dst,
            interface: Some(SERVER_IF.to_string()),
            translated: false,
        };
        let decision = match phase {
            Phase::Under => chain.evaluate_under_limits(&packet),
            Phase::Over => chain.evaluate(&packet),
        };
        let ok = verdict_admits(decision.verdict, *outcome);
        wrong += usize::from(!ok);
        let _ = writeln!(
            table,
            "  {} #{:<2} {probe:<40} {:<5} policy: {:<8} kernel: {}",
            if ok { " " } else { "✗" },
            i + 1,
            format!("{phase:?}").to_lowercase(),
            decision.verdict.past_tense(),
            outcome.describe(probe.protocol)
        );
    }
    if wrong > 0 {
        bench.fail(&format!(
            "{wrong} of {} probes sent in order disagree with the rate limit:\n{table}",
            steps.len()
        ));
    }
    say!(
        "{} (loaded with `{format}`): rate limit held:\n{table}",
        bench.case.label
    );
}

fn ports(list: &[(Protocol, u16)]) -> BTreeSet<(Protocol, u16)> {
    list.iter().copied().collect()
}

fn beyond_the_burst_connections_fall_through_to_the_next_rule() {
    for format in [Format::Nft, Format::Json] {
        beyond_the_burst_connections_fall_through_to_the_next_rule_as(format);
    }
}

fn beyond_the_burst_connections_fall_through_to_the_next_rule_as(format: Format) {
    let case = PolicyCase::from_text(
        "limit.pcl",
        "input drop {\n  allow ssh from 10.99.0.0/24\n  allow tcp/2000 limit 5/minute burst 5\n  reject tcp/2000\n}\n",
    );
    let host = case.host(None);
    let bench = Bench::loaded_as(
        &case,
        host,
        format,
        Spec::default(),
        &ports(&[(Protocol::Tcp, 2000)]),
    );
    let tcp = |src| probe(Protocol::Tcp, src, 2000);
    // One bucket for the rule as written: IPv6 draws from the same one.
    let mut steps: Vec<(Probe, Phase)> = (0..5).map(|_| (tcp(V4), Phase::Under)).collect();
    steps.extend((0..3).map(|_| (tcp(V4), Phase::Over)));
    steps.extend((0..2).map(|_| (tcp(V6), Phase::Over)));
    assert_sequence(&bench, &steps);
}

fn a_per_source_limit_keeps_one_budget_per_source() {
    for format in [Format::Nft, Format::Json] {
        a_per_source_limit_keeps_one_budget_per_source_as(format);
    }
}

fn a_per_source_limit_keeps_one_budget_per_source_as(format: Format) {
    let case = PolicyCase::from_text(
        "limit-per-source.pcl",
        "input drop {\n  allow ssh from 10.99.0.0/24\n  allow tcp/2000 limit 5/minute burst 3 per source\n}\n",
    );
    let host = case.host(None);
    let spec = Spec {
        client_addresses: vec![OTHER_V4],
        ..Spec::default()
    };
    let bench = Bench::loaded_as(&case, host, format, spec, &ports(&[(Protocol::Tcp, 2000)]));
    let tcp = |src| probe(Protocol::Tcp, src, 2000);
    let mut steps = Vec::new();
    // The first source spends its budget; the second, and the first's IPv6 address, still have
    // theirs; the first stays spent.
    for src in [V4, OTHER_V4, V6] {
        steps.extend((0..3).map(|_| (tcp(src), Phase::Under)));
        steps.push((tcp(src), Phase::Over));
    }
    steps.push((tcp(V4), Phase::Over));
    assert_sequence(&bench, &steps);
}

fn one_bucket_for_a_rule_over_both_families_and_protocols() {
    for format in [Format::Nft, Format::Json] {
        one_bucket_for_a_rule_over_both_families_and_protocols_as(format);
    }
}

fn one_bucket_for_a_rule_over_both_families_and_protocols_as(format: Format) {
    let case = PolicyCase::from_text(
        "limit-shared.pcl",
        "input reject {\n  allow ssh from 10.99.0.0/24\n  allow tcp/2001, udp/2001 from 10.99.0.0/24, fd00:99::/64 limit 5/minute burst 4\n}\n",
    );
    let host = case.host(None);
    let bench = Bench::loaded_as(
        &case,
        host,
        format,
        Spec::default(),
        &ports(&[(Protocol::Tcp, 2001), (Protocol::Udp, 2001)]),
    );
    let steps = vec![
        (probe(Protocol::Tcp, V4, 2001), Phase::Under),
        (probe(Protocol::Udp, V6, 2001), Phase::Under),
        (probe(Protocol::Tcp, V6, 2001), Phase::Under),
        (probe(Protocol::Udp, V4, 2001), Phase::Under),
        (probe(Protocol::Tcp, V4, 2001), Phase::Over),
        (probe(Protocol::Udp, V4, 2001), Phase::Over),
        (probe(Protocol::Tcp, V6, 2001), Phase::Over),
        (probe(Protocol::Udp, V6, 2001), Phase::Over),
    ];
    assert_sequence(&bench, &steps);
}

fn a_limited_reject_falls_through_to_allow() {
    for format in [Format::Nft, Format::Json] {
        a_limited_reject_falls_through_to_allow_as(format);
    }
}

fn a_limited_reject_falls_through_to_allow_as(format: Format) {
    // Odd but legal: the first connections are refused, the flood gets in.
    let case = PolicyCase::from_text(
        "limit-reject.pcl",
        "input drop {\n  allow ssh from 10.99.0.0/24\n  reject udp/2002 limit 5/minute burst 2\n  allow udp/2002\n}\n",
    );
    let host = case.host(None);
    let bench = Bench::loaded_as(
        &case,
        host,
        format,
        Spec::default(),
        &ports(&[(Protocol::Udp, 2002)]),
    );
    let udp = |src| probe(Protocol::Udp, src, 2002);
    let steps = vec![
        (udp(V4), Phase::Under),
        (udp(V6), Phase::Under),
        (udp(V4), Phase::Over),
        (udp(V6), Phase::Over),
    ];
    assert_sequence(&bench, &steps);
}

/// The model's two verdicts for a limited probe must differ in these tests, or they would prove
/// nothing about the limit.
fn the_sequences_above_distinguish_under_from_over() {
    let cases = [
        (
            "input drop {\n  allow tcp/2000 limit 5/minute burst 5\n  reject tcp/2000\n}\n",
            Protocol::Tcp,
            2000,
        ),
        (
            "input drop {\n  allow tcp/2000 limit 5/minute burst 3 per source\n}\n",
            Protocol::Tcp,
            2000,
        ),
        (
            "input reject {\n  allow udp/2001 from 10.99.0.0/24 limit 5/minute burst 4\n}\n",
            Protocol::Udp,
            2001,
        ),
        (
            "input drop {\n  reject udp/2002 limit 5/minute burst 2\n  allow udp/2002\n}\n",
            Protocol::Udp,
            2002,
        ),
    ];
    for (text, protocol, port) in cases {
        let checked = portcullis::pipeline::check_text("limit.pcl", text);
        let chain = checked.policy.hosts[0].chain(ChainKind::Input).unwrap();
        let packet = Packet {
            transport: Transport::Port(protocol, port),
            src: V4,
            dst: IpAddr::V4(SERVER_V4),
            interface: Some(SERVER_IF.to_string()),
            translated: false,
        };
        let under = chain.evaluate_under_limits(&packet).verdict;
        let over = chain.evaluate(&packet).verdict;
        assert_ne!(under, over, "{text}");
        assert!(matches!(
            under,
            Verdict::Accept | Verdict::Reject | Verdict::Drop
        ));
    }
}

/// Regression: a limit without `burst` once compiled to a bare `limit rate 2/second`, which the
/// kernel gives its default burst of 5 packets, so five connections got in at once (and
/// `limit 1/hour` admitted five too). Without `burst`, at most one period's worth passes at once.
fn without_burst_a_limit_admits_no_more_than_its_rate_at_once() {
    let case = PolicyCase::from_text(
        "limit-no-burst.pcl",
        "input drop {\n  allow ssh from 10.99.0.0/24\n  allow tcp/2000 limit 2/second\n  reject tcp/2000\n}\n",
    );
    let host = case.host(None);
    let bench = Bench::new(
        &case,
        host,
        Spec::default(),
        &ports(&[(Protocol::Tcp, 2000)]),
    );
    let probes: Vec<Probe> = (0..6).map(|_| probe(Protocol::Tcp, V4, 2000)).collect();
    let started = std::time::Instant::now();
    let outcomes = probe::run_in_order(&bench.topology.client, &probes, Duration::from_millis(300))
        .expect("cannot probe");
    let elapsed = started.elapsed();
    let admitted = outcomes
        .iter()
        .filter(|o| **o == super::probe::Outcome::Answered)
        .count();
    if elapsed < Duration::from_millis(400) && admitted > 2 {
        bench.fail(&format!(
            "`limit 2/second` admitted {admitted} of 6 connections made within {elapsed:?}: {outcomes:?}"
        ));
    }
}

super::trials::tests! {
    Kernel:
        beyond_the_burst_connections_fall_through_to_the_next_rule,
        a_per_source_limit_keeps_one_budget_per_source,
        one_bucket_for_a_rule_over_both_families_and_protocols,
        a_limited_reject_falls_through_to_allow,
        without_burst_a_limit_admits_no_more_than_its_rate_at_once;
    Nothing: the_sequences_above_distinguish_under_from_over;
}
