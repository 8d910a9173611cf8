//! A fake Hugging Face hub for tests: a tiny HTTP/1.1 server on 127.0.0.1 (std only) that answers the
//! requests hf-hub 1.0 makes, in the hub's own URL layout and headers. Shared by `crates/hub/tests` and
//! `crates/cli/tests/hub.rs` (through `#[path]`).
//!
//! What it serves (`{endpoint}` = `http://127.0.0.1:PORT`, what `HF_ENDPOINT` is set to):
//!
//! - `HEAD|GET {endpoint}/{owner}/{name}/resolve/{revision}/{path}` — `revision` is `main` or the repo's
//!   40-hex commit. A small file answers 200 with `ETag`, `X-Repo-Commit`, `Content-Length` (and 304 to a
//!   matching `If-None-Match`). A `*.safetensors` file is an LFS file, as on the hub: 302 to
//!   `{endpoint}/cdn/{etag}` with `X-Linked-Etag`, `X-Linked-Size`, `X-Repo-Commit` on the redirect.
//!   Errors as the hub gives them (`X-Error-Code` header, JSON `{"error": …}` body): unknown repository 404
//!   `RepoNotFound`; private repository without its token 401 `RepoNotFound`; unknown revision 404
//!   `RevisionNotFound`; missing file 404 `EntryNotFound` with `X-Repo-Commit`.
//! - `GET {endpoint}/cdn/{etag}` — the LFS content, with `Range: bytes=a-b` support (206).
//! - `GET {endpoint}/api/models/{owner}/{name}[/revision/{revision}]` — 200 `{"id", "sha", "siblings"}`,
//!   or the errors above.
//!
//! The server is bounded: one request per connection (`Connection: close`), a 5 s read timeout per
//! connection, at most 500 connections and 120 s in all; it stops when the `FakeHub` is stopped or
//! dropped, and then its port refuses connections.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A fixture model directory of the repository (`tests/fixtures/models/<kind>`).
pub fn fixture_model(kind: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/models").join(kind)
}

pub struct FakeFile {
    pub bytes: Vec<u8>,
    pub lfs: bool,
}

impl FakeFile {
    /// The ETag: 32 hex digits of two FNV-1a hashes of the content (the hub uses the git blob sha1, or
    /// the sha256 for LFS files; hf-hub only needs an identifier that changes with the content).
    pub fn etag(&self) -> String {
        let fnv = |seed: u64| self.bytes.iter().fold(seed, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3));
        format!("{:016x}{:016x}", fnv(0xcbf2_9ce4_8422_2325), fnv(0x6c62_272e_07bb_0142))
    }
}

pub struct FakeRepo {
    pub id: String,
    pub commit: String,
    pub files: BTreeMap<String, FakeFile>,
    /// A private repository: only `Authorization: Bearer <token>` sees it.
    pub token: Option<String>,
}

impl FakeRepo {
    pub fn new(id: &str, commit: &str) -> Self {
        assert!(commit.len() == 40 && commit.chars().all(|c| c.is_ascii_hexdigit()), "a commit is 40 hex digits");
        Self { id: id.into(), commit: commit.into(), files: BTreeMap::new(), token: None }
    }

    pub fn file(mut self, path: &str, bytes: Vec<u8>) -> Self {
        let lfs = path.ends_with(".safetensors");
        self.files.insert(path.into(), FakeFile { bytes, lfs });
        self
    }

    /// Every file of `dir`, under `subfolder/` (the repository root when empty).
    pub fn dir(mut self, subfolder: &str, dir: &Path) -> Self {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = if subfolder.is_empty() { name } else { format!("{subfolder}/{name}") };
            self = self.file(&path, std::fs::read(entry.path()).unwrap());
        }
        self
    }

    pub fn without(mut self, path: &str) -> Self {
        assert!(self.files.remove(path).is_some(), "{path} is in the repository");
        self
    }

    pub fn private(mut self, token: &str) -> Self {
        self.token = Some(token.into());
        self
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    pub status: u16,
}

struct State {
    addr: SocketAddr,
    repos: Vec<FakeRepo>,
    log: Mutex<Vec<Logged>>,
    /// The next this-many `/cdn/` GETs answer 403 with an XML error body (an expired signed URL).
    cdn_failures: AtomicUsize,
}

