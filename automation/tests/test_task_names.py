"""Wake-ups are published by task name: each name is a task of automation.tasks, routed as declared."""

from automation import tasks
from automation.entities import delivery
from checkstack.celery import app


def test_each_published_name_is_a_registered_engine_task():
    published = [delivery.ROUTE_CHANGE_EVENT, delivery.DELIVER_CHANGE, delivery.BROADCAST_CHANGE]

    assert published == [tasks.route_change_event.name, tasks.deliver_change.name, tasks.broadcast_change.name]
    assert all(app.tasks[name].name == name for name in published)


def test_a_broadcast_published_by_name_goes_to_the_broadcast_exchange():
    # No task_type: what a process that never imported automation.tasks sends.
    broadcast = app.amqp.router.route({}, delivery.BROADCAST_CHANGE)
    routed = app.amqp.router.route({}, delivery.ROUTE_CHANGE_EVENT)

    assert broadcast["queue"].exchange.name == "checkstack.broadcast"
    assert routed["queue"].name == "celery"
