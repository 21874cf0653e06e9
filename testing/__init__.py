"""Test support: process fixtures, local receivers, browser helpers and the pytest plugin; production never imports it."""