pub struct FakeHub {
    state: Arc<State>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

const MAX_CONNECTIONS: usize = 500;
const LIFETIME: Duration = Duration::from_secs(120);

impl FakeHub {
    pub fn start(repos: Vec<FakeRepo>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).unwrap();
        let state = Arc::new(State { addr: listener.local_addr().unwrap(), repos, log: Mutex::new(Vec::new()), cdn_failures: AtomicUsize::new(0) });
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, stop) = (state.clone(), stop.clone());
            std::thread::spawn(move || {
                let deadline = Instant::now() + LIFETIME;
                let mut served = 0;
                while !stop.load(Ordering::SeqCst) && Instant::now() < deadline && served < MAX_CONNECTIONS {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            served += 1;
                            let _ = serve(stream, &state);
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(2)),
                        Err(_) => std::thread::sleep(Duration::from_millis(2)),
                    }
                }
                // The listener drops here: the port refuses connections from now on.
            })
        };
        Self { state, stop, thread: Some(thread) }
    }

    /// What `HF_ENDPOINT` is set to.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.state.addr)
    }

    pub fn requests(&self) -> Vec<Logged> {
        self.state.log.lock().unwrap().clone()
    }

    pub fn fail_next_cdn_gets(&self, n: usize) {
        self.state.cdn_failures.store(n, Ordering::SeqCst);
    }

    /// Stops the server and waits for its thread; its port refuses connections afterwards.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for FakeHub {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A port on 127.0.0.1 that nothing listens on (bound, then released).
pub fn closed_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

struct Request {
    method: String,
    target: String,
    headers: BTreeMap<String, String>,
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn new(status: u16) -> Self {
        Self { status, headers: Vec::new(), body: Vec::new() }
    }

    fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    fn body(mut self, content_type: &str, body: Vec<u8>) -> Self {
        self.body = body;
        self.header("Content-Type", content_type)
    }

    /// A hub error: `X-Error-Code`, `X-Error-Message` and a JSON body.
    fn hub_error(status: u16, code: &str, message: &str) -> Self {
        Self::new(status)
            .header("X-Error-Code", code)
            .header("X-Error-Message", message)
            .body("application/json", format!("{{\"error\":\"{message}\"}}").into_bytes())
    }
}

fn serve(stream: TcpStream, state: &State) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else { return Ok(()) };
    let mut request = Request { method: method.to_string(), target: target.to_string(), headers: BTreeMap::new() };
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            request.headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    let response = route(&request, state);
    state.log.lock().unwrap().push(Logged {
        method: request.method.clone(),
        path: request.target.clone(),
        authorization: request.headers.get("authorization").cloned(),
        status: response.status,
    });

    let mut out = stream;
    let mut head = format!("HTTP/1.1 {} {}\r\n", response.status, reason(response.status));
    let mut has_length = false;
    for (name, value) in &response.headers {
        has_length |= name.eq_ignore_ascii_case("content-length");
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !has_length {
        head.push_str(&format!("Content-Length: {}\r\n", response.body.len()));
    }
    head.push_str("Connection: close\r\n\r\n");
    out.write_all(head.as_bytes())?;
    if request.method != "HEAD" {
        out.write_all(&response.body)?;
    }
    out.flush()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        302 => "Found",
        304 => "Not Modified",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        416 => "Range Not Satisfiable",
        _ => "Status",
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn route(request: &Request, state: &State) -> Response {
    if request.method != "GET" && request.method != "HEAD" {
        return Response::new(405);
    }
    let path = request.target.split(['?', '#']).next().unwrap_or("");
    let segments: Vec<String> = path.trim_start_matches('/').split('/').map(percent_decode).collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    match segments.as_slice() {
        ["cdn", etag] => cdn(request, state, etag),
        ["api", "models", owner, name] => api(request, state, &format!("{owner}/{name}"), None),
        ["api", "models", owner, name, "revision", revision] => api(request, state, &format!("{owner}/{name}"), Some(revision)),
        [owner, name, "resolve", revision, file @ ..] if !file.is_empty() => {
            resolve(request, state, &format!("{owner}/{name}"), revision, &file.join("/"))
        }
        _ => Response::hub_error(404, "NotFound", "Not found"),
    }
}

/// The repository, or the error the hub gives for it.
fn find_repo<'a>(request: &Request, state: &'a State, id: &str) -> Result<&'a FakeRepo, Response> {
    let Some(repo) = state.repos.iter().find(|r| r.id == id) else {
        return Err(Response::hub_error(404, "RepoNotFound", "Repository not found"));
    };
    if let Some(token) = &repo.token {
        let expected = format!("Bearer {token}");
        if request.headers.get("authorization") != Some(&expected) {
            // The hub answers an unauthenticated request for a private repository as for a missing one.
            return Err(Response::hub_error(401, "RepoNotFound", "Invalid username or password."));
        }
    }
    Ok(repo)
}

