//! Registration, login and the full note lifecycle through both route forms.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[actix_web::test]
async fn register_login_and_me() {
    let app = spawn_app().await;

    let response = app
        .client
        .post(app.url("/api/register"))
        .json(&json!({"username": "  Alice  ", "email": "Alice.Smith@Example.COM", "password": "correct horse"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let cookie = response.headers().get("set-cookie").unwrap().to_str().unwrap().to_owned();
    assert!(cookie.starts_with("notes_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    let registered: Value = response.json().await.unwrap();
    assert_eq!(registered["user"]["username"], "Alice");
    assert_eq!(registered["user"]["email"], "alice.smith@example.com");
    assert!(registered["user"].get("password_hash").is_none());
    assert_eq!(registered["user"].as_object().unwrap().len(), 4);

    let response = app
        .client
        .post(app.url("/api/login"))
        .json(&json!({"email": "alice.smith@example.com", "password": "correct horse"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let login: Value = response.json().await.unwrap();
    assert_eq!(login["user"]["id"], registered["user"]["id"]);

    let me: Value = app
        .client
        .get(app.url("/api/me"))
        .bearer_auth(login["token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me, registered["user"]);
}

#[actix_web::test]
async fn session_cookie_authenticates_and_logout_clears_it() {
    let app = spawn_app().await;
    let browser = reqwest::Client::builder().cookie_store(true).build().unwrap();

    let response = browser
        .post(app.url("/api/register"))
        .json(&json!({"username": "carol", "email": "carol@example.com", "password": "password-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);

    let me = browser.get(app.url("/api/me")).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);

    let logout = browser.post(app.url("/api/logout")).send().await.unwrap();
    assert_eq!(logout.status(), StatusCode::OK);
    let me = browser.get(app.url("/api/me")).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn wrong_password_and_unknown_email_look_the_same() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;

    let mut bodies = Vec::new();
    for (email, password) in [(alice.email.as_str(), "wrong password"), ("nobody@example.com", "whatever1")] {
        let response = app
            .client
            .post(app.url("/api/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        bodies.push(response.json::<Value>().await.unwrap());
    }
    assert_eq!(bodies[0], bodies[1]);
    assert_eq!(bodies[0]["error"]["code"], "invalid_credentials");
}

#[actix_web::test]
async fn note_lifecycle_through_item_routes() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;

    let created = app.create_note(&alice, "Groceries", "milk\neggs").await;
    assert_eq!(created["version"], 1);
    assert_eq!(created["author"], "alice");
    assert_eq!(created["user_id"], alice.id.as_str());
    assert_eq!(created["created_at"], created["updated_at"]);
    let id = created["id"].as_str().unwrap();

    let fetched: Value = app
        .client
        .get(app.url(&format!("/api/notes/{id}")))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fetched, created);

    let response = app
        .client
        .put(app.url(&format!("/api/notes/{id}")))
        .bearer_auth(&alice.token)
        .json(&json!({"title": "Groceries", "content": "milk\neggs\nbread", "version": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let updated: Value = response.json().await.unwrap();
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["content"], "milk\neggs\nbread");

    let response =
        app.client.delete(app.url(&format!("/api/notes/{id}"))).bearer_auth(&alice.token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert!(body["message"].is_string());

    let response = app.client.get(app.url(&format!("/api/notes/{id}"))).bearer_auth(&alice.token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(app.list_notes(&alice).await.is_empty());
}

#[actix_web::test]
async fn note_lifecycle_through_collection_routes() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let created = app.create_note(&alice, "Plan", "v1").await;
    let id = created["id"].as_str().unwrap();

    // An update without a version applies, as older clients expect.
    let response = app
        .client
        .put(app.url("/api/notes"))
        .bearer_auth(&alice.token)
        .json(&json!({"id": id, "title": "Plan", "content": "v2"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let updated: Value = response.json().await.unwrap();
    assert_eq!(updated["version"], 2);

    let listed = app.list_notes(&alice).await;
    assert_eq!(listed, vec![updated]);

    let response =
        app.client.delete(app.url(&format!("/api/notes?id={id}"))).bearer_auth(&alice.token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(app.list_notes(&alice).await.is_empty());
}

#[actix_web::test]
async fn every_user_reads_every_note_newest_first() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;

    let first = app.create_note(&alice, "first", "").await;
    let second = app.create_note(&bob, "second", "").await;

    let listed = app.list_notes(&bob).await;
    assert_eq!(listed, vec![second, first]);
}

#[actix_web::test]
async fn web_app_placeholder_and_security_headers() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    let body = response.text().await.unwrap();
    assert!(body.contains("npm run build"), "{body}");
}

#[actix_web::test]
async fn list_pages_follow_link_headers() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    for i in 0..5 {
        app.create_note(&alice, &format!("n{i}"), "").await;
    }
    let all = app.list_notes(&alice).await;

    let mut paged: Vec<Value> = Vec::new();
    let mut next = Some("/api/notes?limit=2".to_owned());
    while let Some(path) = next.take() {
        let response = app.client.get(app.url(&path)).bearer_auth(&alice.token).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        next = response.headers().get("link").map(|link| {
            let link = link.to_str().unwrap();
            assert!(link.ends_with(r#">; rel="next""#), "{link}");
            link.trim_start_matches('<').split('>').next().unwrap().to_owned()
        });
        let page: Vec<Value> = response.json().await.unwrap();
        assert!(page.len() <= 2);
        paged.extend(page);
        assert!(paged.len() <= 6, "paging ends");
    }
    assert_eq!(paged, all);

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=two", "limit"),
        ("cursor=garbage", "cursor"),
        ("limit=2&cursor=1_notauuid", "cursor"),
    ] {
        let response =
            app.client.get(app.url(&format!("/api/notes?{query}"))).bearer_auth(&alice.token).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["field"], field, "{query}");
    }
}
