from automation.entities.diff import diff_states


def test_create_reports_every_field():
    assert diff_states(None, {"b": 1, "a": None}) == (["a", "b"], {"a": None, "b": 1})


def test_changed_fields_are_sorted_and_delta_has_next_values():
    assert diff_states({"status": "a", "severity": "x", "n": 1}, {"status": "b", "severity": "y", "n": 1}) == (
        ["severity", "status"],
        {"severity": "y", "status": "b"},
    )


def test_dict_key_order_is_ignored():
    assert diff_states({"m": {"a": 1, "b": 2}}, {"m": {"b": 2, "a": 1}}) == ([], {})


def test_list_order_is_significant():
    assert diff_states({"ids": ["a", "b"]}, {"ids": ["b", "a"]}) == (["ids"], {"ids": ["b", "a"]})


def test_dropped_field_is_null_in_delta():
    assert diff_states({"note": "x", "k": 1}, {"k": 1}) == (["note"], {"note": None})


def test_nested_change_carries_whole_next_value():
    assert diff_states({"w": {"start": "1", "end": "2"}}, {"w": {"start": "1", "end": "3"}}) == (
        ["w"],
        {"w": {"start": "1", "end": "3"}},
    )


def test_tombstone_changes_every_prev_field_with_empty_delta():
    assert diff_states({"b": 1, "a": 2}, None) == (["a", "b"], {})


