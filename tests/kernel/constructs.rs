//! Every construct of the language, one fixture each (tests/fixtures/kernel/), every host of it
//! compiled, loaded and probed against the model.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use portcullis::model::Protocol;

use super::probe::{self, Outcome, Probe};
use super::ruleset::Format;
use super::scenario::{verify_host, Bench, PolicyCase};
use super::topology::{Spec, CLIENT_V4, CLIENT_V6, SERVER_V4, SERVER_V6};
use super::trials::say;

fn fixture(name: &str) -> PathBuf {
    // Relative to the package root, where cargo runs tests, for short names in messages.
    PathBuf::from("tests/fixtures/kernel").join(name)
}

fn verify_fixture(name: &str, format: Format) {
    let case = PolicyCase::from_file(&fixture(name));
    assert!(!case.checked.policy.hosts.is_empty(), "{name} has no host");
    for host in &case.checked.policy.hosts {
        let verified = verify_host(&case, host, format);
        say!("{}", verified.summary);
    }
}

macro_rules! fixture_test {
    ($test:ident, $file:literal) => {
        fixture_test!($test, $file, Format::Nft);
    };
    ($test:ident, $file:literal, $format:expr) => {
        fn $test() {
            verify_fixture($file, $format);
        }
    };
}

fixture_test!(
    interleaved_allow_deny_reject_over_overlapping_ranges,
    "interleaved.pcl"
);
fixture_test!(from_and_to_nets, "nets.pcl");
fixture_test!(interfaces, "interfaces.pcl");
fixture_test!(interface_names_are_exact, "interface_names.pcl");
fixture_test!(one_protocol_does_not_open_another, "protocols.pcl");
fixture_test!(both_families_in_one_policy, "families.pcl");
fixture_test!(reject_is_refused_and_drop_times_out, "reject_drop.pcl");
fixture_test!(rules_without_services_match_everything, "no_services.pcl");
fixture_test!(log_and_counter_leave_the_verdict_alone, "log_counter.pcl");
fixture_test!(output_chain, "output.pcl");
fixture_test!(named_services_and_default_reject, "services.pcl");
fixture_test!(forward_chain_and_port_forwards, "forward_chain.pcl");
fixture_test!(
    a_block_list_of_single_addresses_is_one_set_of_sources,
    "source_sets.pcl"
);
fixture_test!(
    nets_by_ports_with_mixed_verdicts_are_one_map_per_family_around_log_and_limit,
    "source_maps.pcl"
);
fixture_test!(
    port_rules_from_overlapping_sources_are_one_map_by_protocol_and_port,
    "port_maps.pcl"
);

// The same proofs with the JSON rendering loaded through `nft -j -f`.
fixture_test!(json_interleaved, "interleaved.pcl", Format::Json);
fixture_test!(json_from_and_to_nets, "nets.pcl", Format::Json);
fixture_test!(json_interfaces_and_output, "output.pcl", Format::Json);
fixture_test!(json_source_sets, "source_sets.pcl", Format::Json);
fixture_test!(json_source_maps, "source_maps.pcl", Format::Json);
fixture_test!(json_port_maps, "port_maps.pcl", Format::Json);
fixture_test!(
    json_forward_chain_and_port_forwards,
    "forward_chain.pcl",
    Format::Json
);

/// A block of rules that differ only in their ports, too large to write inline for both families
/// (the compiler moves it to a chain of its own): 70 rules cycling through the three verdicts,
/// over single ports and ranges of both protocols, all from a net of both families.
fn a_large_block_of_port_rules_over_both_families() {
    let mut text = String::from(
        "net lab = 10.99.0.0/24, fd00:99::/64\n\ninput drop {\n  allow ssh from 10.99.0.0/24\n",
    );
    for i in 0..70u16 {
        let verdict = ["allow", "reject", "deny"][usize::from(i % 3)];
        let protocol = if i % 2 == 0 { "tcp" } else { "udp" };
        let port = 2000 + 3 * i;
        let spec = if i % 5 == 0 {
            format!("{protocol}/{port}-{}", port + 1)
        } else {
            format!("{protocol}/{port}")
        };
        text.push_str(&format!("  {verdict} {spec} from lab\n"));
    }
    text.push_str("  reject tcp/2000-2300\n}\n");
    let case = PolicyCase::from_text("large-block.pcl", &text);
    let verified = verify_host(&case, case.host(None), Format::Nft);
    say!("{}", verified.summary);
}

