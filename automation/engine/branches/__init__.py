"""The branches of a `parallel` step: fork, claim, fence, end, join (forks), and walking one (runner)."""
