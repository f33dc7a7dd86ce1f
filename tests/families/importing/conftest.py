import pytest

from tests.families.importing.helpers import template


@pytest.fixture
def fields(org):
    return template(org)


@pytest.fixture
def eager_tasks():
    """Tasks run in the calling process, as in the embedded demo (no broker)."""
    from smsvoice.celery import app

    before = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = before
