"""Reactive entities: one mutation service, field transitions, change events and their routing."""
