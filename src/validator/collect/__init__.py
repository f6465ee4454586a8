"""Collecting a run's evidence as it happens, into the run directory (validator.run_directory):

- `validator.collect.recorder`: `KubernetesRecorder`, the watches of every kind the criteria read,
  written to evidence/k8s.jsonl with gaps and relists recorded;
- `validator.collect.prometheus`: `collect_metrics` and `PrometheusCollector`, the criteria's range
  queries over the window, written to evidence/metrics.json.
"""

__all__ = ["prometheus", "recorder"]
