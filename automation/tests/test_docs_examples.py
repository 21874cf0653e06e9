"""Every complete automation document shown in docs/automations.md passes the validator."""

import re
from pathlib import Path

from django.conf import settings

from automation.documents.validate import validate_document

BLOCK = re.compile(r"```yaml\n(.*?)```", re.DOTALL)


def documents_in(page: str) -> list[str]:
    text = (Path(settings.BASE_DIR) / "docs" / page).read_text(encoding="utf-8")
    return [block for block in BLOCK.findall(text) if block.startswith("name:")]


def test_the_complete_examples_of_the_automation_page_are_valid():
    examples = documents_in("automations.md")
    assert len(examples) >= 3  # the check saw the page's examples
    for example in examples:
        result = validate_document(example)
        assert result.errors == [], (example.splitlines()[0], result.errors)
