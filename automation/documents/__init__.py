"""Automation documents: parsing (YAML/JSON), the one validator, and writing them back out."""
