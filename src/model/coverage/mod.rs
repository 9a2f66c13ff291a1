//! Exact first-match coverage of a chain: which packets each rule decides, which earlier rules
//! decide the packets it would also match, and whether removing it would change any verdict.
//!
//! The packet space (family x source x destination x interface x protocol x port) is cut into
//! *cells*: classes of source addresses, destination addresses and interfaces that no rule tells
//! apart. Within a cell only protocol and port matter, and a sweep over the cell's rules in order
//! with an interval map ("which rule owns this port") gives the first-match owner of every port.
//! The cost is about `cells x rules-per-cell x log(ports)`, not `rules^2`: a policy of 100k rules
//! from a handful of sources is analysed in a fraction of a second. A small cell whose rules have
//! the same traffic and verdicts, in the same order, as another cell of its neighbourhood finds
//! the same things, and the two are swept once: 100k clients of a dozen services are a dozen
//! sweeps, and 10,000 denied addresses in front of a net's rules are one.
//!
//! Each address family is analysed in turn, in four phases:
//! - [`cells`]: the family's rules, the classes of sources, destinations and interfaces they tell
//!   apart, and the distinct cells with the rules of each (shared by a neighbourhood of source
//!   classes, and a class's own);
//! - [`sweep`]: the first-match sweep over one cell's rules, which reports what it finds;
//! - [`replay`]: sweeping a run of cells, each batch of cells alike once, on two threads for
//!   large families;
//! - [`attach`]: turning the earlier rules met in every cell into each rule's
//!   [`RuleCoverage::covered_by`] and [`RuleCoverage::first_covering`].

mod attach;
mod cells;
mod replay;
mod sweep;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::Verdict;
use super::{AddrSet, Chain, Family, IntervalSet, Packet, Point, Traffic};
use attach::{attach_coverings, Found, Swept};
use cells::{active_rules, Cells};
use replay::FamilySweep;
use sweep::Pieces;

/// How many slots of traffic (ports of each protocol, ICMP types, other protocols) there are.
const SLOTS: usize = Traffic::SLOTS;

/// What the analysis found for one rule.
#[derive(Debug, Clone, Default)]
pub struct RuleCoverage {
    /// The rule matches at least one possible packet (its source and destination share a family).
    pub matches_anything: bool,
    /// A packet this rule decides (while under its rate limit, for a limited rule).
    /// Boxed: most rules of a large policy win nothing, and a packet is 64 bytes.
    pub wins: Option<Box<Packet>>,
    /// Earlier rules that decide packets this rule also matches, as runs of rule indices (a
    /// block list's denies in front of a rule are one run). When `wins` is `None` these rules
    /// together cover the whole rule.
    pub covered_by: IntervalSet<u32>,
    /// Of the rules in `covered_by`, the first of each verdict, with a packet of this rule it
    /// decides; in rule order.
    pub first_covering: Box<[(usize, Packet)]>,
    /// Whether the rule decides a packet differently from what would decide it without the rule:
    /// `false` for a rule whose removal would change no verdict.
    pub needed: bool,
    /// For a rule whose removal changes nothing: the later rule (or `None` for the chain default)
    /// that would decide its packets instead.
    pub fallback: Option<Option<usize>>,
}

impl RuleCoverage {
    /// Rules in `covered_by` whose verdict differs from `verdict`.
    pub fn covering_with_other_verdict<'a>(
        &'a self,
        chain: &'a Chain,
        verdict: Verdict,
    ) -> impl Iterator<Item = usize> + 'a {
        self.covering()
            .filter(move |&i| chain.rules[i].verdict != verdict)
    }

    /// The rules in `covered_by`, in rule order.
    pub fn covering(&self) -> impl Iterator<Item = usize> + '_ {
        self.covered_by
            .ranges()
            .iter()
            .flat_map(|&(lo, hi)| lo as usize..=hi as usize)
    }

    /// How many rules `covered_by` holds.
    pub fn covering_count(&self) -> usize {
        self.covered_by.count() as usize
    }

    /// The first rule in `covered_by` whose verdict differs from `verdict`, with a packet of this
    /// rule it decides.
    pub fn first_covering_with_other_verdict(
        &self,
        chain: &Chain,
        verdict: Verdict,
    ) -> Option<(usize, &Packet)> {
        self.first_covering
            .iter()
            .find(|(i, _)| chain.rules[*i].verdict != verdict)
            .map(|(i, p)| (*i, p))
    }

    /// Adds what one address family's analysis found covering this rule: `owners` in rule order,
    /// and the first of each verdict with its packet. Where both families found the same rule,
    /// the packet found first stays.
    fn add_covering(
        &mut self,
        chain: &Chain,
        owners: IntervalSet<u32>,
        firsts: Vec<(usize, Packet)>,
    ) {
        if self.covered_by.is_empty() {
            self.covered_by = owners;
        } else {
            self.covered_by = self.covered_by.union(&owners);
        }
        let mut all = std::mem::take(&mut self.first_covering).into_vec();
        all.extend(firsts);
        // Stable: of two entries for one rule, the one found first stays.
        all.sort_by_key(|(i, _)| *i);
        all.dedup_by_key(|(i, _)| *i);
        let mut seen: Vec<Verdict> = Vec::new();
        all.retain(|(i, _)| {
            let verdict = chain.rules[*i].verdict;
            let first = !seen.contains(&verdict);
            if first {
                seen.push(verdict);
            }
            first
        });
        // One entry per verdict at most, usually one, and nothing more is added: no spare room
        // (a vector grown by `push` keeps room for four packets, 280 MB over a million covered
        // rules).
        self.first_covering = all.into_boxed_slice();
    }
}

