//! The shape of the YAML form as a JSON Schema, for editors (`portcullis schema policy`).
//!
//! The lowering reads the form from a tree of nodes rather than through serde, so that it can
//! report every mistake of a file (`node.rs`). These types exist only to describe that shape: their
//! derived schema is what editors validate and complete against, and their doc comments are the
//! descriptions an editor shows. A test below holds their keys to the lowering's, and
//! `tests/schema.rs` holds the schema to what `portcullis check` accepts.
//!
//! The schema checks shapes: keys, which are required, lists and mappings, the words a chain's
//! default and a bind's stack take. Values written in policy syntax (ports, addresses, names,
//! limits) are checked by `portcullis check`, with the same grammar as the text form.
//!
//! A [`Key`] field (with `#[serde(default)]`) is a key that may be left out; [`OrEmpty`] is a
//! value that may be left empty (`rules:`). `Option` would say both at once, and most keys of the
//! form cannot be empty.

#![expect(
    dead_code,
    reason = "never built: the schema derived from these types is all they are for"
)]

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::marker::PhantomData;

use schemars::generate::SchemaSettings;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};

/// The JSON Schema of a policy in the YAML form, in draft 7: the draft YAML language servers
/// implement (VS Code's and yaml-language-server's validators stop there).
pub(crate) fn schema() -> Schema {
    let mut schema = SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<Policy>();
    // An empty document (or one of comments only) is an empty policy.
    schema.insert("type".into(), serde_json::json!(["object", "null"]));
    schema.insert(
        "$comment".into(),
        "Printed by `portcullis schema policy`; docs/yaml.md describes the form.".into(),
    );
    schema
}

/// A port policy in the YAML form (docs/yaml.md). Every key is optional, and an empty document is
/// an empty policy. The keys of a host (`binds`, `input`, ...) at the top level make one unnamed
/// host.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(title = "portcullis policy (YAML form)")]
struct Policy {
    /// `include "PATH"`: a file, or a list of files, whose definitions and statements this
    /// policy takes in. Paths are relative to this file; `.pcl` files are read in the text form.
    #[serde(default)]
    include: Key<Includes>,
    /// `service NAME = ...`: names for services, each a service list (`tcp/8080`,
    /// `[udp/27015-27030, tcp/27015]`).
    #[serde(default)]
    services: Key<OrEmpty<BTreeMap<String, Services>>>,
    /// `net NAME = ...`: names for nets, each a net list (`10.10.0.0/16`, `[office,
    /// 192.0.2.0/24]`).
    #[serde(default)]
    nets: Key<OrEmpty<BTreeMap<String, Nets>>>,
    /// `host NAME { ... }`: the hosts of this policy, by name.
    #[serde(default)]
    hosts: Key<OrEmpty<BTreeMap<String, OrEmpty<Host>>>>,
    /// The processes that listen on the host, and where.
    #[serde(default)]
    binds: Key<OrEmpty<Vec<Bind>>>,
    /// The chain for packets to this host.
    #[serde(default)]
    input: Key<Chain>,
    /// The chain for packets from this host.
    #[serde(default)]
    output: Key<Chain>,
    /// The chain for packets routed through this host.
    #[serde(default)]
    forward: Key<Chain>,
    /// Destination NAT: ports of this host forwarded to other addresses.
    #[serde(default)]
    forward_ports: Key<OrEmpty<Vec<ForwardPort>>>,
    /// Source NAT to the address of the outgoing interface.
    #[serde(default)]
    masquerade: Key<OrEmpty<Vec<Masquerade>>>,
    /// Source NAT to a fixed address.
    #[serde(default)]
    snat: Key<OrEmpty<Vec<Snat>>>,
}

/// A host: its binds, chains and NAT. Every key is optional.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Host {
    /// The processes that listen on the host, and where.
    #[serde(default)]
    binds: Key<OrEmpty<Vec<Bind>>>,
    /// The chain for packets to this host.
    #[serde(default)]
    input: Key<Chain>,
    /// The chain for packets from this host.
    #[serde(default)]
    output: Key<Chain>,
    /// The chain for packets routed through this host.
    #[serde(default)]
    forward: Key<Chain>,
    /// Destination NAT: ports of this host forwarded to other addresses.
    #[serde(default)]
    forward_ports: Key<OrEmpty<Vec<ForwardPort>>>,
    /// Source NAT to the address of the outgoing interface.
    #[serde(default)]
    masquerade: Key<OrEmpty<Vec<Masquerade>>>,
    /// Source NAT to a fixed address.
    #[serde(default)]
    snat: Key<OrEmpty<Vec<Snat>>>,
}

