"""Results beyond the local history, for teams that outgrow one machine (optional, off by default):
Prometheus series pushed to a Pushgateway (`series` pure, `pushgateway` the push) and OpenSearch
documents like kube-burner's (`documents` pure, `opensearch` the indexing); `targets` holds where
they go and the one call the commands make (docs/export.md)."""

from validator.export.targets import ExportTargets, export_results, resolve_targets

__all__ = ["ExportTargets", "export_results", "resolve_targets"]
