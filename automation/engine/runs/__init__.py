"""Runs: claim under a lease (leases, claims), walk the steps (runner, walker, steps/), wake and recover."""