/// `bind PROCESS on ADDRESS SERVICES as USER`: a process listening on an address.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
struct Bind {
    /// The process's name (`nginx`).
    process: String,
    /// The one address it listens on (`0.0.0.0`, `"::"`, `127.0.0.1`).
    on: String,
    /// For `::`: whether the socket also takes IPv4 (`dual-stack`) or not (`v6only`).
    #[serde(default)]
    stack: Key<Stack>,
    /// The services it listens for: a service list.
    services: Services,
    /// The user it runs as.
    #[serde(default, rename = "as")]
    user: Key<String>,
}

/// Whether a socket on `::` takes IPv4 too.
#[derive(JsonSchema)]
#[serde(rename_all = "kebab-case")]
enum Stack {
    /// IPv6 only (`IPV6_V6ONLY`).
    V6only,
    /// IPv6 and IPv4-mapped IPv4.
    DualStack,
}

/// A chain: its default verdict, its rules (first match first) and its expectations.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
struct Chain {
    /// What happens to a packet no rule decides.
    policy: Verdict,
    /// The rules, first match first. A chain without rules has only its default.
    #[serde(default)]
    rules: Key<OrEmpty<Vec<Rule>>>,
    /// Intents that `portcullis check` proves against the rules (`{open: ssh, from: admins}`).
    #[serde(default)]
    expect: Key<OrEmpty<Vec<Expectation>>>,
}

/// A chain's default verdict.
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Verdict {
    Accept,
    Drop,
    Reject,
}

/// A rule: exactly one of `allow`, `deny` or `reject`, whose value is the service list, and its
/// options.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [
    {"required": ["allow"]},
    {"required": ["deny"]},
    {"required": ["reject"]},
]))]
struct Rule {
    /// Accept these services; left empty, every protocol and port.
    #[serde(default)]
    allow: Key<OrEmpty<Services>>,
    /// Drop these services; left empty, every protocol and port.
    #[serde(default)]
    deny: Key<OrEmpty<Services>>,
    /// Reject these services (TCP reset, ICMP unreachable); left empty, every protocol and port.
    #[serde(default)]
    reject: Key<OrEmpty<Services>>,
    /// `from NETS`: only packets from these sources.
    #[serde(default)]
    from: Key<Nets>,
    /// `to NETS`: only packets to these destinations.
    #[serde(default)]
    to: Key<Nets>,
    /// `on IFACES`: only packets on these interfaces (`eth0, eth1`, `"!wan0"`).
    #[serde(default)]
    on: Key<Interfaces>,
    /// `limit RATE`: the text after the keyword, such as `10/minute burst 5 per source`.
    #[serde(default)]
    limit: Key<String>,
    /// `true` to log matches, a string to log them with that prefix, `false` not to.
    #[serde(default)]
    log: Key<Log>,
    /// `true` to count matches.
    #[serde(default)]
    counter: Key<crate::yaml_words::Boolean>,
}

/// An expectation: exactly one of `open`, `closed` or `limited`, whose value is the service list,
/// and where the traffic comes from and goes to.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [
    {"required": ["open"]},
    {"required": ["closed"]},
    {"required": ["limited"]},
]))]
struct Expectation {
    /// These services are accepted (without a rate limit).
    #[serde(default)]
    open: Key<Services>,
    /// These services are not accepted.
    #[serde(default)]
    closed: Key<Services>,
    /// These services are accepted under a rate limit.
    #[serde(default)]
    limited: Key<Services>,
    /// `from NETS`: traffic from these sources.
    #[serde(default)]
    from: Key<Nets>,
    /// `to NETS`: traffic to these destinations.
    #[serde(default)]
    to: Key<Nets>,
    /// `on IFACES`: traffic on these interfaces.
    #[serde(default)]
    on: Key<Interfaces>,
}

/// `forward-port SPEC to TARGET`: a port of this host forwarded to another address.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
struct ForwardPort {
    /// One protocol and a port or range (`tcp/8443`, `udp/5000-5010`).
    port: String,
    /// The target address and optional port (`"10.0.0.5:443"`, `"[2001:db8::5]:8443"`).
    to: String,
    /// Only from these sources.
    #[serde(default)]
    from: Key<Nets>,
    /// Only on these interfaces.
    #[serde(default)]
    on: Key<Interfaces>,
    /// Only to these addresses of this host.
    #[serde(default)]
    at: Key<Nets>,
}