impl RuleCoverage {
    /// Records what would decide a packet this rule decides if the rule were removed: `next`
    /// (a later rule, or `None` for the chain's default) with its verdict.
    fn succeeded_by(&mut self, own: Verdict, next: Owner, next_verdict: Verdict) {
        if next_verdict != own {
            self.needed = true;
        } else if self.fallback.is_none() {
            self.fallback = Some(next);
        }
    }
}

/// The coverage of every rule of a chain, indexed like `chain.rules`.
#[derive(Debug, Clone)]
pub struct Coverage {
    pub rules: Vec<RuleCoverage>,
}

/// Below this many rule visits (rules summed over cells) a family's cells are swept on one
/// thread: the second would cost more than it saves.
const PARALLEL_WORK: usize = 50_000;

impl Coverage {
    /// Adds what was found in later cells: where both found something, the earlier finding
    /// stays.
    fn append(&mut self, chain: &Chain, later: Coverage) {
        for (rule, found) in self.rules.iter_mut().zip(later.rules) {
            rule.matches_anything |= found.matches_anything;
            if !found.covered_by.is_empty() {
                rule.add_covering(chain, found.covered_by, found.first_covering.into_vec());
            }
            if rule.wins.is_none() {
                rule.wins = found.wins;
            }
            rule.needed |= found.needed;
            if rule.fallback.is_none() {
                rule.fallback = found.fallback;
            }
        }
    }
}

/// How much an analysis finds out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Detail {
    /// Everything in [`RuleCoverage`].
    Full,
    /// Only `matches_anything` and `wins`.
    Wins,
}

/// Who decides a port range: a rule, or the chain default.
type Owner = Option<usize>;

/// What one analysis shares between the address families.
#[derive(Clone, Copy)]
struct Job {
    parallel_work: usize,
    /// Whether cells alike are swept once (see [`replay`]); without, each cell is swept.
    alike: bool,
    detail: Detail,
}

impl Chain {
    /// Analyses the chain. Rules that did not resolve are left out (they match nothing here).
    pub fn coverage(&self) -> Coverage {
        self.coverage_with(PARALLEL_WORK, true, Detail::Full)
    }

    /// Only which rules match anything and which win a packet ([`RuleCoverage::matches_anything`]
    /// and [`RuleCoverage::wins`]; the other fields stay empty), for analyses that ask nothing
    /// else. Much cheaper than [`Chain::coverage`] on chains where rules overlap a lot.
    pub fn winners(&self) -> Coverage {
        self.coverage_with(PARALLEL_WORK, true, Detail::Wins)
    }

    /// The analysis, on two threads when the chain needs at least `parallel_work` rule visits,
    /// sweeping cells alike once when `alike`.
    fn coverage_with(&self, parallel_work: usize, alike: bool, detail: Detail) -> Coverage {
        let mut result = Coverage {
            rules: vec![RuleCoverage::default(); self.rules.len()],
        };
        let job = Job {
            parallel_work,
            alike,
            detail,
        };
        let v4 = |result: &mut Coverage| {
            self.coverage_family(
                result,
                &job,
                Family::V4,
                |set| &set.v4,
                |a: u32| IpAddr::V4(Ipv4Addr::from(a)),
            );
        };
        let v6 = |result: &mut Coverage| {
            self.coverage_family(
                result,
                &job,
                Family::V6,
                |set| &set.v6,
                |a: u128| IpAddr::V6(Ipv6Addr::from(a)),
            );
        };
        v4(&mut result);
        v6(&mut result);
        result
    }

