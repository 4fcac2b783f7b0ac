"""History search and keyset pagination, through the view and the selector."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard import selectors
from dashboard.models import Attempt, Batch, BatchItem, State, Task

pytestmark = pytest.mark.django_db


def make(user, n, *, file_id="1397", vendor="Tencent", state=State.SUCCEEDED, code=0, created_at=None):
    task = Task.objects.create(
        vendor=vendor,
        mode=Task.Mode.TIME_POINTS,
        file_id=file_id,
        created_by=user,
        state=state,
        latest_code=code,
        latest_request_id=f"req-{n}-2",
        vendor_task_id=f"vt-{n}",
        attempt_count=2,
        created_at=created_at or timezone.now(),
    )
    for number in (1, 2):
        Attempt.objects.create(
            task=task,
            number=number,
            reason="submit" if number == 1 else "retry",
            created_by=user,
            nonce="0" * 16,
            timestamp=1,
            request_id=f"req-{n}-{number}",
            vendor_task_id=f"vt-{n}" if number == 2 else "",
        )
    return task


def ids(response) -> list[int]:
    return [t.pk for t in response.context["page"].tasks]


def test_it_lists_newest_first(operator, operator_client):
    tasks = [make(operator, n) for n in range(3)]
    assert ids(operator_client.get("/tasks/")) == [t.pk for t in reversed(tasks)]


@pytest.mark.parametrize("q", ["req-1-1", "req-1-2", "vt-1"])
def test_it_finds_a_task_by_any_attempts_request_id_or_vendor_task_id(operator, operator_client, q):
    tasks = [make(operator, n) for n in range(3)]
    assert ids(operator_client.get("/tasks/", {"q": q})) == [tasks[1].pk]


def test_it_finds_file_ids_by_exact_value_or_prefix(operator, operator_client):
    a = make(operator, 1, file_id="/record/room1/a.mp4", vendor="Huawei")
    b = make(operator, 2, file_id="/record/room2/b.mp4", vendor="Huawei")
    make(operator, 3, file_id="1397757897438985100")
    assert ids(operator_client.get("/tasks/", {"q": "/record/room1/a.mp4"})) == [a.pk]
    assert ids(operator_client.get("/tasks/", {"q": "/record/"})) == [b.pk, a.pk]
    assert ids(operator_client.get("/tasks/", {"q": "/record/room3"})) == []
    assert ids(operator_client.get("/tasks/", {"q": "room1"})) == []  # a prefix, not a substring


def test_a_broad_prefix_takes_the_dense_path_and_finds_the_same_rows(operator, operator_client, monkeypatch):
    wanted = [make(operator, n, file_id=f"9{n:03d}") for n in range(12)]
    make(operator, 99, file_id="8000")
    sparse = ids(operator_client.get("/tasks/", {"q": "9"}))
    monkeypatch.setattr(selectors, "PREFIX_PROBE_LIMIT", 5)
    dense = ids(operator_client.get("/tasks/", {"q": "9"}))
    assert sparse == dense == [t.pk for t in reversed(wanted)]


def test_it_combines_filters(operator, viewer, operator_client):
    match = make(operator, 1, vendor="Huawei", state=State.FAILED, code=1000)
    make(operator, 2, vendor="Tencent", state=State.FAILED, code=1000)
    make(operator, 3, vendor="Huawei", state=State.FAILED, code=41003)
    make(viewer, 4, vendor="Huawei", state=State.FAILED, code=1000)
    response = operator_client.get(
        "/tasks/", {"vendor": "Huawei", "state": "failed", "code": "1000", "submitter": "olga"}
    )
    assert ids(response) == [match.pk]
    assert ids(operator_client.get("/tasks/", {"submitter": "nobody"})) == []


def test_it_filters_by_date_range(operator, operator_client):
    old = make(operator, 1, created_at=timezone.now() - timedelta(days=10))
    new = make(operator, 2)
    today = timezone.now().date()
    assert ids(operator_client.get("/tasks/", {"since": str(today)})) == [new.pk]
    assert ids(operator_client.get("/tasks/", {"until": str(today - timedelta(days=5))})) == [old.pk]


def test_it_pages_by_cursor_both_ways_without_losing_or_repeating_rows(operator, operator_client, monkeypatch):
    monkeypatch.setattr(selectors, "PAGE_SIZE", 4)
    all_ids = [make(operator, n).pk for n in range(10)][::-1]
    seen, url, pages = [], "/tasks/", []
    while url:
        response = operator_client.get(url)
        pages.append(response)
        seen += ids(response)
        page = response.context["page"]
        url = f"/tasks/?before={page.older}" if page.older else None
    assert seen == all_ids and len(pages) == 3
    last = pages[-1].context["page"]
    back = operator_client.get(f"/tasks/?after={last.newer}")
    assert ids(back) == all_ids[4:8]


def test_pager_links_keep_the_search(operator, operator_client, monkeypatch):
    monkeypatch.setattr(selectors, "PAGE_SIZE", 2)
    for n in range(5):
        make(operator, n, vendor="Huawei")
    html = operator_client.get("/tasks/", {"vendor": "Huawei"}).content.decode()
    assert "?vendor=Huawei&amp;before=" in html


def test_htmx_gets_only_the_results_fragment(operator, operator_client):
    make(operator, 1)
    html = operator_client.get("/tasks/", {"q": "req-1-1"}, headers={"HX-Request": "true"}).content.decode()
    assert html.lstrip().startswith('<section id="results"') and "<form" not in html.split("<table")[0]


@pytest.mark.parametrize(
    "params",
    [
        {"before": "abc"},
        {"code": "x"},
        {"since": "2024-13-45"},
        {"since": "2024-05-02", "until": "2024-05-01"},
        {"q": "a\x01b"},
        {"vendor": "Akamai"},
        {"after": "-3"},
    ],
)
def test_bad_search_input_gets_a_message_not_an_error(operator_client, params):
    response = operator_client.get("/tasks/", params)
    assert response.status_code == 200
    assert 'class="errors"' in response.content.decode()


def _walk(client, params) -> tuple[list[list[int]], list[list[int]]]:
    """Every page of a search, following "Older" to the end, then "Newer" back to the start."""
    older, url = [], ("/tasks/", params)
    while url:
        page = client.get(*url).context["page"]
        older.append([t.pk for t in page.tasks])
        url = ("/tasks/", {**params, "before": page.older}) if page.older else None
    newer, url = [], ("/tasks/", {**params, "after": page.newer}) if page.newer else None
    while url:
        page = client.get(*url).context["page"]
        newer.append([t.pk for t in page.tasks])
        url = ("/tasks/", {**params, "after": page.newer}) if page.newer else None
    return older, newer


@pytest.mark.parametrize(("window", "buckets_a_query"), [(1, 64), (5, 64), (5, 1)])
@pytest.mark.parametrize("sample", ["newest", "oldest"])
@pytest.mark.parametrize("params", [{"q": "/vod/"}, {"q": "/vod/", "vendor": "Huawei"}], ids=["prefix", "filtered"])
def test_a_dense_prefix_whose_matches_are_old_finds_the_same_rows_both_ways(
    operator, operator_client, monkeypatch, params, sample, window, buckets_a_query
):
    # Old matches, then many newer tasks that do not match, then three recent matches: the dense path must
    # take the recent ones from its window next to the cursor and the rest from beyond it. File IDs sort
    # newest first (the probe's sample holds exactly the newest matches: a tight bound) or oldest first.
    def vod(n: int) -> str:
        return f"/vod/{999 - n if sample == 'newest' else n:03d}.mp4"

    for n in range(14):
        make(operator, n, file_id=vod(n), vendor="Huawei" if n % 4 else "Tencent")
    for n in range(14, 44):
        make(operator, n, file_id=f"/record/cam-{n % 3}/{n:03d}.mp4", vendor="Huawei")
    for n in range(44, 47):
        make(operator, n, file_id=vod(n), vendor="Huawei")
    wanted = Task.objects.filter(file_id__startswith="/vod/", **{k: v for k, v in params.items() if k != "q"})
    wanted = list(wanted.order_by("-id").values_list("id", flat=True))
    monkeypatch.setattr(selectors, "PAGE_SIZE", 4)
    sparse = _walk(operator_client, params)

    monkeypatch.setattr(selectors, "PREFIX_PROBE_LIMIT", 6)
    monkeypatch.setattr(selectors, "PREFIX_WINDOW", window)
    monkeypatch.setattr(selectors, "PREFIX_BUCKET", 4)
    monkeypatch.setattr(selectors, "PREFIX_BUCKETS_A_QUERY", buckets_a_query)
    dense = _walk(operator_client, params)

    older, newer = dense
    assert dense == sparse
    assert [pk for page in older for pk in page] == wanted
    assert newer == older[-2::-1]  # back through the same pages, newest last


def test_like_wildcards_in_a_prefix_match_only_themselves(operator, operator_client):
    literal = make(operator, 1, file_id="/record/cam_1%/a.mp4", vendor="Huawei")
    make(operator, 2, file_id="/record/camX1Y/b.mp4", vendor="Huawei")
    assert ids(operator_client.get("/tasks/", {"q": "/record/cam_1%"})) == [literal.pk]


@pytest.mark.parametrize("params", [{}, {"state": State.FAILED}], ids=["batch", "batch-and-state"])
def test_a_batchs_history_pages_both_ways_through_its_own_tasks(operator, operator_client, monkeypatch, params):
    tasks = [make(operator, n, state=State.FAILED if n % 2 else State.SUCCEEDED) for n in range(24)]
    mine = [task for n, task in enumerate(tasks) if n % 3]  # among tasks of no batch, all in another batch
    batch = Batch.objects.create(kind=Batch.Kind.RETRY, created_by=operator, total=len(mine))
    other = Batch.objects.create(kind=Batch.Kind.RETRY, created_by=operator, total=len(tasks))
    BatchItem.objects.bulk_create(  # its items in another order than their tasks'
        [BatchItem(batch=batch, task=task, position=n) for n, task in enumerate(reversed(mine))]
        + [BatchItem(batch=other, task=task, position=n) for n, task in enumerate(tasks)]
    )
    wanted = [task.pk for task in reversed(mine) if task.state == params.get("state", task.state)]
    monkeypatch.setattr(selectors, "PAGE_SIZE", 4)

    older, newer = _walk(operator_client, {"batch": batch.pk, **params})
    assert [pk for page in older for pk in page] == wanted
    assert newer == older[-2::-1]
