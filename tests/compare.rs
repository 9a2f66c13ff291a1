//! `model::compare` against brute force: random pairs of small chains over the coverage tests'
//! tiny universe, where evaluating every packet on both sides is cheap and obviously right.
//! A packet is in a changed region exactly when its decision changes, and the region names the
//! rules (or defaults) that decide it on each side.

use portcullis::model::compare::{compare, Decider};
use portcullis::model::{Chain, Decision, Packet};
use portcullis::pipeline::check_text;
use proptest::prelude::*;

use super::coverage::{arb_rule, universe};

/// What a packet meets in a chain: the steady verdict, and the first limited rule's verdict and
/// limit.
fn outcome<'c>(
    chain: &'c Chain,
    d: &Decision,
) -> (
    portcullis::model::Verdict,
    Option<(portcullis::model::Verdict, &'c portcullis::model::Limit)>,
) {
    let limited = d.limited.first().map(|&i| {
        let rule = &chain.rules[i];
        (rule.verdict, rule.limit.as_ref().unwrap())
    });
    (d.verdict, limited)
}

fn decider(d: &Decision) -> Decider {
    Decider {
        rule: d.rule,
        limited: d.limited.first().copied(),
    }
}

fn chain_of(text: &str) -> Chain {
    let checked = check_text("random.pcl", text);
    let chain = checked.policy.hosts[0].chains[0].clone();
    assert!(chain.rules.iter().all(|r| r.resolved), "{text}");
    chain
}

/// Contents of the net `n` that both versions use, differing between them in one kind of pair.
const NET_CONTENTS: &[&str] = &[
    "10.0.0.0/30",
    "10.0.0.0/29",
    "10.0.0.4/31, fd00::/127",
    "fd00::/126",
    "10.0.0.5",
];

/// Two versions: independent, the same rules reordered, one rule replaced, another default, or
/// the same rules with one using a net whose contents differ.
fn arb_pair() -> impl Strategy<Value = (String, String)> {
    let default = || prop_oneof![Just("accept"), Just("drop"), Just("reject")];
    (
        (default(), default()),
        prop::collection::vec(arb_rule(), 1..7),
        prop::collection::vec(arb_rule(), 1..7),
        0usize..5,
        any::<prop::sample::Index>(),
        (
            prop::sample::select(NET_CONTENTS),
            prop::sample::select(NET_CONTENTS),
            prop::sample::select(&["allow", "deny", "reject"][..]),
        ),
    )
        .prop_map(|((d1, d2), a, b, how, at, (net_old, net_new, verdict))| {
            let chain =
                |d: &str, rules: &[String]| format!("input {d} {{\n{}\n}}\n", rules.join("\n"));
            let old = chain(d1, &a);
            let new = match how {
                0 => chain(d2, &b),
                1 => {
                    let mut reordered = a.clone();
                    reordered.rotate_left(at.index(a.len()));
                    chain(d1, &reordered)
                }
                2 => {
                    let mut edited = a.clone();
                    edited[at.index(a.len())] = b[0].clone();
                    chain(d1, &edited)
                }
                3 => chain(d2, &a),
                _ => {
                    let mut uses = a.clone();
                    uses[at.index(a.len())] = format!("  {verdict} tcp from n");
                    return (
                        format!("net n = {net_old}\n{}", chain(d1, &uses)),
                        format!("net n = {net_new}\n{}", chain(d1, &uses)),
                    );
                }
            };
            (old, new)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn changes_agree_with_brute_force((old_text, new_text) in arb_pair()) {
        let (old, new) = (chain_of(&old_text), chain_of(&new_text));
        let changes = compare(&old, &new);
        let shown = format!("--- old\n{old_text}--- new\n{new_text}");
        for packet in universe() {
            let (o, n) = (old.evaluate(&packet), new.evaluate(&packet));
            let changed = outcome(&old, &o) != outcome(&new, &n);
            let by_defaults = o.rule.is_none() && n.rule.is_none()
                && o.limited.is_empty() && n.limited.is_empty();
            let holding: Vec<_> = changes
                .regions
                .iter()
                .filter(|r| r.contains(&packet, &changes.named_interfaces))
                .collect();
            if changed && !by_defaults {
                prop_assert_eq!(holding.len(), 1, "{} in {} regions\n{}{:#?}", packet_text(&packet), holding.len(), shown, changes.regions);
                prop_assert_eq!(holding[0].old, decider(&o), "{}\n{}", packet_text(&packet), shown);
                prop_assert_eq!(holding[0].new, decider(&n), "{}\n{}", packet_text(&packet), shown);
            } else {
                prop_assert!(holding.is_empty(), "{} is unchanged but in {:?}\n{}", packet_text(&packet), holding, shown);
            }
            if changed && by_defaults {
                prop_assert_eq!(changes.default, Some((old.policy, new.policy)));
            }
        }
        if old_text == new_text {
            prop_assert!(changes.is_empty());
        }
    }
}

fn packet_text(p: &Packet) -> String {
    format!("{p} (interface {:?})", p.interface)
}

/// A rule opened to every port from one net is one region, not one per port or per class.
#[test]
fn a_change_over_every_port_from_one_net_is_one_region() {
    let old = chain_of("input drop {\n  allow ssh\n  allow tcp/80 from 10.0.0.0/8\n}\n");
    let new = chain_of("input drop {\n  allow ssh\n  allow tcp from 10.0.0.0/8\n}\n");
    let changes = compare(&old, &new);
    assert_eq!(changes.regions.len(), 1, "{:#?}", changes.regions);
    let region = &changes.regions[0];
    assert_eq!(region.src.prefixes(), ["10.0.0.0/8".parse().unwrap()]);
    assert!(region.dst.is_any() || region.dst.v4.is_full());
}

/// Reordering rules without changing a verdict changes nothing.
#[test]
fn a_refactoring_changes_nothing() {
    let old = chain_of(
        "input drop {\n  allow ssh\n  allow tcp/80 from 10.0.0.0/8\n  allow tcp/80 from 10.1.0.0/16\n  deny udp\n}\n",
    );
    let new =
        chain_of("input drop {\n  deny udp\n  allow tcp/80 from 10.0.0.0/8\n  allow ssh\n}\n");
    assert!(compare(&old, &new).is_empty());
}
