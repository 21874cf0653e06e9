"""The automation engine: Stage 1 and 2 routing, runs, the step walker and its crash safety."""
