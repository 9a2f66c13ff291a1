//! The harness's own tests: a proof that can never fail proves nothing. A hand-written ruleset
//! that does what the policy says must pass; one that is subtly wrong must be caught, with the
//! probe that shows it.

use super::ruleset::{Compiled, Format};
use super::scenario::{try_verify_compiled, PolicyCase};

const POLICY: &str = "\
input drop {
  allow ssh from 10.99.0.0/24
  allow tcp/2000
  reject tcp/2001, udp/2001
  allow udp/2002 from 192.0.2.0/24
}
";

/// `POLICY` by hand, with `{reject}` and `{net}` to get wrong on purpose.
const BY_HAND: &str = "\
table inet portcullis {}
delete table inet portcullis
table inet portcullis {
  chain input {
    type filter hook input priority filter; policy drop;
    ct state established,related accept
    meta l4proto ipv6-icmp accept
    ip saddr 10.99.0.0/24 tcp dport 22 accept
    tcp dport 2000 accept
    tcp dport 2001 {reject}
    udp dport 2001 reject
    ip saddr {net} udp dport 2002 accept
  }
}
";

fn by_hand(reject: &str, net: &str) -> Compiled {
    Compiled::by_hand(&BY_HAND.replace("{reject}", reject).replace("{net}", net))
}

fn verify(compiled: &Compiled) -> Result<(), String> {
    let case = PolicyCase::from_text("harness.pcl", POLICY);
    let host = case.host(None);
    try_verify_compiled(&case, host, compiled, Format::Nft).map(drop)
}

fn a_faithful_ruleset_passes() {
    if let Err(message) = verify(&by_hand("reject with tcp reset", "192.0.2.0/24")) {
        panic!("a correct hand-written ruleset was reported wrong:\n{message}");
    }
}

fn a_drop_where_the_policy_rejects_is_caught() {
    let message = verify(&by_hand("drop", "192.0.2.0/24"))
        .expect_err("a ruleset that drops instead of rejecting passed");
    assert!(
        message.contains("tcp/2001 from 10.99.0.2 to 10.99.0.1 on pcs0 (input chain)")
            && message.contains("rejected (must be refused)")
            && message.contains("kernel: timed out"),
        "the failure does not show the probe that proves it:\n{message}"
    );
}

fn a_source_net_too_wide_is_caught() {
    // One address more than the policy allows: the first address above the net.
    let message = verify(&by_hand("reject with tcp reset", "192.0.2.0-192.0.3.0"))
        .expect_err("a ruleset that admits a source outside the net passed");
    assert!(
        message.contains("udp/2002 from 192.0.3.0 to 10.99.0.1")
            && message.contains("kernel: echoed"),
        "the failure does not show the probe that proves it:\n{message}"
    );
}

super::trials::tests! {
    Kernel:
        a_faithful_ruleset_passes,
        a_drop_where_the_policy_rejects_is_caught,
        a_source_net_too_wide_is_caught;
}
