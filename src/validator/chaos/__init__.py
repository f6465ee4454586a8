"""Our Chaos Toolkit extension: safe faults for the agent platform.

Module paths for experiments (every write goes through `validator.safety.mutator`):

- `validator.chaos.node.actions`: `drain_nodes`, `uncordon_nodes`, `fail_nodes`, `restore_nodes`
- `validator.chaos.node.probes`: `nodes_schedulable`
- `validator.chaos.pod.actions`: `evict_pods`, `delete_pods`, `kill_controllers`
- `validator.chaos.pod.probes`: `pods_ready`
- `validator.chaos.memory.actions`: `apply_memory_pressure`, `remove_memory_pressure`
- `validator.chaos.memory.probes`: `no_memory_pressure`
- `validator.chaos.probes`: `pdb_disruptions_allowed`, `hpa_replicas`, `hpa_settled`,
  `deployments_available`, `prometheus_query_below`
- `validator.chaos.controls`: the control writing chaos/faults.jsonl and guarding rollbacks
- `validator.chaos.runner`: `run_experiment`, one experiment in-process with rollbacks always
- `validator.chaos.plan`: `plan_experiment`, the writes an experiment would make (nothing written)
- `validator.chaos.mechanisms`: which fault mechanism works where (`sandbox` only on the sandbox)
"""

__all__ = ["controls", "mechanisms", "plan", "probes", "runner", "targets"]
