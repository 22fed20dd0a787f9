"""The EDO operator simulator: a key is one document, answers come after the delay, faults."""

from __future__ import annotations

import base64

from fastapi.testclient import TestClient

from simulator.edo import EdoFaults, EdoState, create_app


def _doc(key: str = "1:2023-12:tariffs", recipient: str = "2BE-1") -> dict[str, str]:
    return {
        "key": key,
        "sender": "2AE-OBLAKO-0001",
        "recipient": recipient,
        "kind": "tariffs",
        "number": "2023-12/1-Т",
        "file_name": "ON_NSCHFDOPPR_x.xml",
        "content": base64.b64encode(b"<xml/>").decode(),
    }


def test_one_key_one_document_signed_after_the_delay() -> None:
    now = [1000.0]
    state = EdoState(clock=lambda: now[0], faults=EdoFaults(sign_after_s=10.0))
    client = TestClient(create_app(state))
    first = client.post("/api/v1/documents", json=_doc())
    assert first.status_code == 201 and first.json()["status"] == "delivered"
    again = client.post("/api/v1/documents", json=_doc())
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert len(state.documents) == 1 and state.sends == 2
    doc_id = first.json()["id"]
    now[0] += 9.9
    assert client.get(f"/api/v1/documents/{doc_id}").json()["status"] == "delivered"
    now[0] += 0.1
    signed = client.get(f"/api/v1/documents/{doc_id}").json()
    assert signed["status"] == "signed" and signed["answered_at"] == 1010.0
    assert client.get("/api/v1/documents/edo-999999").status_code == 404


def test_faults_refusals_and_control() -> None:
    state = EdoState(clock=lambda: 0.0)
    client = TestClient(create_app(state))
    faults = {"sign_after_s": 0, "refuse": {"2BE-2": "Не наш договор"}, "fail_next": 1}
    assert client.post("/control", json=faults).json()["fail_next"] == 1
    assert client.post("/api/v1/documents", json=_doc("k1", "2BE-2")).status_code == 503
    assert not state.documents  # a failed request takes nothing
    refused = client.post("/api/v1/documents", json=_doc("k1", "2BE-2")).json()
    assert refused["status"] == "refused" and refused["reason"] == "Не наш договор"
    client.post("/control", json={"lose_next": 1})
    assert client.post("/api/v1/documents", json=_doc("k2")).status_code == 503
    assert len(state.documents) == 2  # taken though the answer was lost
    assert client.post("/api/v1/documents", json=_doc("k2")).status_code == 200
    bad = dict(_doc("k3"), content="не base64")
    assert client.post("/api/v1/documents", json=bad).status_code == 422
    check = {"operator_id": "2BE", "participant_id": "2AL-1", "inn": "7701999993"}
    assert client.post("/api/v1/participants/check", json=check).json()["status"] == "not_found"
    check["participant_id"] = "2BE-1"
    assert client.post("/api/v1/participants/check", json=check).json()["status"] == "active"
