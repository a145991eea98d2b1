"""One module per backend; each only moves trials and results (the core decides statuses)."""
