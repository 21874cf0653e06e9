"""Check locations: remote probers that claim their checks over HTTPS, and the quorum across them."""