/// `counter` counts the packets its rule decides, and a rate-limited rule counts only those under
/// its rate (docs/compile.md: limit, counter and log come in that order).
fn counters_count_what_their_rule_decides() {
    let case = PolicyCase::from_text(
        "counters.pcl",
        "input drop {
  allow ssh from 10.99.0.0/24
  allow tcp/2000 counter
  deny udp/2001 counter log \"udp-2001: \"
  allow tcp/2002 limit 5/minute burst 2 counter
  reject tcp/2002
}
",
    );
    let host = case.host(None);
    let ports: BTreeSet<(Protocol, u16)> = [
        (Protocol::Tcp, 2000),
        (Protocol::Udp, 2001),
        (Protocol::Tcp, 2002),
    ]
    .into_iter()
    .collect();
    let bench = Bench::new(&case, host, Spec::default(), &ports);
    let (v4, v6) = (IpAddr::V4(CLIENT_V4), IpAddr::V6(CLIENT_V6));
    let to = |protocol, src: IpAddr, port| Probe {
        protocol,
        src,
        dst: match src {
            IpAddr::V4(_) => IpAddr::V4(SERVER_V4),
            IpAddr::V6(_) => IpAddr::V6(SERVER_V6),
        },
        port,
    };
    let together = [
        to(Protocol::Tcp, v4, 2000),
        to(Protocol::Tcp, v4, 2000),
        to(Protocol::Tcp, v6, 2000),
        to(Protocol::Udp, v4, 2001),
        to(Protocol::Udp, v6, 2001),
    ];
    let in_order: Vec<Probe> = [v4, v6, v4, v6]
        .into_iter()
        .map(|src| to(Protocol::Tcp, src, 2002))
        .collect();
    let mut outcomes = probe::run(
        &bench.topology.client,
        &together,
        Duration::from_millis(1000),
    )
    .expect("cannot probe");
    outcomes.extend(
        probe::run_in_order(
            &bench.topology.client,
            &in_order,
            Duration::from_millis(1000),
        )
        .expect("cannot probe"),
    );
    let expected = [
        Outcome::Answered,
        Outcome::Answered,
        Outcome::Answered,
        Outcome::TimedOut,
        Outcome::TimedOut,
        Outcome::Answered,
        Outcome::Answered,
        Outcome::Refused(nix::errno::Errno::ECONNREFUSED),
        Outcome::Refused(nix::errno::Errno::ECONNREFUSED),
    ];
    if outcomes != expected {
        bench.fail(&format!("outcomes {outcomes:?}, expected {expected:?}"));
    }

    let listing = bench
        .topology
        .server
        .exec(
            "nft",
            &["-j", "list", "counters", "table", "inet", "portcullis"],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let json: serde_json::Value = serde_json::from_str(&listing).expect("nft writes JSON");
    let packets = |name: &str| -> Option<u64> {
        json["nftables"].as_array()?.iter().find_map(|item| {
            let counter = item.get("counter")?;
            (counter["name"] == name).then(|| counter["packets"].as_u64())?
        })
    };
    for (name, count) in [("input_r2", 3), ("input_r3", 2), ("input_r4", 2)] {
        if packets(name) != Some(count) {
            bench.fail(&format!(
                "counter {name} shows {:?} packets, expected {count}; counters:\n{listing}",
                packets(name)
            ));
        }
    }
}

super::trials::tests! {
    Kernel:
        interleaved_allow_deny_reject_over_overlapping_ranges,
        from_and_to_nets,
        interfaces,
        interface_names_are_exact,
        one_protocol_does_not_open_another,
        both_families_in_one_policy,
        reject_is_refused_and_drop_times_out,
        rules_without_services_match_everything,
        log_and_counter_leave_the_verdict_alone,
        output_chain,
        named_services_and_default_reject,
        forward_chain_and_port_forwards,
        a_block_list_of_single_addresses_is_one_set_of_sources,
        nets_by_ports_with_mixed_verdicts_are_one_map_per_family_around_log_and_limit,
        port_rules_from_overlapping_sources_are_one_map_by_protocol_and_port,
        json_interleaved,
        json_from_and_to_nets,
        json_interfaces_and_output,
        json_forward_chain_and_port_forwards,
        json_source_sets,
        json_source_maps,
        json_port_maps,
        a_large_block_of_port_rules_over_both_families,
        counters_count_what_their_rule_decides;
}