/// `masquerade on IFACES`: source NAT to the outgoing interface's address.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
struct Masquerade {
    /// The outgoing interfaces.
    on: Interfaces,
    /// Only packets from these sources.
    #[serde(default)]
    from: Key<Nets>,
}

/// `snat on IFACES to ADDRESS`: source NAT to a fixed address.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
struct Snat {
    /// The outgoing interfaces.
    on: Interfaces,
    /// Only packets from these sources.
    #[serde(default)]
    from: Key<Nets>,
    /// The address packets leave with.
    to: String,
}

/// A key that may be left out, with `#[serde(default)]`: its value's schema, not required.
struct Key<T>(PhantomData<T>);

impl<T> Default for Key<T> {
    fn default() -> Self {
        Key(PhantomData)
    }
}

impl<T: JsonSchema> JsonSchema for Key<T> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        generator.subschema_for::<T>()
    }
}

/// A value that may also be left empty (YAML `null`).
struct OrEmpty<T>(PhantomData<T>);

impl<T: JsonSchema> JsonSchema for OrEmpty<T> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        format!("OrEmpty_{}", T::schema_name()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let value = generator.subschema_for::<T>();
        json_schema!({"anyOf": [value, {"type": "null"}]})
    }
}

/// One string or a non-empty list of them, as the lowering's `non_empty` reads it.
struct NonEmpty<T>(PhantomData<T>);

impl<T: JsonSchema> JsonSchema for NonEmpty<T> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        format!("NonEmpty_{}", T::schema_name()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let item = generator.subschema_for::<T>();
        json_schema!({"anyOf": [item, {"type": "array", "items": item, "minItems": 1}]})
    }
}

/// A service list: names and port specs (`ssh`, `tcp/8000-8100`, `http, https`), one string or a
/// list of them.
#[derive(JsonSchema)]
struct Services(NonEmpty<String>);

/// A net list: names, addresses and prefixes, `any`, negations (`"!office"`), one string or a list
/// of them.
#[derive(JsonSchema)]
struct Nets(NonEmpty<String>);

/// Interfaces (`eth0`, `eth0, eth1`, `"!wan0"`), one or a list of them. A name may be all
/// digits, which YAML reads as a number.
#[derive(JsonSchema)]
struct Interfaces(NonEmpty<Scalar>);

/// Paths of files to include: one or a list of them (an empty list includes nothing).
#[derive(JsonSchema)]
#[serde(untagged)]
enum Includes {
    One(String),
    Many(Vec<String>),
}

/// `log`: `true`, `false`, or a prefix (which YAML may read as a number). YAML 1.1's `yes` and
/// `on`, which portcullis reads as `true`, are strings to an editor, and so prefixes here.
#[derive(JsonSchema)]
#[serde(untagged)]
enum Log {
    Switch(bool),
    Prefix(Scalar),
}

/// Text that YAML may read as a number: the lowering reads a number as the text it is written as.
struct Scalar;

impl JsonSchema for Scalar {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Scalar".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": ["string", "number"]})
    }
}

#[cfg(test)]
mod tests {
    use super::super::lower;
    use super::*;

    /// The keys the schema gives an object, from its `properties`.
    fn keys(schema: &serde_json::Value, pointer: &str) -> Vec<String> {
        let object = schema
            .pointer(pointer)
            .unwrap_or_else(|| panic!("{pointer} in {schema:#}"));
        let mut keys: Vec<String> = object["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{pointer} has properties"))
            .keys()
            .cloned()
            .collect();
        keys.sort();
        assert_eq!(object["additionalProperties"], false, "{pointer}");
        keys
    }

    fn sorted(keys: &[&str]) -> Vec<String> {
        let mut keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        keys.sort();
        keys
    }

    #[test]
    fn every_mapping_has_the_lowerings_keys() {
        let schema = schema().to_value();
        for (pointer, expected) in [
            ("", lower::POLICY_KEYS),
            ("/definitions/Host", lower::HOST_KEYS),
            ("/definitions/Chain", lower::CHAIN_KEYS),
            ("/definitions/Rule", lower::RULE_KEYS),
            ("/definitions/Expectation", lower::EXPECT_KEYS),
            ("/definitions/Bind", lower::BIND_KEYS),
            ("/definitions/ForwardPort", lower::FORWARD_KEYS),
            ("/definitions/Masquerade", lower::MASQUERADE_KEYS),
            ("/definitions/Snat", lower::SNAT_KEYS),
        ] {
            assert_eq!(keys(&schema, pointer), sorted(expected), "{pointer}");
        }
    }
}
