"""Limits: per-client rate limit (429 + Retry-After), body size, timeouts, bounded embedding work."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from service.limits import RequestTimeout
from service.ratelimit import RateLimiter
from tests.conftest import run_async
from tests.service.conftest import ALLOWED_ORIGIN, MAX_BODY_BYTES, OVERLOAD_KEYS, RATE_BURST, TOOL_KEYS, Guarded


class FakeClock:
    """A clock the test moves by hand, so bucket arithmetic is exact."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_allows_the_burst_then_refuses_with_retry_after() -> None:
    clock = FakeClock()
    limiter = RateLimiter(per_minute=30, burst=3, clock=clock)
    assert [limiter.take("a").allowed for _ in range(3)] == [True, True, True]
    refused = limiter.take("a")
    assert refused.allowed is False and refused.retry_after_s == 2  # 30/min = one token every 2 s
    assert limiter.take("b").allowed  # another client has its own bucket
    clock.now += 2.0
    assert limiter.take("a").allowed
    assert not limiter.take("a").allowed


def test_rate_limit_zero_turns_it_off() -> None:
    limiter = RateLimiter(per_minute=0, burst=1)
    assert all(limiter.take("a").allowed for _ in range(100))


def test_idle_buckets_are_dropped_so_memory_stays_bounded() -> None:
    clock = FakeClock()
    limiter = RateLimiter(per_minute=60, burst=2, max_clients=100, clock=clock)
    for i in range(100):
        limiter.take(f"ip:{i}")
    clock.now += 5.0  # every bucket has refilled: nothing to remember
    for i in range(100, 150):
        limiter.take(f"ip:{i}")
    assert limiter.clients() <= 100


def _search(url: str, headers: dict[str, str], q: str = "BAKIRA") -> httpx.Response:
    return httpx.get(url + "/api/search", params={"q": q, "k": 1}, headers=headers, timeout=30)


def test_a_key_over_its_rate_gets_429_with_retry_after_and_other_keys_are_unaffected(guarded_server: Guarded) -> None:
    mine = {"X-API-Key": TOOL_KEYS["limits"]}
    statuses = [_search(guarded_server.url, mine).status_code for _ in range(RATE_BURST + 3)]
    assert statuses[:RATE_BURST - 1] == [200] * (RATE_BURST - 1)
    assert 429 in statuses
    refused = _search(guarded_server.url, mine)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 2
    assert "too many requests" in refused.json()["detail"] and "retry in" in refused.json()["detail"]
    assert _search(guarded_server.url, {"X-API-Key": TOOL_KEYS["other"]}).status_code == 200


def test_widget_visitors_are_rate_limited_per_ip(guarded_server: Guarded) -> None:
    widget = {"Origin": ALLOWED_ORIGIN}
    responses = []
    while len(responses) < RATE_BURST + 6 and (not responses or responses[-1].status_code != 429):
        responses.append(_search(guarded_server.url, widget))  # a slow machine refills a token now and then
    statuses = [r.status_code for r in responses]
    assert statuses[0] == 200 and statuses[-1] == 429, statuses
    refused = responses[-1]
    assert refused.headers["access-control-allow-origin"] == ALLOWED_ORIGIN  # the widget can read the error
    assert "retry-after" in refused.headers["access-control-expose-headers"].lower()


def test_an_oversized_body_gets_413_before_it_is_read(guarded_server: Guarded) -> None:
    body = b'{"question": "' + b"x" * (MAX_BODY_BYTES * 2) + b'"}'
    response = httpx.post(
        guarded_server.url + "/api/ask", content=body,
        headers={"X-API-Key": TOOL_KEYS["limits"], "Content-Type": "application/json"}, timeout=10,
    )
    assert response.status_code == 413
    assert f"{MAX_BODY_BYTES:,} bytes" in response.json()["detail"]


def test_an_oversized_chunked_body_gets_413_too(guarded_server: Guarded) -> None:
    def chunks():
        yield b'{"question": "'
        for _ in range(10):
            yield b"y" * 1024
        yield b'"}'

    response = httpx.post(
        guarded_server.url + "/api/ask", content=chunks(),
        headers={"X-API-Key": TOOL_KEYS["other"], "Content-Type": "application/json"}, timeout=10,
    )
    assert response.status_code == 413
    assert "TAGUNGSBOT_MAX_BODY_BYTES" in response.json()["detail"]


def test_overload_is_shed_with_503_and_retry_after_then_recovers(guarded_server: Guarded) -> None:
    """One embedding slot, no wait: a burst of distinct questions must partly get 503, never hang or 500."""

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=guarded_server.url, timeout=60) as client:
            calls = [
                client.post("/api/ask", json={"question": f"Welche Rolle spielt Thema {i} im Jobcenter {i * 7}?"},
                            headers={"X-API-Key": key})
                for i, key in enumerate(OVERLOAD_KEYS)
            ]
            return await asyncio.gather(*calls)

    responses = run_async(burst())
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 503}, statuses
    assert statuses.count(200) >= 1 and statuses.count(503) >= 1, statuses
    busy = next(r for r in responses if r.status_code == 503)
    assert busy.headers["retry-after"] == "1"
    assert "busy" in busy.json()["detail"]
    # Once the burst is over, the service answers again at once.
    again = httpx.post(guarded_server.url + "/api/ask", json={"question": "Wer hat BAKIRA vorgestellt?"},
                       headers={"X-API-Key": OVERLOAD_KEYS[0]}, timeout=30)
    assert again.status_code == 200


def _slow_app(delay_s: float) -> Starlette:
    async def slow(_request):
        await asyncio.sleep(delay_s)
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/slow", slow)])


@pytest.mark.parametrize("delay_s, expected", [(0.5, 504), (0.01, 200)])
def test_a_request_over_the_timeout_gets_504_in_words(delay_s: float, expected: int) -> None:
    app = RequestTimeout(_slow_app(delay_s), timeout_s=0.1)

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            return await client.get("/slow")

    response = run_async(call())
    assert response.status_code == expected
    if expected == 504:
        assert "longer than 0.1 s" in response.json()["detail"]
        assert "TAGUNGSBOT_REQUEST_TIMEOUT_S" in response.json()["detail"]
