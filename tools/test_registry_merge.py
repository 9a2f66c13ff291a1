#!/usr/bin/env python3
"""Unit tests of the merge rules on small made-up inputs: `python3 tools/test_registry_merge.py`.

The real data exercises most rules, but not all (no name in it is long enough to have been cut
by Wireshark), so each rule is pinned here.
"""

import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import registry_merge as m  # noqa: E402


# Removed when the interpreter exits.
_SCRATCH = tempfile.TemporaryDirectory()


def services_file(text):
    f = tempfile.NamedTemporaryFile("w", suffix=".services", dir=_SCRATCH.name, delete=False)
    with f:
        f.write(text)
    return f.name


def merge(wireshark, port_numbers, netbase=""):
    stats = {"deassigned_names_dropped": 0, "truncated_names_restored": 0, "conflicting_aliases_skipped": 0}
    ws_rows = m.parse_services(services_file(wireshark), "wireshark")
    nb_rows = m.parse_services(services_file(netbase), "netbase")
    merged = m.merge(ws_rows, port_numbers, nb_rows, stats)
    return m.render_body(*merged).splitlines(), stats


class MergeRules(unittest.TestCase):
    def test_ranges_and_merged_protocols_are_kept(self):
        lines, _ = merge("x11\t6000-6063/tcp/udp\t# X Window System\n", {})
        self.assertEqual(lines, ["S\tx11\ttcp\t6000\t6063\tX Window System", "S\tx11\tudp\t6000\t6063\tX Window System"])

    def test_first_and_last_names_are_both_kept(self):
        lines, _ = merge("http\t80/tcp\t# World Wide Web HTTP\n", {"80/tcp": ["www-http", "World Wide Web HTTP"]})
        self.assertEqual(lines, ["S\thttp\ttcp\t80\t80\tWorld Wide Web HTTP", "S\twww-http\ttcp\t80\t80\tWorld Wide Web HTTP"])

    def test_truncated_name_is_restored(self):
        lines, stats = merge("averylongservic\t4000/tcp\n", {"4000/tcp": ["averylongservicename", "Long"]})
        self.assertEqual(lines, ["S\taverylongservicename\ttcp\t4000\t4000\tLong"])
        self.assertEqual(stats["truncated_names_restored"], 1)

    def test_deassigned_port_loses_its_old_name(self):
        lines, stats = merge(
            "compressnet\t2/tcp\t# Management Utility\n",
            {"2/tcp": ["", "Reserved"], "4/tcp": ["", "Unassigned"], "5/tcp": ["", "Unassigned"], "24/tcp": ["", "any private mail system"]},
        )
        self.assertEqual(
            lines,
            ["R\ttcp\t2\t2\tReserved", "R\ttcp\t4\t5\tUnassigned", "R\ttcp\t24\t24\tReserved\tany private mail system"],
        )
        self.assertEqual(stats["deassigned_names_dropped"], 1)

    def test_same_name_in_both_sources_is_one_entry_with_the_newer_description(self):
        lines, _ = merge("SSH\t22/tcp\n", {"22/tcp": ["ssh", "The Secure Shell (SSH) Protocol"]})
        self.assertEqual(lines, ["S\tssh\ttcp\t22\t22\tThe Secure Shell (SSH) Protocol"])

    def test_netbase_in_use_aliases_and_local_names(self):
        lines, _ = merge(
            "http\t80/tcp/udp\nssh\t22/tcp/udp\n",
            {},
            "ssh\t22/tcp\nhttp\t80/tcp\t\twww\t# WorldWideWeb HTTP\nwebmin\t10000/tcp\nrtmp\t1/ddp\n",
        )
        self.assertIn("U\tssh\ttcp", lines)
        self.assertIn("U\thttp\ttcp", lines)
        self.assertIn("A\twww\thttp", lines)
        self.assertIn("L\twebmin\ttcp\t10000\t10000", lines)
        self.assertIn("U\twebmin\ttcp", lines)
        self.assertFalse(any("rtmp" in line for line in lines))

    def test_alias_that_is_a_registry_name_stays_a_name(self):
        lines, _ = merge("auth\t113/tcp\nident\t114/tcp\n", {}, "auth\t113/tcp\t\ttap ident\n")
        self.assertIn("A\ttap\tauth", lines)
        self.assertFalse(any(line.startswith("A\tident") for line in lines))


if __name__ == "__main__":
    unittest.main()
