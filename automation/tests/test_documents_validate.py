"""The one validator: every rule of docs/automations.md gives its {path, message}."""

import pytest

from automation.documents.io import dump_json, dump_yaml, parse_document
from automation.documents.validate import validate_document
from automation.expressions.secret_use import NOT_HERE


def base(**overrides):
    document = {"name": "n", "triggers": [{"event": "automation.manual"}],
                "actions": [{"action": "test.note", "config": {"text": "x"}}]}
    document.update(overrides)
    return document


def errors_of(document, **kwargs):
    result = validate_document(document, **kwargs)
    assert result.document is None
    return result.errors


def test_a_valid_document_is_normalized_with_defaults(journal):
    result = validate_document(base())
    assert result.errors == []
    assert result.document["triggers"] == [{"event": "automation.manual", "id": "automation_manual"}]
    assert {k: result.document[k] for k in ("enabled", "mode", "concurrency_scope", "max_runs", "conditions")} == {
        "enabled": True, "mode": "single", "concurrency_scope": "automation", "max_runs": 10, "conditions": []}


@pytest.mark.parametrize("text, message", [
    ("name: [unclosed", "malformed YAML"),
    ('{"name": ', "malformed JSON"),
    ("- a list", "a document must be a mapping of fields"),
    ("a: &x 1\nb: *x", "YAML aliases are not allowed"),
])
def test_malformed_text(journal, text, message):
    [error] = errors_of(text)
    assert error["path"] == "" and message in error["message"]


def test_unknown_keys_anywhere(journal):
    document = base(colour="red")
    document["triggers"][0]["when"] = "x"
    document["actions"][0]["retry"] = 3
    assert errors_of(document) == [
        {"path": "colour", "message": "unknown key"},
        {"path": "triggers.0.when", "message": "unknown key"},
        {"path": "actions.0.retry", "message": "unknown key"},
    ]


def test_unknown_trigger_event_and_action(journal):
    assert errors_of(base(triggers=[{"event": "nope.event"}], actions=[{"action": "nope.act"}])) == [
        {"path": "triggers.0.event", "message": "unknown trigger event 'nope.event'"},
        {"path": "actions.0.action", "message": "unknown action 'nope.act'"},
    ]


def test_action_config_against_its_schema_with_templates_left_for_run_time(journal):
    assert errors_of(base(actions=[{"action": "test.note", "config": {"text": 5, "bogus": 1}}])) == [
        {"path": "actions.0.config.text", "message": "Input should be a valid string"},
        {"path": "actions.0.config.bogus", "message": "unknown key"},
    ]
    templated = base(actions=[{"action": "test.note", "config": {"text": "x", "fail": "{{ trigger.payload.f }}"}}])
    assert validate_document(templated).errors == []


def test_trigger_config_against_its_schema(journal):
    assert errors_of(base(triggers=[{"event": "automation.cron", "config": {"cron": "every day"}}])) == [
        {"path": "triggers.0.config.cron", "message": "Value error, must be a valid 5-field cron expression"},
    ]


@pytest.mark.parametrize("duration, path, message", [
    ({"minutes": 0}, "triggers.0.for.minutes", "must be a positive whole number"),
    ({"hours": 721}, "triggers.0.for.hours", "must be at most 30 days"),
    ({"days": 1}, "triggers.0.for.days", "unknown key"),
    ({"seconds": 1, "minutes": 1}, "triggers.0.for",
     "a duration is one of {seconds}, {minutes}, {hours} or {template}"),
])
def test_bad_durations(journal, duration, path, message):
    assert errors_of(base(triggers=[{"event": "automation.manual", "for": duration}])) == [
        {"path": path, "message": message}]


def test_expressions_that_do_not_parse_and_templates_that_do_not(journal):
    document = base(triggers=[{"event": "automation.manual", "filter": "trigger.payload. =="}],
                    actions=[{"action": "test.note", "config": {"text": "{{ unclosed"}}])
    paths = [(e["path"], e["message"].split(":")[0]) for e in errors_of(document)]
    assert paths == [("triggers.0.filter", "expression does not parse"),
                     ("actions.0.config.text", "template does not parse")]


def test_braces_in_an_expression_field_are_rejected(journal):
    assert errors_of(base(conditions=["{{ trigger.payload.x }}"])) == [
        {"path": "conditions.0", "message": "expressions are written bare, without {{ }}"}]


