"""The test server fixture gives in-process flow runs a real API that records them."""

import asyncio


def test_flow_run_is_recorded_by_the_server(prefect_api):
    from prefect import flow, get_client, task

    @task
    def double(x):
        return 2 * x

    @flow(name="fixture-check")
    def check(n: int = 2):
        return double(n)

    assert check(n=21) == 42

    async def runs():
        async with get_client() as client:
            return await client.read_flow_runs()

    names = {r.name for r in asyncio.run(runs())}
    assert names  # the server saw the run
