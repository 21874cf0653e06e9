"""Test support: process fixtures, local receivers, browser helpers, the pytest plugin; production never imports it."""
