"""A STAND-IN for the user's real agent platform, for the sandbox only. Kept deliberately small.

It plays the part of the real workflow system so that load, autoscaling and chaos have something
to act on in the kwok sandbox:

- a workflow submission API on 127.0.0.1 (`submission_api`): POST /workflows -> 202 + id, 429 when
  the queue is full, 503 while shutting down; GET /workflows/<id>; GET /healthz; GET /metrics
  (Prometheus text format: `workflow_queue_depth` and related series, `exposition`);
- a queue (`workflow_book`) drained at a rate set by the READY replicas of the controller
  Deployment (label app.kubernetes.io/component=controller), so the real HPA's decisions matter;
- each workflow becomes agent pods, one stage after the other: Rex or Blaze, then Cleo, then Tess,
  with the brief's requests/limits, on their node pools, completing after the stage's duration
  (`sim.validator.io/complete-after`), their simulated usage following the profile with noise
  (`agent_pods`);
- the controller pods' simulated CPU follows the queue depth, so the HPA scales on CPU too
  (`cluster_driver`).

Entry point: `python -m validator.sandbox.simulated_platform --kubeconfig F --context C
--namespace agents --port P [--time-factor X]`. Everything it creates carries the label
`app.kubernetes.io/managed-by=validator-simulated-platform`; it deletes only its own finished pods.
"""
