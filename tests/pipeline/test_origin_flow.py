"""Inside a Prefect flow, a governance action also records the flow run it ran in (issue 15
item 14): the id the Prefect UI shows for that run."""

from __future__ import annotations

import socket

from accountability.origin import Origin, process_origin


def test_the_origin_names_the_flow_run_it_ran_in(prefect_api: None) -> None:
    from prefect import flow

    @flow(name="origin-probe")
    def probe() -> Origin:
        return process_origin()

    state = probe(return_state=True)
    assert state.is_completed(), state.message
    origin = state.result()
    assert isinstance(origin, Origin)
    assert origin.flow_run_id == str(state.state_details.flow_run_id)
    assert origin.host == socket.gethostname()
    assert process_origin().flow_run_id is None  # and outside it, none