    /// The analysis of one address family, added to `result`: its cells, swept (on two threads
    /// for a large family), then the coverings found in them attached to the rules.
    fn coverage_family<T: Point + std::hash::Hash + Sync>(
        &self,
        result: &mut Coverage,
        job: &Job,
        family: Family,
        part: fn(&AddrSet) -> &IntervalSet<T>,
        addr: impl Fn(T) -> IpAddr + Sync,
    ) {
        let Job {
            parallel_work,
            alike,
            detail,
        } = *job;
        let pieces = &Pieces::of(self, family);
        let active = active_rules(self, family, part);
        if active.is_empty() {
            return;
        }
        for &i in &active {
            result.rules[i].matches_anything = true;
        }
        let cells = &Cells::of(self, &active, part, alike);
        let packet_in =
            |cell: &cells::Cell, slot: usize, port: u32| cells.packet(cell, slot, port, &addr);
        let sweep = FamilySweep::new(self, cells, pieces, detail, alike, &packet_in);
        let attach = |result: &mut Coverage, coverings: Found| {
            attach_coverings(self, result, coverings, |c| {
                packet_in(&cells.list[c.cell as usize], usize::from(c.slot), c.port)
            });
        };
        // Batches of cells are independent. On large chains they are analysed on two threads,
        // each over a contiguous run of batches, and the results merged in order: exactly what
        // one thread would find.
        let batches = sweep.work();
        let work: usize = batches.iter().sum();
        if work < parallel_work || batches.len() < 2 {
            let coverings = sweep.analyse(0..batches.len(), result);
            attach(
                result,
                Found {
                    first: &coverings,
                    second: &Swept::default(),
                },
            );
            return;
        }
        let split = halfway(batches, work);
        let mut later = Coverage {
            rules: vec![RuleCoverage::default(); self.rules.len()],
        };
        let (coverings, later_coverings) = crate::parallel::join(
            || sweep.analyse(0..split, result),
            || sweep.analyse(split..batches.len(), &mut later),
        );
        result.append(self, later);
        let found = Found {
            first: &coverings,
            second: &later_coverings,
        };
        attach(result, found);
    }
}

