"""How a step ends other than with a result: the exceptions steps raise and the walkers act on."""


class StepError(Exception):
    """A step failed; the message goes on its row (and the run's, unless continue_on_error)."""


class StopRun(Exception):
    """`stop` or a false `condition`: end the run now."""

    def __init__(self, reason: str, *, failed: bool):
        super().__init__(reason)
        self.reason, self.failed = reason, failed


class Forked(Exception):
    """A `parallel` step forked this cursor into branches (branches.py): the walk stops here until they join."""


class Suspend(Exception):
    """The run waits (delay, wait_until, wait_for_trigger): release it until a timer or event resumes it.

    `park` runs in the transaction that sets the run `waiting` (it records what may wake it); `missed`,
    run after that commits, says whether something that should wake it happened while it parked.
    """

    def __init__(self, *, park=None, missed=None):
        super().__init__("waiting")
        self.park, self.missed = park, missed
