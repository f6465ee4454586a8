"""The export options `run`, `check` and `evaluate` share: where a run's results go beyond the local
history (a Pushgateway, an OpenSearch index; docs/export.md). Off unless a URL is given."""

from __future__ import annotations

import argparse

from validator.export import ExportTargets, resolve_targets
from validator.export.documents import DEFAULT_INDEX
from validator.export.targets import OPENSEARCH_ENV, OPENSEARCH_INDEX_ENV, PUSHGATEWAY_ENV


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pushgateway",
        metavar="URL",
        default=None,
        help=f"push the results as Prometheus series to this Pushgateway (default: ${PUSHGATEWAY_ENV}; "
        "basic auth from $VALIDATOR_PUSHGATEWAY_USER / $VALIDATOR_PUSHGATEWAY_PASSWORD); "
        "a failed push is a warning, never the verdict",
    )
    parser.add_argument(
        "--opensearch",
        metavar="URL",
        default=None,
        help=f"index the results into OpenSearch (default: ${OPENSEARCH_ENV}; basic auth from "
        "$VALIDATOR_OPENSEARCH_USER / $VALIDATOR_OPENSEARCH_PASSWORD); a failure is a warning",
    )
    parser.add_argument(
        "--opensearch-index",
        metavar="NAME",
        default=None,
        help=f"the OpenSearch index (default: ${OPENSEARCH_INDEX_ENV}, else {DEFAULT_INDEX})",
    )


def export_targets(args: argparse.Namespace) -> ExportTargets:
    """The command line's export targets, completed from the environment."""
    return resolve_targets(args.pushgateway, args.opensearch, args.opensearch_index)
