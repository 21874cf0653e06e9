"""Read-only looks at the engine: simulate, why (not) fired, backtest, and the replay of the time gates they share."""
