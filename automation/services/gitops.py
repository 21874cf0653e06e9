"""GitOps: sync automation documents from YAML files, all validated before any is applied."""

from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.text import slugify

from ..documents.io import dump_yaml
from ..documents.validate import validate_document
from ..entities.actor import user_actor
from ..models import Automation
from ..secrets import secret_names
from .automation_save import DocumentInvalid, automation_check, automation_save
from .automations import automation_delete

MANAGED_BY = "gitops"
DELETE_PERMISSION = "automation.delete_automation"


@dataclass
class Plan:
    create: list[str] = field(default_factory=list)
    update: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def changes(self) -> int:
        return len(self.create) + len(self.update) + len(self.delete)


def document_files(paths: list[str]) -> list[Path]:
    files = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml", ".json")))
        else:
            files.append(path)
    return files


def load_documents(paths: list[str]) -> tuple[dict[str, tuple[Path, dict]], list[str]]:
    """Validate every file; returns ({name: (file, document)}, ["file:path: message", ...])."""
    documents, problems = {}, []
    known = secret_names()
    for path in document_files(paths):
        try:
            text = path.read_bytes()
        except OSError as exc:
            problems.append(f"{path}:: cannot read: {exc.strerror}")
            continue
        result = validate_document(text, known_secrets=known)
        for error in result.errors:
            problems.append(f"{path}:{error['path']}: {error['message']}")
        if result.document is None:
            continue
        name = result.document["name"]
        if name in documents:
            problems.append(f"{path}:name: {name!r} is also defined in {documents[name][0]}")
            continue
        documents[name] = (path, result.document)
    return documents, problems


def plan_sync(documents: dict[str, tuple[Path, dict]], *, editor) -> tuple[Plan, list[str]]:
    plan, problems = Plan(), []
    existing = {a.name: a for a in Automation.objects.all()}
    for name, (path, document) in sorted(documents.items()):
        current = existing.get(name)
        try:
            automation_check(document=document, editor=editor, run_as=editor, automation=current)
        except DocumentInvalid as exc:
            problems.extend(f"{path}:{error['path']}: {error['message']}" for error in exc.errors)
            continue
        except PermissionDenied as exc:
            problems.append(f"{path}:: {exc}")
            continue
        if current is None:
            plan.create.append(name)
        elif current.managed_by != MANAGED_BY:
            problems.append(f"{path}:name: {name!r} exists and was made in the admin; GitOps never touches it")
        elif current.document == document:
            plan.unchanged.append(name)
        else:
            plan.update.append(name)
    plan.delete = sorted(n for n, a in existing.items() if a.managed_by == MANAGED_BY and n not in documents)
    if plan.delete and not editor.has_perm(DELETE_PERMISSION):
        problems.extend(f"{name}: removing it needs {DELETE_PERMISSION}, which {editor.get_username()} lacks"
                        for name in plan.delete)
    return plan, problems


@transaction.atomic
def apply_sync(documents: dict[str, tuple[Path, dict]], plan: Plan, *, editor) -> None:
    """Apply the plan as `editor` (also the run_as of what it writes): all of it, or, on any error, none."""
    for name in plan.create:
        automation_save(document=documents[name][1], editor=editor, run_as=editor, managed_by=MANAGED_BY)
    for name in plan.update:
        automation_save(document=documents[name][1], editor=editor, automation=Automation.objects.get(name=name),
                        run_as=editor)
    if plan.delete and not editor.has_perm(DELETE_PERMISSION):  # checked again: the plan may be stale
        raise PermissionDenied(f"permission denied: {DELETE_PERMISSION}")
    for name in plan.delete:
        automation_delete(automation=Automation.objects.get(name=name), actor=user_actor(editor))


def export_all(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for automation in Automation.objects.order_by("name"):
        path = directory / f"{slugify(automation.name) or automation.pk}.yaml"
        path.write_text(dump_yaml(automation.document))
        written.append(path)
    return written
