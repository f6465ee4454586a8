"""The embedded sandbox: a real local control plane with simulated (kwok) nodes, real Prometheus and
the reference platform (docs/sandbox.md).

- `lifecycle`: its lifecycle (`up`, `down`, `status`, `running_sandbox_for`, `SandboxInfo`);
- `toolchain`: the Kubernetes binaries built from Go modules and cached;
- `kwokctl_driver`, `local_processes`, `node_pools`, `prometheus_setup`: the pieces `lifecycle` starts;
- `platform_deploy`: the reference platform applied to it (`validator sandbox deploy`);
- `usage`: the simulated pods' annotation contract (simulated CPU and memory, OOM, completion),
  shared with the `sandbox` fault mechanism and the write gate;
- `simulated_platform`: a stand-in for the user's agent platform (its own process).
"""

__all__ = [
    "kwokctl_driver",
    "lifecycle",
    "local_processes",
    "node_pools",
    "platform_deploy",
    "prometheus_setup",
    "simulated_platform",
    "toolchain",
    "usage",
]
