"""The predict function's routes in AnModel's shapes, through API Gateway v2 events into the handler."""

from __future__ import annotations

from typing import Any

import pytest

from eventlens.components import Components
from eventlens.ml.model import PREDICTIONS
from tests.conftest import response_json
from tests.ml.conftest import api_event


@pytest.fixture(scope="module")
def predict_fn(functions: dict[str, Any]) -> Any:
    return functions["predict"]


def test_services_lists_context_aware_and_its_model(served: Components, predict_fn: Any) -> None:
    # Given a promoted model
    # When GET /services is asked, after a prediction has loaded the model
    predict_fn.invoke(api_event("GET", "/users", "limit=1"))
    response = predict_fn.invoke(api_event("GET", "/services"))

    # Then it answers AnModel's shape: the services and each one's state
    body = response_json(response)
    assert response["statusCode"] == 200
    assert body["services"] == ["context_aware"]
    details = body["details"]["context_aware"]
    assert details["status"] == "loaded"
    assert details["model_path"].startswith("models/context_aware/versions/v")


def test_users_pages_through_the_snapshot_likeliest_buyers_first(served: Components, predict_fn: Any) -> None:
    # When two pages of users are asked for
    first = response_json(predict_fn.invoke(api_event("GET", "/users", "limit=5&offset=0")))
    second = response_json(predict_fn.invoke(api_event("GET", "/users", "limit=5&offset=5")))

    # Then each user comes with features and predictions, ordered by purchase_proba, pages not overlapping
    assert len(first["users"]) == len(second["users"]) == 5
    assert first["total"] > 100
    row = first["users"][0]
    assert set(row) == {"user_id", "features"}
    assert {"days_since_last", "events_last_7d", "slope_7d", "seq_00", *PREDICTIONS} <= set(row["features"])
    probas = [u["features"]["purchase_proba"] for u in first["users"] + second["users"]]
    assert probas == sorted(probas, reverse=True)
    assert not {u["user_id"] for u in first["users"]} & {u["user_id"] for u in second["users"]}


def test_predict_scores_a_snapshot_user_and_a_feature_row(served: Components, predict_fn: Any) -> None:
    # Given a user of the daily snapshot and a made-up feature row
    user = response_json(predict_fn.invoke(api_event("GET", "/users", "limit=1")))["users"][0]
    row = {"days_since_last": 1, "events_last_7d": 14, "add_to_cart_7d": 3, "total_events": 60}

    # When POST /predict?service=context_aware is sent both (and /predict/context_aware the user)
    response = predict_fn.invoke(
        api_event(
            "POST", "/predict", "service=context_aware", {"records": [{"user_id": user["user_id"]}, row]}
        )
    )
    by_path = predict_fn.invoke(
        api_event(
            "POST",
            "/predict/context_aware",
            body={"records": [{"user_id": user["user_id"]}]},
            route="/predict/{service_name}",
        )
    )

    # Then each gets AnModel's four predictions; the snapshot user's match GET /users
    assert response["statusCode"] == 200, response
    predictions = response_json(response)["predictions"]
    assert set(predictions[0]) == {"user_id", *PREDICTIONS} and set(predictions[1]) == set(PREDICTIONS)
    assert predictions[0]["purchase_proba"] == pytest.approx(user["features"]["purchase_proba"])
    assert 0 <= predictions[1]["purchase_proba"] <= 1 and predictions[1]["will_purchase_pred"] in (0, 1)
    assert 1 <= predictions[1]["days_to_next_pred"] <= 7
    assert response_json(by_path)["predictions"][0] == predictions[0]


def test_predict_with_no_body_pages_the_precomputed_snapshot_predictions(
    served: Components, predict_fn: Any
) -> None:
    # Given the snapshot's users, likeliest buyers first, as GET /users pages them
    users = response_json(predict_fn.invoke(api_event("GET", "/users", "limit=8")))
    # When AnModel's documented check is sent: POST /predict?service=context_aware, no body (and pages)
    first = predict_fn.invoke(api_event("POST", "/predict", "service=context_aware"))
    page = predict_fn.invoke(api_event("POST", "/predict", "service=context_aware&offset=3&limit=5"))
    by_path = predict_fn.invoke(
        api_event("POST", "/predict/context_aware", "limit=8", route="/predict/{service_name}")
    )
    # Then it answers the precomputed predictions of the snapshot's users, in the same order, paged
    assert first["statusCode"] == page["statusCode"] == by_path["statusCode"] == 200, first
    body = response_json(first)
    expected = [
        {"user_id": u["user_id"], **{name: u["features"][name] for name in PREDICTIONS}}
        for u in users["users"]
    ]
    assert body["predictions"][:8] == expected and len(body["predictions"]) == 100
    assert (body["total"], body["offset"], body["limit"]) == (users["total"], 0, 100)
    assert (body["snapshot_date"], body["model_version"]) == (users["snapshot_date"], users["model_version"])
    assert response_json(page)["predictions"] == expected[3:8]
    assert response_json(by_path)["predictions"] == expected
    # and an unknown service is still AnModel's 404
    unknown = predict_fn.invoke(api_event("POST", "/predict", "service=churn"))
    assert unknown["statusCode"] == 404 and response_json(unknown) == {"detail": "Unknown service: churn"}


def test_predict_rejects_an_unknown_service_and_a_bad_feature(served: Components, predict_fn: Any) -> None:
    # When a service that does not exist is asked for, or a feature is not a number
    unknown = predict_fn.invoke(api_event("POST", "/predict", "service=churn", {"records": [{"x": 1}]}))
    bad = predict_fn.invoke(api_event("POST", "/predict", "", {"records": [{"total_events": "many"}]}))
    empty = predict_fn.invoke(api_event("POST", "/predict", "", {"records": []}))

    # Then AnModel's 404 names the service, and bad input answers 422 naming the field
    assert unknown["statusCode"] == 404 and response_json(unknown) == {"detail": "Unknown service: churn"}
    assert bad["statusCode"] == 422 and response_json(bad)["error"]["field"] == "records.0.total_events"
    assert empty["statusCode"] == 422


def test_predict_answers_503_until_a_model_is_promoted(components: Components, predict_fn: Any) -> None:
    # Given an object store with no promoted model
    # When predictions are asked for
    users = predict_fn.invoke(api_event("GET", "/users"))
    precomputed = predict_fn.invoke(api_event("POST", "/predict", "service=context_aware"))
    services = predict_fn.invoke(api_event("GET", "/services"))

    # Then AnModel's 503 says why, and /services reports the error
    assert users["statusCode"] == 503 and "promoted" in response_json(users)["detail"]
    assert precomputed["statusCode"] == 503 and "promoted" in response_json(precomputed)["detail"]
    assert response_json(services)["details"]["context_aware"]["status"] == "error"
