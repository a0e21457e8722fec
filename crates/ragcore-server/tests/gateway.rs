//! The gateway over a real pipeline on a real loopback socket: OpenAI-compatible chat (plain and
//! streamed), the native API, tenant isolation, the bad-input table (400/401/403/404/413/429/504),
//! slow-loris clients, admin endpoints, health, metrics and graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ragcore::llm::{ChatRequest, ChatResponse};
use ragcore::{ChatModel, Document, ExtractiveAnswerer, IngestRequest, LocalOptions, Pipeline};
use ragcore_server::{hash_key, serve, AppState, KeyConfig, ServerConfig, SyncTarget};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{oneshot, Notify};

type R = Result<(), Box<dyn std::error::Error>>;

const ACME: &str = "sk-acme-0001";
const ADMIN: &str = "sk-admin-0002";
const GLOBEX: &str = "sk-globex-0003";
const REVOKED: &str = "sk-revoked-0004";
const LIMITED: &str = "sk-limited-0005";

fn key(id: &str, secret: &str, tenant: &str) -> KeyConfig {
    KeyConfig {
        id: id.into(),
        sha256: hash_key(secret),
        tenant: tenant.into(),
        principals: Vec::new(),
        requests_per_minute: 6000,
        burst: 1000,
        admin: false,
        revoked: false,
    }
}

fn config() -> Result<ServerConfig, ragcore_server::ServerError> {
    let mut admin = key("admin", ADMIN, "acme");
    admin.admin = true;
    let mut revoked = key("old", REVOKED, "acme");
    revoked.revoked = true;
    let mut limited = key("limited", LIMITED, "acme");
    limited.requests_per_minute = 1;
    limited.burst = 2;
    let mut c = ServerConfig::parse("", std::path::Path::new("."))?;
    c.keys = vec![
        key("acme", ACME, "acme"),
        admin,
        key("globex", GLOBEX, "globex"),
        revoked,
        limited,
    ];
    c.limits.max_body_bytes = 64 * 1024;
    c.limits.request_timeout_ms = 5_000;
    Ok(c)
}

/// Answers like the offline answerer; a question containing "slow" waits until released.
struct GatedChat {
    inner: ExtractiveAnswerer,
    entered: Notify,
    release: Notify,
}

#[async_trait]
impl ChatModel for GatedChat {
    fn name(&self) -> String {
        "extractive".into()
    }
    async fn chat(&self, request: ChatRequest) -> ragcore::Result<ChatResponse> {
        if request.question.contains("slow") {
            self.entered.notify_one();
            self.release.notified().await;
        }
        self.inner.chat(request).await
    }
}

struct Gateway {
    addr: SocketAddr,
    http: reqwest::Client,
    chat: Arc<GatedChat>,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<Result<(), ragcore_server::ServerError>>,
    _dir: tempfile::TempDir,
    sync_dir: std::path::PathBuf,
}

impl Gateway {
    async fn start(
        tune: impl FnOnce(&mut ServerConfig),
    ) -> Result<Gateway, Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let chat = Arc::new(GatedChat {
            inner: ExtractiveAnswerer::new(ragcore::Segmenter::Bigram),
            entered: Notify::new(),
            release: Notify::new(),
        });
        let p = Pipeline::open_local(
            dir.path().join("kb"),
            LocalOptions {
                chat: Some(chat.clone()),
                ..Default::default()
            },
        )
        .await?;
        p.ingest(IngestRequest::documents(
            "acme",
            vec![
                Document::faq(
                    "refund",
                    "How many days do I have to request a refund?",
                    "Refunds are accepted within 7 days of delivery. The money is back in five working days.",
                ),
                Document::faq(
                    "slow",
                    "Why is the slow lane closed?",
                    "The slow lane is closed for maintenance until Friday.",
                ),
            ],
        ))
        .await?;
        p.ingest(IngestRequest::documents(
            "globex",
            vec![Document::faq(
                "zephyr",
                "When does project Zephyr launch?",
                "Project Zephyr launches on March 3 at the Globex plant.",
            )],
        ))
        .await?;
        let sync_dir = dir.path().join("docs");
        std::fs::create_dir_all(&sync_dir)?;
        let mut c = config()?;
        c.sync = Some(SyncTarget {
            dir: sync_dir.clone(),
            tenant: "acme".into(),
            acl: Vec::new(),
        });
        tune(&mut c);
        let state = AppState::new(p, c)?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        let done = tokio::spawn(serve(listener, state, async {
            let _ = rx.await;
        }));
        Ok(Gateway {
            addr,
            http: reqwest::Client::new(),
            chat,
            stop: Some(tx),
            done,
            _dir: dir,
            sync_dir,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn post(
        &self,
        path: &str,
        key: Option<&str>,
        body: Value,
    ) -> Result<(u16, Value), reqwest::Error> {
        let mut r = self.http.post(self.url(path)).json(&body);
        if let Some(k) = key {
            r = r.bearer_auth(k);
        }
        let resp = r.send().await?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().await.unwrap_or(Value::Null)))
    }

