"""docs/reference.md is what the registry says: regenerating it reproduces the committed file."""

import difflib

from automation.definitions import definitions
from automation.management.commands.docs_reference import reference_path
from automation.reference import render_reference

COMMAND = ".venv/bin/python manage.py docs_reference --write"


def test_the_committed_reference_is_what_the_registry_generates():
    committed = reference_path().read_text(encoding="utf-8")
    generated = render_reference()
    if committed != generated:
        diff = "".join(difflib.unified_diff(committed.splitlines(True), generated.splitlines(True),
                                            "docs/reference.md (committed)", "docs/reference.md (registry)", n=1))
        raise AssertionError(f"docs/reference.md is out of date; run `{COMMAND}` and commit it.\n{diff[:4000]}")


def test_the_reference_names_every_registered_trigger_action_and_artifact_type():
    text = render_reference()
    for table in (definitions.triggers, definitions.actions, definitions.artifact_types):
        assert table  # the registry was filled: the check below saw something
        for item_id in table:
            assert f"### `{item_id}`" in text


def test_rendering_is_deterministic_whatever_the_registration_order(monkeypatch):
    before = render_reference()
    monkeypatch.setattr(definitions, "triggers", dict(reversed(list(definitions.triggers.items()))))
    monkeypatch.setattr(definitions, "actions", dict(reversed(list(definitions.actions.items()))))
    assert render_reference() == before
