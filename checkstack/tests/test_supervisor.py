"""The run command's supervisor (dev.py): a process that exits is restarted and logged; Ctrl-C stops them all."""

import signal
import subprocess
import sys
import time

from dev import ROOT, exit_reason, read_procfile, run_environment


def test_the_procfile_is_read_in_order_without_comments(tmp_path):
    procfile = tmp_path / "Procfile"
    procfile.write_text("# processes\nweb: gunicorn x --bind 0.0.0.0:${PORT:-8000}\n\nworker: celery -A x worker\n")

    assert read_procfile(procfile) == {"web": "gunicorn x --bind 0.0.0.0:${PORT:-8000}", "worker": "celery -A x worker"}


def test_the_reason_names_the_exit_code_or_the_signal():
    assert exit_reason(3) == "exited with code 3"
    assert exit_reason(-signal.SIGKILL) == "was killed by SIGKILL"


def test_links_built_without_a_request_point_at_the_port_the_server_runs_on():
    assert run_environment({"PATH": "/bin", "PORT": "8765"})["CHECKSTACK_PUBLIC_URL"] == "http://localhost:8765"
    assert run_environment({"PATH": "/bin"})["CHECKSTACK_PUBLIC_URL"] == "http://localhost:8000"
    chosen = {"PATH": "/bin", "PORT": "8765", "CHECKSTACK_PUBLIC_URL": "https://status.example.com"}
    assert run_environment(chosen)["CHECKSTACK_PUBLIC_URL"] == "https://status.example.com"


def wait_for_text(path, text, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in path.read_text():
            return
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not in the log:\n{path.read_text()}")


def test_a_process_that_exits_is_restarted_and_the_others_keep_running(tmp_path):
    # Given a steady process and one that exits with code 3 after a moment
    marker = tmp_path / "steady-starts"
    script = (f"import dev, os; dev.supervise({{'steady': 'sh -c \"echo x >> {marker}; sleep 60\"', "
              f"'crashy': 'sh -c \"sleep 0.3; exit 3\"'}}, dict(os.environ), grace=5)")
    log_path = tmp_path / "supervisor.log"
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            # When it exits, it is logged with its code and started again after its back-off
            wait_for_text(log_path, "crashy exited with code 3; restarting in 1s")
            wait_for_text(log_path, "crashy exited with code 3; restarting in 2s")
            # Then Ctrl-C stops everything and the supervisor exits
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=15) == 0
        finally:
            proc.kill()
    log = log_path.read_text()
    assert "stopping every process" in log
    assert marker.read_text() == "x\n"  # the steady process was never restarted
    assert "steady exited" not in log and "steady was killed" not in log


def test_a_process_that_exits_leaves_nothing_of_its_group_running(tmp_path):
    """A process that dies leaving children in its group (a Celery worker killed with its pool still up) has
    them ended before it is restarted, and Ctrl-C ends what the last one left."""
    from testing.process_fixtures import pid_alive, wait_for

    # Given a process that starts a child in its own group, then exits with code 3
    pids = tmp_path / "children"
    leaky = tmp_path / "leaky.sh"
    leaky.write_text(f"sleep 300 &\necho $! >> {pids}\nsleep 0.3\nexit 3\n")
    script = f"import dev, os; dev.supervise({{'leaky': 'sh {leaky}'}}, dict(os.environ), grace=5)"
    log_path = tmp_path / "supervisor.log"
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            # When it has exited and been restarted, the child of its first run is gone
            wait_for_text(log_path, "leaky exited with code 3; restarting in 2s")
            first = int(pids.read_text().split()[0])
            wait_for(lambda: not pid_alive(first), timeout=5, what=f"the first run's child {first} to end")
            # Then Ctrl-C: no child of any run is left
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=15) == 0
        finally:
            proc.kill()
    children = [int(pid) for pid in pids.read_text().split()]
    assert len(children) >= 2
    wait_for(lambda: not any(pid_alive(pid) for pid in children), timeout=5, what="every child to end")


def test_what_a_killed_supervisor_left_running_is_found_by_its_mark_and_ended(tmp_path):
    """The supervisor's processes lead sessions of their own: killing the supervisor leaves them running, and
    the tests' stack (testing/embedded_stack.py) ends them by the mark in their environment."""
    import os

    from testing.process_fixtures import group_members, kill_group, marked, pid_alive, wait_for

    env, mark = marked(dict(os.environ))
    script = "import dev, os; dev.supervise({'steady': 'sleep 300'}, dict(os.environ), grace=5)"
    log_path = tmp_path / "supervisor.log"
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env, stdout=log_file,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for_text(log_path, "steady     | started")
            [steady] = wait_for(lambda: group_members(None, mark=mark) and
                                [pid for pid in group_members(None, mark=mark) if pid != proc.pid],
                                timeout=10, what="the supervised process")
            proc.kill()  # the supervisor dies without stopping anything
            proc.wait(timeout=5)
            assert pid_alive(steady)
            kill_group(None, mark)
            assert not pid_alive(steady) and group_members(None, mark=mark) == []
        finally:
            proc.kill()
            kill_group(None, mark)
