"""Memory pressure: Chaos Mesh StressChaos on a real cluster, simulated usage in the sandbox."""