def test_artifact_reference_needs_an_earlier_producer(journal):
    later = {"id": "make", "action": "test.make_thing", "config": {}}
    use = {"action": "test.note", "config": {"text": "{{ artifacts.make.thing.thing_id }}"}}
    assert errors_of(base(actions=[use, later])) == [
        {"path": "actions.0.config.text", "message": "artifacts.make.thing: no earlier step 'make' produces 'thing'"}]
    assert validate_document(base(actions=[later, use])).errors == []


def test_a_producing_step_needs_an_id(journal):
    assert errors_of(base(actions=[{"action": "test.make_thing", "config": {}}])) == [
        {"path": "actions.0.id", "message": "a step that produces an artifact (thing) needs an id"}]


def test_unknown_secrets_and_secrets_outside_configs(journal):
    document = base(actions=[{"action": "test.note", "config": {"text": "{{ secret('MISSING') }}"}},
                             {"variables": {"v": "{{ secret('TOKEN') }}"}}])
    assert errors_of(document, known_secrets={"TOKEN"}) == [
        {"path": "actions.0.config.text", "message": "unknown secret 'MISSING'"},
        {"path": "actions.1.variables.v", "message": NOT_HERE},
    ]


def test_every_error_is_reported_not_only_the_first(journal):
    document = {"name": "", "mode": "sometimes", "max_runs": 0, "triggers": [], "actions": [{"nothing": 1}]}
    assert [e["path"] for e in errors_of(document)] == ["name", "mode", "max_runs", "triggers", "actions.0"]


def test_duplicate_ids_and_bad_step_ids(journal):
    document = base(triggers=[{"event": "automation.manual"}, {"event": "automation.manual"}],
                    actions=[{"id": "a", "action": "test.note"}, {"id": "a", "action": "test.note"},
                             {"id": "1bad", "action": "test.note"}])
    assert errors_of(document) == [
        {"path": "triggers.1.id", "message": "duplicate trigger id 'automation_manual'"},
        {"path": "actions.1.id", "message": "duplicate step id 'a'"},
        {"path": "actions.2.id", "message": "must match ^[a-zA-Z_][a-zA-Z0-9_]*$"},
    ]


def test_too_deep_a_document_is_refused(journal):
    nested = {"action": "test.note"}
    for _ in range(25):
        nested = {"sequence": [nested]}
    assert errors_of(base(actions=[nested]))[0]["message"].startswith("document nests deeper than")


def test_yaml_and_json_round_trip_to_the_same_document(journal):
    document = validate_document(base(description="d", conditions=[{"or": ["true", {"not": "false"}]}])).document
    assert parse_document(dump_yaml(document)) == document
    assert parse_document(dump_json(document)) == document
    assert validate_document(dump_yaml(document)).document == document


def test_a_two_hundred_step_document_validates(journal):
    steps = [{"id": f"s{i}", "action": "test.make_thing", "config": {"text": f"{{{{ trigger.payload.n }}}}-{i}"}}
             for i in range(200)]
    assert validate_document(base(actions=steps)).errors == []


def test_a_document_with_more_steps_than_the_cap_is_refused_before_any_step_is_checked():
    # 501 steps, nested ones counted, each with an expression that would be an error of its own
    step = {"condition": "{{ not an expression }}"}
    document = {"name": "padded", "triggers": [{"event": "automation.manual"}],
                "actions": [{"sequence": [step] * 250}, {"sequence": [step] * 249}]}

    result = validate_document(document)

    assert result.errors == [{"path": "actions", "message": "at most 500 steps, nested ones included (501 given)"}]


def test_a_document_at_the_step_cap_is_validated_step_by_step():
    document = {"name": "long", "triggers": [{"event": "automation.manual"}],
                "actions": [{"sequence": [{"condition": "true"}] * 499}]}

    assert validate_document(document).errors == []
    document["actions"][0]["sequence"][0] = {"condition": "{{ true }}"}
    assert [e["path"] for e in validate_document(document).errors] == ["actions.0.sequence.0.condition"]


def test_a_document_with_more_triggers_than_the_cap_is_refused():
    document = {"name": "many", "triggers": [{"event": "automation.manual", "id": f"t{i}"} for i in range(101)],
                "actions": [{"condition": "true"}]}

    assert validate_document(document).errors == [{"path": "triggers", "message": "at most 100 triggers (101 given)"}]