    async fn get(&self, path: &str, key: Option<&str>) -> Result<(u16, String), reqwest::Error> {
        let mut r = self.http.get(self.url(path));
        if let Some(k) = key {
            r = r.bearer_auth(k);
        }
        let resp = r.send().await?;
        Ok((resp.status().as_u16(), resp.text().await?))
    }
}

fn chat_body(question: &str) -> Value {
    json!({"model": "ragcore", "messages": [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": question}
    ]})
}

fn assert_openai_error(body: &Value, kind: &str) {
    assert_eq!(body["error"]["type"], kind, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(body["error"]["code"].is_string(), "{body}");
}

#[tokio::test]
async fn chat_completion_answers_with_citations_in_the_extension() -> R {
    let g = Gateway::start(|_| {}).await?;
    let (s, b) = g
        .post(
            "/v1/chat/completions",
            Some(ACME),
            chat_body("How many days do I have to request a refund?"),
        )
        .await?;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["object"], "chat.completion");
    assert_eq!(b["model"], "ragcore");
    assert_eq!(b["choices"][0]["message"]["role"], "assistant");
    let text = b["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_default();
    assert!(text.contains('7'), "{text}");
    let ext = &b["ragcore"];
    assert_eq!(ext["citations"][0]["document_id"], "refund");
    assert!(ext["kb_version"].as_u64().is_some_and(|v| v >= 1));
    assert!(ext["prompt_version"]
        .as_str()
        .is_some_and(|v| v.contains('@')));
    assert!(ext["cost"]["total_usd"].is_number());
    assert!(ext["verdicts"].as_array().is_some_and(|v| !v.is_empty()));
    assert!(b["usage"]["total_tokens"].is_number());
    let (s, models) = g.get("/v1/models", Some(ACME)).await?;
    assert_eq!(s, 200);
    let models: Value = serde_json::from_str(&models)?;
    assert_eq!(models["data"][0]["id"], "ragcore");
    Ok(())
}

#[tokio::test]
async fn streaming_sends_chunks_the_extension_a_usage_chunk_and_done() -> R {
    let g = Gateway::start(|_| {}).await?;
    let question = "How many days do I have to request a refund?";
    let (_, plain) = g
        .post("/v1/chat/completions", Some(ACME), chat_body(question))
        .await?;
    let mut body = chat_body(question);
    body["stream"] = json!(true);
    let resp = g
        .http
        .post(g.url("/v1/chat/completions"))
        .bearer_auth(ACME)
        .json(&body)
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream")));
    let text = resp.text().await?;
    let data: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .collect();
    assert_eq!(data.last(), Some(&"[DONE]"));
    let chunks: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d))
        .collect::<Result<_, _>>()?;
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let streamed: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(
        streamed,
        plain["choices"][0]["message"]["content"]
            .as_str()
            .unwrap_or("?")
    );
    assert!(chunks.len() > 4, "the answer comes in several pieces");
    let stop = chunks
        .iter()
        .find(|c| c["choices"][0]["finish_reason"] == "stop")
        .ok_or("no stop chunk")?;
    assert_eq!(stop["ragcore"]["citations"][0]["document_id"], "refund");
    let usage = chunks.last().ok_or("no chunks")?;
    assert_eq!(usage["choices"], json!([]));
    assert!(usage["usage"]["total_tokens"].is_number());
    assert!(chunks
        .iter()
        .all(|c| c["object"] == "chat.completion.chunk" && c["id"] == chunks[0]["id"]));
    Ok(())
}

#[tokio::test]
async fn native_ask_and_retrieve() -> R {
    let g = Gateway::start(|_| {}).await?;
    let (s, a) = g
        .post(
            "/v1/ask",
            Some(ACME),
            json!({"question": "How many days do I have to request a refund?"}),
        )
        .await?;
    assert_eq!(s, 200, "{a}");
    assert_eq!(a["citations"][0]["document_id"], "refund");
    assert_eq!(a["no_answer"], false);
    assert!(a["timings"]["retrieve"].is_number());
    let (s, r) = g
        .post(
            "/v1/retrieve",
            Some(ACME),
            json!({"question": "refund days"}),
        )
        .await?;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["hits"][0]["document_id"], "refund");
    assert!(r["no_answer"]["refuse"].is_boolean());
    Ok(())
}