/// Where to split batches (at least two) of `each` rule visits into two runs for two threads:
/// after the first batch by which half of the `work` is done, leaving at least one to each.
fn halfway(each: &[usize], work: usize) -> usize {
    let mut done = 0;
    each.iter()
        .position(|&w| {
            done += w;
            done * 2 >= work
        })
        .map_or(1, |i| i + 1)
        .clamp(1, each.len() - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two analyses of one chain found the same for every rule.
    fn assert_same(a: &Coverage, b: &Coverage) {
        assert_eq!(a.rules.len(), b.rules.len());
        for (a, b) in a.rules.iter().zip(&b.rules) {
            assert_eq!(a.wins, b.wins);
            assert_eq!(a.covered_by, b.covered_by);
            assert_eq!(a.first_covering, b.first_covering);
            assert_eq!(a.needed, b.needed);
            assert_eq!(a.fallback, b.fallback);
        }
    }

    #[test]
    fn two_threads_find_what_one_finds() {
        let mut text = String::from(
            "net a = 10.1.0.0/16, 2001:db8:1::/48\nnet b = 10.2.0.0/16\ninput drop {\n",
        );
        for i in 0..400u32 {
            let verdict = ["allow", "deny", "reject"][(i % 3) as usize];
            let from = ["", " from a", " from b", " from 10.1.5.0/24"][(i % 4) as usize];
            let lo = 1000 + (i * 37) % 900;
            text.push_str(&format!("  {verdict} tcp/{lo}-{}{from}\n", lo + i % 50));
        }
        text.push_str("}\n");
        let checked = crate::pipeline::check_text("big.pcl", &text);
        let chain = &checked.policy.hosts[0].chains[0];
        let one = chain.coverage_with(usize::MAX, true, Detail::Full);
        let two = chain.coverage_with(0, true, Detail::Full);
        assert_same(&one, &two);
    }

    /// What the analysis finds, without the examples it picks (which cell a packet comes from
    /// depends on the order cells are swept in).
    fn assert_same_findings(a: &Coverage, b: &Coverage, text: &str) {
        for (r, (a, b)) in a.rules.iter().zip(&b.rules).enumerate() {
            assert_eq!(a.matches_anything, b.matches_anything, "rule {r}\n{text}");
            assert_eq!(a.wins.is_some(), b.wins.is_some(), "rule {r}\n{text}");
            assert_eq!(a.covered_by, b.covered_by, "rule {r}\n{text}");
            let firsts =
                |c: &RuleCoverage| c.first_covering.iter().map(|f| f.0).collect::<Vec<_>>();
            assert_eq!(firsts(a), firsts(b), "rule {r}\n{text}");
            assert_eq!(a.needed, b.needed, "rule {r}\n{text}");
            // A fallback means something only for a rule whose removal changes nothing.
            let fallback = |c: &RuleCoverage| !c.needed && c.fallback.is_some();
            assert_eq!(fallback(a), fallback(b), "rule {r}\n{text}");
        }
    }

    fn block_list_rule() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let sources = prop::sample::select(
            &[
                "10.0.0.1",
                "10.0.0.2",
                "10.0.0.3",
                "10.0.0.9",
                "10.1.0.1",
                "fd00::1",
                "fd00::2",
                "10.0.0.0/24",
                "10.0.0.0/29",
                "fd00::/64",
                "",
                "10.0.0.1, 10.0.0.2",
            ][..],
        );
        let services = prop::sample::select(
            &[
                "",
                "tcp/22",
                "tcp/80-90",
                "udp/53",
                "tcp/85, udp/53",
                "icmp",
                "tcp",
            ][..],
        );
        let verdicts = prop::sample::select(&["allow", "deny", "reject"][..]);
        let extras =
            prop::sample::select(&["", "", "", " limit 5/second", " on lo", " on eth0"][..]);
        (verdicts, services, sources, extras).prop_map(|(v, s, from, extra)| {
            let from = if from.is_empty() {
                String::new()
            } else {
                format!(" from {from}")
            };
            let s = if s.is_empty() && from.is_empty() {
                "tcp/1"
            } else {
                s
            };
            format!("  {v} {s}{from}{extra}")
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 200, ..Default::default() })]

        /// Block lists of single addresses in front of rules from nets: cells alike swept once
        /// find what sweeping every cell finds.
        #[test]
        fn batches_find_what_every_cell_finds(
            rules in proptest::collection::vec(block_list_rule(), 1..24),
            default in proptest::sample::select(&["accept", "drop"][..]),
        ) {
            let text = format!("input {default} {{\n{}\n}}\n", rules.join("\n"));
            let checked = crate::pipeline::check_text("block.pcl", &text);
            let chain = &checked.policy.hosts[0].chains[0];
            for detail in [Detail::Full, Detail::Wins] {
                let every = chain.coverage_with(usize::MAX, false, detail);
                let batched = chain.coverage_with(usize::MAX, true, detail);
                assert_same_findings(&every, &batched, &text);
                let two = chain.coverage_with(0, true, detail);
                assert_same_findings(&every, &two, &text);
            }
        }
    }

    /// A per-client allow list: one small cell per client, and few distinct ones among them.
    #[test]
    fn replayed_cells_find_what_swept_cells_find() {
        let mut text = String::from("input drop {\n");
        for i in 0..300u32 {
            let service =
                ["ssh", "tcp/8000-8100, udp/53", "https", "tcp/22, tcp/80"][(i % 4) as usize];
            let verdict = ["allow", "allow", "deny", "reject"][(i % 7 % 4) as usize];
            let limit = if i % 5 == 0 { " limit 10/second" } else { "" };
            let from = if i % 2 == 0 {
                format!("10.0.{}.{}", i / 250, i % 250)
            } else {
                format!("2001:db8::{i:x}")
            };
            text.push_str(&format!("  {verdict} {service} from {from}{limit}\n"));
        }
        text.push_str(
            "  allow tcp/80, tcp/443\n  deny tcp/20-30 limit 5/minute\n  reject tcp\n}\n",
        );
        let checked = crate::pipeline::check_text("clients.pcl", &text);
        let chain = &checked.policy.hosts[0].chains[0];
        for detail in [Detail::Full, Detail::Wins] {
            let swept = chain.coverage_with(usize::MAX, false, detail);
            let replayed = chain.coverage_with(usize::MAX, true, detail);
            assert_same_findings(&swept, &replayed, &text);
        }
    }
}
