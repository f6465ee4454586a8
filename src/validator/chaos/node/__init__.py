"""Node faults: PDB-aware drain, and NotReady."""