#[tokio::test]
async fn a_tenant_key_never_sees_another_tenants_documents() -> R {
    let g = Gateway::start(|_| {}).await?;
    let q = "When does project Zephyr launch?";
    let (s, own) = g
        .post("/v1/retrieve", Some(GLOBEX), json!({"question": q}))
        .await?;
    assert_eq!(s, 200);
    assert_eq!(
        own["hits"][0]["document_id"], "zephyr",
        "globex sees its own document"
    );
    let (s, r) = g
        .post("/v1/retrieve", Some(ACME), json!({"question": q}))
        .await?;
    assert_eq!(s, 200);
    let ids: Vec<&str> = r["hits"]
        .as_array()
        .map(|h| h.iter().filter_map(|x| x["document_id"].as_str()).collect())
        .unwrap_or_default();
    assert!(!ids.contains(&"zephyr"), "{ids:?}");
    let (s, a) = g
        .post("/v1/chat/completions", Some(ACME), chat_body(q))
        .await?;
    assert_eq!(s, 200);
    let text = a["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_default();
    assert!(!text.contains("March"), "{text}");
    assert_eq!(a["ragcore"]["no_answer"], true, "{a}");
    // Naming the other tenant in the body does not widen the key's scope.
    let (s, e) = g
        .post(
            "/v1/ask",
            Some(ACME),
            json!({"question": q, "tenant": "globex"}),
        )
        .await?;
    assert_eq!(s, 403);
    assert_openai_error(&e, "permission_error");
    assert!(!e.to_string().contains("March"));
    let (s, e) = g
        .post(
            "/v1/retrieve",
            Some(ACME),
            json!({"question": q, "principals": ["root"]}),
        )
        .await?;
    assert_eq!(s, 403, "{e}");
    Ok(())
}

#[tokio::test]
async fn bad_input_gets_the_right_status_and_an_openai_error_body() -> R {
    let g = Gateway::start(|_| {}).await?;
    let q = chat_body("How many days do I have to request a refund?");
    let mut table: Vec<(String, u16, String)> = Vec::new();
    let mut check = |case: &str, status: u16, expected: u16, body: &Value, kind: &str| {
        assert_eq!(status, expected, "{case}: {body}");
        assert_openai_error(body, kind);
        table.push((
            case.to_string(),
            status,
            body["error"]["code"].as_str().unwrap_or("").to_string(),
        ));
    };

    let resp = g
        .http
        .post(g.url("/v1/chat/completions"))
        .bearer_auth(ACME)
        .header("content-type", "application/json")
        .body("{\"model\": \"ragcore\", \"messages\": [")
        .send()
        .await?;
    let (s, b) = (resp.status().as_u16(), resp.json::<Value>().await?);
    check("malformed JSON", s, 400, &b, "invalid_request_error");

    let (s, b) = g
        .post(
            "/v1/chat/completions",
            Some(ACME),
            json!({"model": "ragcore", "messages": []}),
        )
        .await?;
    check("no user message", s, 400, &b, "invalid_request_error");

    let (s, b) = g.post("/v1/chat/completions", None, q.clone()).await?;
    check("missing key", s, 401, &b, "authentication_error");
    let (s, b) = g
        .post("/v1/chat/completions", Some("sk-wrong"), q.clone())
        .await?;
    check("wrong key", s, 401, &b, "authentication_error");
    let (s, b) = g
        .post("/v1/chat/completions", Some(REVOKED), q.clone())
        .await?;
    check("revoked key", s, 401, &b, "authentication_error");
    assert_eq!(b["error"]["code"], "revoked_api_key");

    let (s, b) = g.post("/admin/sync", Some(ACME), json!({})).await?;
    check("admin route, tenant key", s, 403, &b, "permission_error");
    let (s, b) = g
        .post(
            "/v1/ask",
            Some(ACME),
            json!({"question": "x", "tenant": "globex"}),
        )
        .await?;
    check("other tenant in body", s, 403, &b, "permission_error");

    let (s, b) = g
        .post(
            "/v1/chat/completions",
            Some(ACME),
            json!({"model": "gpt-9", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await?;
    check("unknown model", s, 404, &b, "invalid_request_error");
    assert_eq!(b["error"]["code"], "model_not_found");

    let huge = "x".repeat(200 * 1024);
    let (s, b) = g
        .post("/v1/chat/completions", Some(ACME), chat_body(&huge))
        .await?;
    check(
        "huge body (Content-Length)",
        s,
        413,
        &b,
        "invalid_request_error",
    );
    // Without a Content-Length the limit is enforced while reading.
    let (s, b) = chunked_post(g.addr, "/v1/ask", ACME, 50, 4096).await?;
    check("huge body (chunked)", s, 413, &b, "invalid_request_error");

    for _ in 0..2 {
        let (s, b) = g
            .post("/v1/chat/completions", Some(LIMITED), q.clone())
            .await?;
        assert_eq!(s, 200, "{b}");
    }
    let resp = g
        .http
        .post(g.url("/v1/chat/completions"))
        .bearer_auth(LIMITED)
        .json(&q)
        .send()
        .await?;
    let retry_after = resp.headers().get("retry-after").cloned();
    let (s, b) = (resp.status().as_u16(), resp.json::<Value>().await?);
    check(
        "rate limited (3rd in burst 2)",
        s,
        429,
        &b,
        "rate_limit_error",
    );
    assert!(retry_after.is_some());
    // Other keys keep being served.
    let (s, _) = g
        .post("/v1/chat/completions", Some(ACME), q.clone())
        .await?;
    assert_eq!(s, 200);

    let (s, b) = g.post("/v1/nothing-here", Some(ACME), json!({})).await?;
    check("unknown route", s, 404, &b, "invalid_request_error");

    eprintln!("| case | status | code |\n|---|---|---|");
    for (case, s, code) in &table {
        eprintln!("| {case} | {s} | {code} |");
    }
    Ok(())
}

/// A raw HTTP/1.1 POST with a chunked body of `chunks` × `size` bytes (no Content-Length).
async fn chunked_post(
    addr: SocketAddr,
    path: &str,
    key: &str,
    chunks: usize,
    size: usize,
) -> Result<(u16, Value), Box<dyn std::error::Error>> {
    let mut tcp = tokio::net::TcpStream::connect(addr).await?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await?;
    let chunk = format!("{size:x}\r\n{}\r\n", "y".repeat(size));
    for _ in 0..chunks {
        if tcp.write_all(chunk.as_bytes()).await.is_err() {
            break; // the server may answer and close before the whole body is sent
        }
    }
    let _ = tcp.write_all(b"0\r\n\r\n").await;
    let mut raw = Vec::new();
    let _ = tcp.read_to_end(&mut raw).await;
    let text = String::from_utf8_lossy(&raw).to_string();
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no status line")?;
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    // The body may itself be chunked: take the JSON object inside it.
    let start = body.find('{').ok_or("no JSON body")?;
    let end = body.rfind('}').ok_or("no JSON body")?;
    Ok((status, serde_json::from_str(&body[start..=end])?))
}

#[tokio::test]
async fn a_request_over_the_time_limit_gets_504_and_others_are_served() -> R {
    let g = Gateway::start(|c| c.limits.request_timeout_ms = 300).await?;
    let (s, b) = g
        .post(
            "/v1/chat/completions",
            Some(ACME),
            chat_body("Why is the slow lane closed?"),
        )
        .await?;
    assert_eq!(s, 504, "{b}");
    assert_openai_error(&b, "timeout_error");
    let (s, _) = g
        .post(
            "/v1/chat/completions",
            Some(ACME),
            chat_body("How many days do I have to request a refund?"),
        )
        .await?;
    assert_eq!(s, 200);
    Ok(())
}

#[tokio::test]
async fn a_slow_loris_client_is_disconnected_while_others_are_served() -> R {
    let g = Gateway::start(|c| c.limits.header_read_timeout_ms = 300).await?;
    let mut slow = tokio::net::TcpStream::connect(g.addr).await?;
    slow.write_all(b"POST /v1/ask HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await?;
    // Someone else is served while the slow client holds its connection open.
    let (s, _) = g
        .post(
            "/v1/ask",
            Some(ACME),
            json!({"question": "How many days do I have to request a refund?"}),
        )
        .await?;
    assert_eq!(s, 200);
    // The server closes the slow connection (bounded wait so a regression fails, not hangs).
    let mut buf = [0u8; 512];
    let closed = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match slow.read(&mut buf).await {
                Ok(0) | Err(_) => return true,
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert_eq!(closed, Ok(true), "the slow client was not disconnected");
    Ok(())
}

#[tokio::test]
async fn admin_endpoints_sync_move_labels_and_read_spend() -> R {
    let g = Gateway::start(|_| {}).await?;
    std::fs::write(
        g.sync_dir.join("parking.md"),
        "# Parking\n\nVisitor parking is free on level B2 for two hours.\n",
    )?;
    let (s, b) = g.post("/admin/sync", Some(ADMIN), json!({})).await?;
    assert_eq!(s, 200, "{b}");
    assert!(b["kb_version"].as_u64().is_some_and(|v| v >= 3), "{b}");
    let (s, a) = g
        .post(
            "/v1/ask",
            Some(ACME),
            json!({"question": "Where is visitor parking?"}),
        )
        .await?;
    assert_eq!(s, 200);
    assert!(a["text"].as_str().is_some_and(|t| t.contains("B2")), "{a}");

    let (s, p) = g.get("/admin/prompts", Some(ADMIN)).await?;
    assert_eq!(s, 200, "{p}");
    let p: Value = serde_json::from_str(&p)?;
    let v = p["data"][0]["version"]
        .as_u64()
        .ok_or("no prompt version")?;
    let (s, b) = g
        .post(
            "/admin/prompts/label",
            Some(ADMIN),
            json!({"label": "canary", "version": v}),
        )
        .await?;
    assert_eq!(s, 200, "{b}");
    let (s, b) = g
        .post(
            "/admin/prompts/label",
            Some(ADMIN),
            json!({"label": "canary", "version": 999}),
        )
        .await?;
    assert_eq!(s, 404, "{b}");
    assert_openai_error(&b, "invalid_request_error");

    let (s, spend) = g.get("/admin/spend", Some(ADMIN)).await?;
    assert_eq!(s, 200, "{spend}");
    let spend: Value = serde_json::from_str(&spend)?;
    assert!(
        spend["tenants"]["acme"]["cost"]["total_usd"].is_number(),
        "{spend}"
    );
    let (s, _) = g.get("/admin/spend", Some(ACME)).await?;
    assert_eq!(s, 403);
    Ok(())
}

#[tokio::test]
async fn health_readiness_and_metrics() -> R {
    let g = Gateway::start(|_| {}).await?;
    let (s, _) = g.get("/healthz", None).await?;
    assert_eq!(s, 200);
    let (s, r) = g.get("/readyz", None).await?;
    assert_eq!(s, 200, "{r}");
    let r: Value = serde_json::from_str(&r)?;
    assert_eq!(r["status"], "ready");
    assert!(r["chunks"].as_u64().is_some_and(|c| c >= 3));
    g.post("/v1/ask", Some(ACME), json!({"question": "refund days?"}))
        .await?;
    g.post(
        "/v1/ask",
        Some("sk-wrong"),
        json!({"question": "refund days?"}),
    )
    .await?;
    let (s, m) = g.get("/metrics", None).await?;
    assert_eq!(s, 200);
    assert!(
        m.contains(
            "ragcore_http_requests_total{route=\"/v1/ask\",method=\"POST\",status=\"200\"} 1"
        ),
        "{m}"
    );
    assert!(
        m.contains(
            "ragcore_http_requests_total{route=\"/v1/ask\",method=\"POST\",status=\"401\"} 1"
        ),
        "{m}"
    );
    assert!(
        m.contains("ragcore_http_request_duration_seconds_count{route=\"/v1/ask\"} 2"),
        "{m}"
    );
    assert!(!m.contains("sk-"), "no key material in metrics");
    Ok(())
}

#[tokio::test]
async fn graceful_shutdown_finishes_the_request_in_flight() -> R {
    let mut g = Gateway::start(|_| {}).await?;
    let http = g.http.clone();
    let url = g.url("/v1/ask");
    let in_flight = tokio::spawn(async move {
        let r = http
            .post(url)
            .bearer_auth(ACME)
            .json(&json!({"question": "Why is the slow lane closed?"}))
            .send()
            .await?;
        let status = r.status().as_u16();
        let body: Value = r.json().await?;
        Ok::<_, reqwest::Error>((status, body))
    });
    g.chat.entered.notified().await;
    g.stop
        .take()
        .ok_or("already stopped")?
        .send(())
        .map_err(|_| "server gone")?;
    // New connections are refused once the listener is closed.
    let refused = loop {
        match tokio::net::TcpStream::connect(g.addr).await {
            Err(_) => break true,
            Ok(_) => tokio::task::yield_now().await,
        }
    };
    assert!(refused);
    assert!(
        !g.done.is_finished(),
        "the server waits for the request in flight"
    );
    g.chat.release.notify_one();
    let (status, body) = in_flight.await??;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["text"]
            .as_str()
            .is_some_and(|t| t.contains("maintenance")),
        "{body}"
    );
    (&mut g.done).await??;
    Ok(())
}
