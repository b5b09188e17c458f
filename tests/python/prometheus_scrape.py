#!/usr/bin/env python3
"""Scrapes a Prometheus text endpoint and parses it with prometheus-client's
own parser (the reference reader of the format). Driven by
tests/tests/observability.rs.

    prometheus_scrape.py URL

Prints one JSON object: {"families": {name: type}, "samples": [[name,
labels, value], ...]}; exits non-zero if the text does not parse.
"""

import json
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def main():
    with urllib.request.urlopen(sys.argv[1], timeout=10) as response:
        content_type = response.headers.get("Content-Type", "")
        text = response.read().decode("utf-8")
    families = {}
    samples = []
    for family in text_string_to_metric_families(text):
        families[family.name] = family.type
        for sample in family.samples:
            samples.append([sample.name, sample.labels, sample.value])
    print(json.dumps({"content_type": content_type, "families": families, "samples": samples}))


if __name__ == "__main__":
    main()
