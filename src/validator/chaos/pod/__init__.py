"""Pod faults: eviction (budgets honoured), and the explicitly named deletions."""
