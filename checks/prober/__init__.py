"""The remote prober: a loop that talks to Checkstack over HTTP(S) only (no database, no broker)."""
