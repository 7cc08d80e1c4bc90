"""Pure functions behind the metrics (numpy in, numbers out)."""