fn revision_ok(repo: &FakeRepo, revision: &str) -> bool {
    revision == "main" || revision == repo.commit
}

fn resolve(request: &Request, state: &State, id: &str, revision: &str, file: &str) -> Response {
    let repo = match find_repo(request, state, id) {
        Ok(repo) => repo,
        Err(response) => return response,
    };
    if !revision_ok(repo, revision) {
        return Response::hub_error(404, "RevisionNotFound", &format!("Invalid rev id: {revision}"));
    }
    let Some(content) = repo.files.get(file) else {
        return Response::hub_error(404, "EntryNotFound", "Entry not found").header("X-Repo-Commit", repo.commit.clone());
    };
    let etag = content.etag();
    let quoted = format!("\"{etag}\"");
    if request.headers.get("if-none-match") == Some(&quoted) {
        let mut response = Response::new(304).header("ETag", quoted.clone()).header("X-Repo-Commit", repo.commit.clone());
        if content.lfs {
            response = response.header("X-Linked-Etag", quoted);
        }
        return response;
    }
    if content.lfs {
        // As the hub: the resolve URL redirects to the CDN; the redirect carries the file's metadata.
        let pointer_etag = format!("\"{}\"", FakeFile { bytes: etag.clone().into_bytes(), lfs: false }.etag());
        return Response::new(302)
            .header("Location", format!("http://{}/cdn/{etag}?X-Amz-Signature=fake", state.addr))
            .header("ETag", pointer_etag)
            .header("X-Linked-Etag", quoted)
            .header("X-Linked-Size", content.bytes.len().to_string())
            .header("X-Repo-Commit", repo.commit.clone())
            .header("Content-Length", "0");
    }
    let length = content.bytes.len().to_string();
    Response::new(200)
        .header("ETag", quoted)
        .header("X-Repo-Commit", repo.commit.clone())
        .header("Accept-Ranges", "bytes")
        .header("Content-Length", length)
        .body("application/octet-stream", content.bytes.clone())
}

fn cdn(request: &Request, state: &State, etag: &str) -> Response {
    let Some(content) = state.repos.iter().flat_map(|r| r.files.values()).find(|f| f.lfs && f.etag() == etag) else {
        return Response::new(404).body("application/xml", b"<Error><Code>NoSuchKey</Code></Error>".to_vec());
    };
    if request.method == "GET" && state.cdn_failures.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
        let body = b"<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>";
        return Response::new(403).body("application/xml", body.to_vec());
    }
    let len = content.bytes.len();
    if let Some(range) = request.headers.get("range") {
        let parsed = range.strip_prefix("bytes=").and_then(|r| r.split_once('-')).and_then(|(a, b)| {
            let start: usize = a.parse().ok()?;
            let end: usize = if b.is_empty() { len.checked_sub(1)? } else { b.parse::<usize>().ok()?.min(len.checked_sub(1)?) };
            (start <= end).then_some((start, end))
        });
        return match parsed {
            Some((start, end)) => Response::new(206)
                .header("Content-Range", format!("bytes {start}-{end}/{len}"))
                .header("Accept-Ranges", "bytes")
                .header("Content-Length", (end + 1 - start).to_string())
                .body("application/octet-stream", content.bytes[start..=end].to_vec()),
            None => Response::new(416).header("Content-Range", format!("bytes */{len}")),
        };
    }
    Response::new(200)
        .header("Accept-Ranges", "bytes")
        .header("Content-Length", len.to_string())
        .body("application/octet-stream", content.bytes.clone())
}

fn api(request: &Request, state: &State, id: &str, revision: Option<&str>) -> Response {
    if request.method != "GET" {
        return Response::new(405);
    }
    let repo = match find_repo(request, state, id) {
        Ok(repo) => repo,
        Err(response) => return response,
    };
    if let Some(revision) = revision
        && !revision_ok(repo, revision)
    {
        return Response::hub_error(404, "RevisionNotFound", &format!("Invalid rev id: {revision}"));
    }
    let siblings: Vec<String> = repo.files.keys().map(|f| format!("{{\"rfilename\":\"{f}\"}}")).collect();
    let body = format!("{{\"id\":\"{}\",\"sha\":\"{}\",\"siblings\":[{}]}}", repo.id, repo.commit, siblings.join(","));
    Response::new(200).body("application/json", body.into_bytes())
}

/// A fresh folder under the system temp dir, unique to the test and the process; removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(test: &str) -> Self {
        let path = std::env::temp_dir().join(format!("sslpron-hub-test-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
