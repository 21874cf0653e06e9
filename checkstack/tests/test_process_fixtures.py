"""The tests' Celery processes end with their whole process group: no pool child outlives a test to go on
working (a busy pool child finishes its task after its parent died, writing to the database meanwhile)."""

import os
import signal
import subprocess

import pytest
from celery import current_app

from testing.process_fixtures import group_members, kill_group, marked, pid_alive, start_worker, wait_for


def busy_pool_child(worker, tmp_path, name: str) -> int:
    """A pool child of `worker` busy with a one-minute task; its pid."""
    pid_path = tmp_path / f"{name}.pid"
    current_app.send_task("tests.busy_pool_process", args=[str(pid_path), 60])
    wait_for(lambda: pid_path.exists() and pid_path.read_text(), timeout=30, what="a pool process to take the task")
    pid = int(pid_path.read_text())
    assert pid in group_members(worker.proc.pid, mark=worker.mark)
    return pid


@pytest.mark.integration
def test_a_worker_a_test_leaves_running_is_ended_with_its_pool_when_the_test_ends(request, tmp_path):
    left = {}

    def nothing_left():  # registered before the `integration` fixture was set up: runs after its teardown
        assert left and group_members(left["group"], mark=left["mark"]) == [] and not pid_alive(left["child"])

    request.addfinalizer(nothing_left)
    request.getfixturevalue("integration")
    # Given a worker with a busy pool child that the test never stops (as when it fails before its stop)
    worker = start_worker(tmp_path, name="forgotten", concurrency=2)
    left.update(group=worker.proc.pid, mark=worker.mark, child=busy_pool_child(worker, tmp_path, "forgotten"))
    # Then (nothing_left) the fixture's teardown ended its whole group


def test_only_processes_carrying_the_mark_are_killed_in_a_group():
    """A reaped leader's pid may be reused by another program's group: only our marked processes are signalled."""
    env, mark = marked(dict(os.environ))
    ours = subprocess.Popen(["sleep", "60"], env=env, start_new_session=True)
    theirs = subprocess.Popen(["sleep", "60"], start_new_session=True)  # the same group id, as after a reuse
    try:
        kill_group(theirs.pid, mark)
        assert pid_alive(theirs.pid)  # not ours: left alone
        kill_group(ours.pid, mark)
        ours.wait(timeout=5)
        assert ours.returncode == -signal.SIGKILL and group_members(ours.pid, mark=mark) == []
    finally:
        theirs.kill(), ours.kill()
        theirs.wait(), ours.wait()
