//! Random request bodies against the real server: whatever arrives, the
//! answer is a documented status with a JSON error body, never a 500, and the
//! server keeps serving.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::spawn_app;

/// JSON values of any shape, with the field names the API knows mixed in.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |number| number.is_finite()).prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
        "[a-f0-9-]{36}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("title".to_owned()),
                    Just("content".to_owned()),
                    Just("version".to_owned()),
                    Just("id".to_owned()),
                    Just("email".to_owned()),
                    Just("password".to_owned()),
                    Just("username".to_owned()),
                    ".{0,8}",
                ],
                inner,
                0..6,
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Bodies that are JSON, almost JSON, or arbitrary bytes.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        json_value().prop_map(|value| value.to_string().into_bytes()),
        // Cut in half at a byte, which may split a character: the server
        // must handle invalid UTF-8 too.
        json_value().prop_map(|value| {
            let mut bytes = value.to_string().into_bytes();
            bytes.truncate(bytes.len() / 2);
            bytes
        }),
        prop::collection::vec(any::<u8>(), 0..200),
    ]
}

#[actix_web::test]
async fn random_bodies_get_documented_errors() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let note = app.create_note(&alice, "target", "").await;
    let note_path = format!("/api/notes/{}", note["id"].as_str().unwrap());

    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        proptest::test_runner::TestRng::deterministic_rng(proptest::test_runner::RngAlgorithm::ChaCha),
    );
    let strategy = body();
    let routes = [
        (reqwest::Method::POST, "/api/notes".to_owned()),
        (reqwest::Method::PUT, "/api/notes".to_owned()),
        (reqwest::Method::PUT, note_path.clone()),
        (reqwest::Method::POST, "/api/login".to_owned()),
        (reqwest::Method::POST, "/api/register".to_owned()),
    ];

    for round in 0..300 {
        let bytes = strategy.new_tree(&mut runner).expect("generate a body").current();
        let (method, path) = &routes[round % routes.len()];
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .bearer_auth(&alice.token)
            .header("content-type", "application/json")
            .body(bytes.clone())
            .send()
            .await
            .expect("the server answers");
        let status = response.status();
        let text = response.text().await.unwrap();
        let shown = String::from_utf8_lossy(&bytes);
        assert!(
            [200, 201, 400, 401, 403, 404, 409].contains(&status.as_u16()),
            "{method} {path} with {shown:?} got {status}: {text}"
        );
        if !status.is_success() {
            let error: Value = serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("{method} {path} with {shown:?}: JSON error body, got {text}"));
            assert!(error["error"]["code"].is_string(), "{text}");
            assert!(error["error"]["message"].is_string(), "{text}");
        }
    }

    // The server still works, and the owner's note is whatever the valid
    // updates among the random ones made it, never corrupted.
    app.assert_healthy().await;
    let response = app.client.get(app.url(&note_path)).bearer_auth(&alice.token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let stored: Value = response.json().await.unwrap();
    assert_eq!(stored["id"], note["id"]);
    assert_eq!(stored["user_id"], json!(alice.id));
}
